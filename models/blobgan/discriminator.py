"""StyleGAN2 residual discriminator as the published BlobGAN uses it, also the inversion encoder's backbone.

Widths (channel multiplier cm = 2, ``c_model`` 64): 8*c_model*cm/2 up to 64 px, then 2*c_model*cm at 128,
c_model*cm at 256, c_model*cm/2 at 512 (512, 512, 256, 128 at 256 px). Downsampling is blur + stride-2 conv.
Rectangular images (BlobGANEX): the trunk halves until the height is 4; the head reads 4 x 4*aspect features.
Module names follow the published ``StyleGANDiscriminator`` (convs, final_conv, final_linear).
"""
import math

import torch.nn as nn

from .generator import output_shape
from .ops import ConvLayer, EqualLinear, ResBlock, minibatch_stddev


def discriminator_channels(c_model=64, channel_multiplier=2):
    cm = channel_multiplier
    return {4: 8 * c_model * cm // 2, 8: 8 * c_model * cm // 2, 16: 8 * c_model * cm // 2, 32: 8 * c_model * cm // 2,
            64: 4 * c_model * cm, 128: 2 * c_model * cm, 256: c_model * cm, 512: c_model * cm // 2,
            1024: c_model * cm // 4}


class BlobDiscriminator(nn.Module):
    """Residual StyleGAN2 discriminator producing one logit per image (or ``out_dim`` values)."""

    def __init__(self, size=256, aspect_ratio=1.0, c_model=64, channel_multiplier=2, in_channels=3, out_dim=1,
                 stddev=True):
        super().__init__()
        log_size = math.log2(size)
        if size < 4 or size > 1024 or log_size != int(log_size):
            raise ValueError(f'discriminator size must be a power of two between 4 and 1024, got {size}')
        h, w = output_shape(size, aspect_ratio)
        if w % (h // 4):
            raise ValueError(f'image width {w} must be divisible by {h // 4} so the discriminator can halve it '
                             f'down to height 4; pick another --aspect_ratio')
        ch = discriminator_channels(c_model, channel_multiplier)
        convs = [ConvLayer(in_channels, ch[size], 1)]
        in_ch = ch[size]
        for i in range(int(log_size), 2, -1):
            convs.append(ResBlock(in_ch, ch[2 ** (i - 1)]))
            in_ch = ch[2 ** (i - 1)]
        self.convs = nn.Sequential(*convs)
        self.stddev = stddev
        self.final_conv = ConvLayer(in_ch + (1 if stddev else 0), ch[4], 3)
        self.final_shape = (4, w * 4 // h)
        self.final_linear = nn.Sequential(EqualLinear(ch[4] * 4 * self.final_shape[1], ch[4], activation=True),
                                          EqualLinear(ch[4], out_dim))
        self.size, self.aspect_ratio = size, aspect_ratio

    def features(self, x):
        out = self.convs(x)
        if self.stddev:
            out = minibatch_stddev(out)
        return self.final_conv(out).flatten(1)

    def forward(self, x):
        if tuple(x.shape[-2:]) != output_shape(self.size, self.aspect_ratio):
            raise ValueError(f'discriminator expects images of shape {output_shape(self.size, self.aspect_ratio)}'
                             f', got {tuple(x.shape[-2:])}; check --crop_size/--size and --aspect_ratio')
        return self.final_linear(self.features(x))


class BlobEncoder(BlobDiscriminator):
    """Image -> layout-MLP latent encoder: the StyleGAN2 discriminator architecture (as in BlobGANEX) without
    minibatch stddev, which would make an image's code depend on the rest of its batch."""

    def __init__(self, latent_dim, size=256, aspect_ratio=1.0, c_model=64, channel_multiplier=2):
        super().__init__(size, aspect_ratio, c_model, channel_multiplier, out_dim=latent_dim, stddev=False)
        self.latent_dim = latent_dim
