"""Paired images stored side by side: each file is A|B, as in the pix2pix datasets (facades, maps, ...)."""
import os

from data.base_dataset import BaseDataset, get_params, get_transform, load_image
from data.image_folder import make_dataset

LAYOUT = '  DATAROOT/train/1.jpg  (A and B side by side in one image)\n  DATAROOT/val/...  DATAROOT/test/...'


class AlignedDataset(BaseDataset):
    """Returns {'A', 'B', 'A_paths', 'B_paths'} with identical crop and flip for both halves."""

    def __init__(self, opt):
        super().__init__(opt)
        self.dir_AB = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = make_dataset(self.dir_AB, opt.max_dataset_size, LAYOUT)
        assert opt.load_size >= opt.crop_size, '--crop_size should not be larger than --load_size'
        self.input_nc = opt.output_nc if opt.direction == 'BtoA' else opt.input_nc
        self.output_nc = opt.input_nc if opt.direction == 'BtoA' else opt.output_nc

    def __getitem__(self, index):
        AB_path = self.AB_paths[index]
        AB = load_image(AB_path)
        w, h = AB.size
        w2 = w // 2
        A = AB.crop((0, 0, w2, h))
        B = AB.crop((w2, 0, w, h))
        params = get_params(self.opt, A.size, self.item_rng(index))
        A = get_transform(self.opt, params, grayscale=(self.input_nc == 1))(A)
        B = get_transform(self.opt, params, grayscale=(self.output_nc == 1))(B)
        return {'A': A, 'B': B, 'A_paths': AB_path, 'B_paths': AB_path}

    def __len__(self):
        return len(self.AB_paths)
