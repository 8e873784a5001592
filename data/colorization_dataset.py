"""Colour images converted to Lab: the L channel is the input, the ab channels are the target."""
import os

import numpy as np
import torch
from skimage import color

from data.base_dataset import BaseDataset, get_params, get_transform, load_image
from data.image_folder import make_dataset

LAYOUT = '  DATAROOT/train/*.jpg  DATAROOT/test/*.jpg  (ordinary colour images)'


class ColorizationDataset(BaseDataset):
    """Returns {'A': L in [-1, 1] (1 channel), 'B': ab / 110 (2 channels), 'A_paths', 'B_paths'}."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.set_defaults(input_nc=1, output_nc=2, direction='AtoB')
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.dir = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = make_dataset(self.dir, opt.max_dataset_size, LAYOUT)
        if opt.input_nc != 1 or opt.output_nc != 2 or opt.direction != 'AtoB':
            raise ValueError('the colorization dataset needs --input_nc 1 --output_nc 2 --direction AtoB')

    def __getitem__(self, index):
        path = self.AB_paths[index]
        im = load_image(path)
        params = get_params(self.opt, im.size, self.item_rng(index))
        im = get_transform(self.opt, params, convert=False)(im)
        lab = color.rgb2lab(np.asarray(im)).astype(np.float32)
        lab_t = torch.from_numpy(lab.transpose(2, 0, 1).copy())
        A = lab_t[[0], ...] / 50.0 - 1.0
        B = lab_t[[1, 2], ...] / 110.0
        return {'A': A, 'B': B, 'A_paths': path, 'B_paths': path}

    def __len__(self):
        return len(self.AB_paths)
