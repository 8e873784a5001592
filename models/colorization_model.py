"""pix2pix for colourisation: predicts the ab channels of Lab colour from the L channel."""
import numpy as np
import torch
from skimage import color

from .pix2pix_model import Pix2PixModel


class ColorizationModel(Pix2PixModel):
    """pix2pix on --dataset_mode colorization (1-channel L in, 2-channel ab out); visuals are shown in RGB."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        Pix2PixModel.modify_commandline_options(parser, is_train)
        parser.set_defaults(dataset_mode='colorization', input_nc=1, output_nc=2)
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.visual_names = ['real_A', 'real_B_rgb', 'fake_B_rgb']

    def lab2rgb(self, L, AB):
        """L in [-1, 1] and ab / 110 -> RGB batch in [-1, 1] (for display)."""
        L = (L.detach().float().cpu() + 1.0) * 50.0
        AB = AB.detach().float().cpu() * 110.0
        lab = torch.cat([L, AB], dim=1).numpy().transpose(0, 2, 3, 1)
        rgb = np.stack([color.lab2rgb(im.astype(np.float64)) for im in lab])
        return torch.from_numpy(rgb.transpose(0, 3, 1, 2)).float() * 2.0 - 1.0

    def compute_visuals(self):
        self.real_B_rgb = self.lab2rgb(self.real_A, self.real_B)
        self.fake_B_rgb = self.lab2rgb(self.real_A, self.fake_B)
