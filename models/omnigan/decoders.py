"""Decoders of the omnigan generator.

* TaskDecoder: MUNIT-style decoder (ResBlocks, then `n_upsample` x [nearest upsample -> 5x5 conv block],
  then a 7x7 projection) used for depth `d`, segmentation `s`, height `h`, water `w` and adaptation `a`.
* SpadeTranslationDecoder: the translation decoder `t`, SPADE residual blocks conditioned on the task
  predictions, each followed by a x2 upsampling, and a tanh(conv(LeakyReLU(y))) image layer.
"""
import torch.nn as nn
import torch.nn.functional as F

from .blocks import Conv2dBlock, ResBlocks, SPADEResnetBlock


class TaskDecoder(nn.Module):
    """content code (in_dim x h x w) -> map (out_nc x h*2^n_upsample x w*2^n_upsample).

    `output_activation` is applied at the end ('tanh' for images, 'none' for regression maps and logits).
    """

    def __init__(self, in_dim, out_nc, n_upsample=2, n_res=1, res_norm="in", up_norm="ln",
                 activation="relu", pad_type="reflect", output_activation="none"):
        super().__init__()
        layers = [ResBlocks(n_res, in_dim, norm=res_norm, activation=activation, pad_type=pad_type)]
        dim = in_dim
        for _ in range(n_upsample):
            if dim < 2:
                raise ValueError(f"decoder width {in_dim} is too small for {n_upsample} upsamplings")
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       Conv2dBlock(dim, dim // 2, 5, 1, 2, norm=up_norm, activation=activation, pad_type=pad_type)]
            dim //= 2
        layers.append(Conv2dBlock(dim, out_nc, 7, 1, 3, norm="none", activation=output_activation,
                                  pad_type=pad_type))
        self.model = nn.Sequential(*layers)

    def forward(self, z):
        return self.model(z)


class SpadeTranslationDecoder(nn.Module):
    """Translation decoder conditioned with SPADE on the task predictions.

    For each of the `n_up` stages: SPADEResnetBlock then nn.Upsample(x2). The first two blocks keep the
    content code's channel count `z_nc`, every later block halves it. The image layer is
    tanh(conv3x3(LeakyReLU(y))).
    """

    def __init__(self, z_nc, cond_nc, n_up=2, output_nc=3, nhidden=128, param_free_norm="instance",
                 use_spectral_norm=True, kernel_size=3):
        super().__init__()
        if cond_nc < 1:
            raise ValueError("the translation decoder needs a condition: enable at least one of the d, h, s, w tasks")
        self.blocks = nn.ModuleList()
        fin = z_nc
        for i in range(n_up):
            fout = fin if i < 2 else max(fin // 2, 1)
            self.blocks.append(SPADEResnetBlock(fin, fout, cond_nc, nhidden, param_free_norm, use_spectral_norm,
                                                kernel_size))
            fin = fout
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv_img = nn.Conv2d(fin, output_nc, 3, padding=1)
        self.cond_nc = cond_nc

    def forward(self, z, cond):
        if cond.shape[1] != self.cond_nc:
            raise ValueError(f"translation condition has {cond.shape[1]} channels, expected {self.cond_nc}")
        y = z
        for block in self.blocks:
            y = self.up(block(y, cond))
        return self.conv_img(F.leaky_relu(y, 0.2)).tanh()
