"""Decoders of the omnigan generator.

* TaskDecoder: MUNIT-style decoder (ResBlocks, then `n_upsample` x [nearest upsample -> 5x5 conv block],
  then a 7x7 projection) used for depth `d`, segmentation `s`, height `h`, water `w` and adaptation `a`.
* SpadeTranslationDecoder: the translation decoder `t`, SPADE residual blocks conditioned on the task
  predictions with x2 upsamplings between them, and a tanh(conv(LeakyReLU(y))) image layer;
  TranslationDecoders holds one shared (bit-conditioned, published) or two of them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import Conv2dBlock, ResBlocks, SPADEResnetBlock


class TaskDecoder(nn.Module):
    """content code (in_dim x h x w) -> map (out_nc x h*2^n_upsample x w*2^n_upsample).

    `output_activation` is applied at the end ('tanh' for images, 'none' for regression maps and logits).
    """

    def __init__(self, in_dim, out_nc, n_upsample=2, n_res=1, res_norm="in", up_norm="ln",
                 activation="lrelu", pad_type="reflect", output_activation="none"):
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
    """Translation decoder conditioned with SPADE on the task predictions, laid out as published.

    head_0, G_middle_0 and G_middle_1 keep the content code's channel count `z_nc` (with an x2 upsampling after
    the first two), then each of the `n_up` - 2 up_spades upsamples x2 and halves the channels; the image layer
    is tanh(conv3x3(LeakyReLU(y))). With `bit_conditioning` (published) one decoder serves both targets: a
    2-channel map, [1, 0] for f (flooded) and [0, 1] for n, is put in front of the condition.
    """

    def __init__(self, z_nc, cond_nc, n_up=2, output_nc=3, nhidden=128, param_free_norm="instance",
                 use_spectral_norm=True, kernel_size=3, bit_conditioning=False):
        super().__init__()
        if cond_nc < 1:
            raise ValueError("the translation decoder needs a condition: enable at least one of the d, h, s, w tasks")
        if n_up < 2:
            raise ValueError(f"the SPADE translation decoder upsamples at least twice, got {n_up} (use 2 or more "
                             f"encoder downsamplings)")
        self.bit_conditioning = bit_conditioning
        if bit_conditioning:
            # integer buffers, as published (their state dict keys f_bit / n_bit)
            self.register_buffer("f_bit", torch.tensor([1, 0]))
            self.register_buffer("n_bit", torch.tensor([0, 1]))
        self.cond_nc = cond_nc
        full_nc = cond_nc + (2 if bit_conditioning else 0)

        def block(fin, fout):
            return SPADEResnetBlock(fin, fout, full_nc, nhidden, param_free_norm, use_spectral_norm, kernel_size)

        self.head_0, self.G_middle_0, self.G_middle_1 = block(z_nc, z_nc), block(z_nc, z_nc), block(z_nc, z_nc)
        self.up_spades = nn.Sequential(*[block(z_nc // 2 ** i, z_nc // 2 ** (i + 1)) for i in range(n_up - 2)])
        self.conv_img = nn.Conv2d(z_nc // 2 ** (n_up - 2), output_nc, 3, padding=1)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, z, cond, target=None):
        if cond.shape[1] != self.cond_nc:
            raise ValueError(f"translation condition has {cond.shape[1]} channels, expected {self.cond_nc}")
        if self.bit_conditioning:
            if target not in ("f", "n"):
                raise ValueError(f"unknown translation target {target!r}: use f (flooded) or n (not flooded)")
            bit = (self.f_bit if target == "f" else self.n_bit).to(cond.dtype)
            cond = torch.cat([bit.view(1, 2, 1, 1).expand(cond.shape[0], 2, *cond.shape[2:]), cond], dim=1)
        y = self.upsample(self.head_0(z, cond))
        y = self.upsample(self.G_middle_0(y, cond))
        y = self.G_middle_1(y, cond)
        for block in self.up_spades:
            y = block(self.upsample(y), cond)
        return self.conv_img(F.leaky_relu(y, 0.2)).tanh()


class TranslationDecoders(nn.Module):
    """The translation head t: one bit-conditioned SpadeTranslationDecoder shared by both targets (published,
    held as `_model` like the published SpadeTranslationDict) or one decoder per target (`f`, `n`)."""

    def __init__(self, shared=True, **kwargs):
        super().__init__()
        self.shared = shared
        if shared:
            self._model = SpadeTranslationDecoder(bit_conditioning=True, **kwargs)
        else:
            self.f = SpadeTranslationDecoder(**kwargs)
            self.n = SpadeTranslationDecoder(**kwargs)

    def forward(self, z, cond, target):
        if self.shared:
            return self._model(z, cond, target)
        if target not in ("f", "n"):
            raise ValueError(f"unknown translation target {target!r}: use f (flooded) or n (not flooded)")
        return getattr(self, target)(z, cond)
