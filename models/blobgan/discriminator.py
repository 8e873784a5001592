"""StyleGAN2-style residual discriminator, also reused as the inversion encoder backbone.

Works on rectangular images: the trunk halves the resolution until the height is 4, so the final
feature map is 4 x (4 * aspect_ratio) and the linear head is sized accordingly.
"""
import math

import torch.nn as nn

from .ops import EqualConv2d, EqualLinear, ResBlockDown, minibatch_stddev
from .generator import output_shape


class BlobDiscriminator(nn.Module):
    """Residual StyleGAN2 discriminator producing one logit per image (or ``out_dim`` values)."""

    def __init__(self, size=256, aspect_ratio=1.0, channel_max=512, channel_base=16384, in_channels=3,
                 out_dim=1, mbstd_group=4):
        super().__init__()
        n_down = math.log2(size / 4)
        if size < 4 or n_down != int(n_down):
            raise ValueError(f'discriminator size must be 4 times a power of two, got {size}')
        h, w = output_shape(size, aspect_ratio)
        if w % (h // 4):
            raise ValueError(f'image width {w} must be divisible by {h // 4} so the discriminator can halve it '
                             f'down to height 4; pick another --aspect_ratio')

        def ch(res):
            return max(1, min(channel_max, channel_base // res))

        self.from_rgb = EqualConv2d(in_channels, ch(size), 1, activation=True)
        blocks, res = [], size
        while res > 4:
            blocks.append(ResBlockDown(ch(res), ch(res // 2)))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        self.mbstd_group = mbstd_group
        c4 = ch(4)
        extra = 1 if mbstd_group > 0 else 0
        self.final_conv = EqualConv2d(c4 + extra, c4, 3, activation=True)
        self.final_shape = (4, w * 4 // h)
        self.head = nn.Sequential(EqualLinear(c4 * 4 * self.final_shape[1], c4, activation=True),
                                  EqualLinear(c4, out_dim))
        self.size, self.aspect_ratio = size, aspect_ratio

    def features(self, x):
        out = self.blocks(self.from_rgb(x))
        if self.mbstd_group > 0:
            out = minibatch_stddev(out, self.mbstd_group)
        return self.final_conv(out).flatten(1)

    def forward(self, x):
        if tuple(x.shape[-2:]) != output_shape(self.size, self.aspect_ratio):
            raise ValueError(f'discriminator expects images of shape {output_shape(self.size, self.aspect_ratio)}'
                             f', got {tuple(x.shape[-2:])}; check --crop_size/--size and --aspect_ratio')
        return self.head(self.features(x))


class BlobEncoder(BlobDiscriminator):
    """Image -> layout-MLP latent encoder (StyleGAN2 discriminator trunk without minibatch stddev,
    which would make an image's code depend on the rest of its batch)."""

    def __init__(self, latent_dim, size=256, aspect_ratio=1.0, channel_max=512, channel_base=16384):
        super().__init__(size, aspect_ratio, channel_max, channel_base, out_dim=latent_dim, mbstd_group=0)
        self.latent_dim = latent_dim
