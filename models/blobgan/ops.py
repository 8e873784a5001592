"""Building blocks shared by the BlobGAN generator, discriminator and encoder.

Everything is plain PyTorch (no fused CUDA kernels) so the model runs the same on CPU and GPU:
equalised-learning-rate layers, a leaky ReLU with the StyleGAN gain, spatially modulated
convolutions and noise injection.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LRELU_GAIN = math.sqrt(2.0)


class ScaledLeakyReLU(nn.Module):
    """Leaky ReLU (slope 0.2) multiplied by sqrt(2) so activations keep unit variance."""

    def __init__(self, slope=0.2):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return F.leaky_relu(x, self.slope) * LRELU_GAIN


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: weights stored N(0,1)/lr_mul and rescaled at run time.

    lr_mul < 1 slows a layer down (used for the layout MLP, like StyleGAN's mapping network).
    """

    def __init__(self, in_dim, out_dim, bias=True, bias_init=0.0, lr_mul=1.0, activation=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init) / lr_mul)) if bias else None
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.act = ScaledLeakyReLU() if activation else None

    def forward(self, x):
        bias = self.bias * self.lr_mul if self.bias is not None else None
        out = F.linear(x, self.weight * self.scale, bias)
        return self.act(out) if self.act is not None else out


class EqualConv2d(nn.Module):
    """Conv2d with equalised learning rate; optional 2x average-pool downsampling after the conv."""

    def __init__(self, in_ch, out_ch, kernel_size, bias=True, activation=False, downsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.downsample = downsample
        self.act = ScaledLeakyReLU() if activation else None

    def forward(self, x):
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        if self.downsample:
            out = F.avg_pool2d(out, 2)
        return self.act(out) if self.act is not None else out


class SpatialModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution whose style varies per pixel.

    StyleGAN2 scales the weights by one style vector per image; here the style is a map (B, C_in, H, W),
    so the input activations are scaled instead (x * s) and the demodulation factor is computed per
    output pixel as 1/sqrt(conv(s^2, w^2)) -- the local version of StyleGAN2's weight normalisation.
    """

    def __init__(self, in_ch, out_ch, kernel_size, style_dim, demodulate=True, upsample=False, eps=1e-8):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        # 1x1 "affine" from the style map to per-channel scales; bias 1 so modulation starts at identity
        self.affine = EqualConv2d(style_dim, in_ch, 1, bias=True)
        nn.init.ones_(self.affine.bias)
        self.demodulate = demodulate
        self.upsample = upsample
        self.eps = eps

    def forward(self, x, style_map):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        if style_map.shape[-2:] != x.shape[-2:]:
            style_map = F.interpolate(style_map, size=x.shape[-2:], mode='bilinear', align_corners=False)
        s = self.affine(style_map)
        w = self.weight * self.scale
        out = F.conv2d(x * s, w, padding=self.padding)
        if self.demodulate:
            norm = F.conv2d(s.pow(2), w.pow(2), padding=self.padding)
            out = out * torch.rsqrt(norm + self.eps)
        return out


class NoiseInjection(nn.Module):
    """Adds per-pixel Gaussian noise scaled by a learned strength (starts at 0)."""

    def __init__(self):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise=None):
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.strength * noise


class StyledLayer(nn.Module):
    """Spatially modulated conv -> noise -> bias -> scaled leaky ReLU (one StyleGAN2 synthesis layer)."""

    def __init__(self, in_ch, out_ch, style_dim, upsample=False):
        super().__init__()
        self.conv = SpatialModulatedConv2d(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))
        self.act = ScaledLeakyReLU()

    def forward(self, x, style_map, noise=None):
        out = self.conv(x, style_map)
        out = self.noise(out, noise)
        return self.act(out + self.bias)


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB without demodulation; adds the upsampled skip image."""

    def __init__(self, in_ch, style_dim, out_ch=3):
        super().__init__()
        self.conv = SpatialModulatedConv2d(in_ch, out_ch, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, style_map, skip=None):
        out = self.conv(x, style_map) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, size=out.shape[-2:], mode='bilinear', align_corners=False)
        return out


class ResBlockDown(nn.Module):
    """Discriminator residual block: two 3x3 convs (second one downsamples) plus a 1x1 skip."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3, activation=True)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3, activation=True, downsample=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False, downsample=True)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2.0)


def minibatch_stddev(x, group_size=4):
    """Appends the mean per-group feature std as one extra channel (StyleGAN minibatch discrimination)."""
    b, c, h, w = x.shape
    g = min(group_size, b)
    while b % g:  # largest group size that divides the batch, so odd batch sizes work
        g -= 1
    y = x.reshape(g, -1, c, h, w)
    y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)
    y = y.mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)  # one value per group
    y = y.repeat(g, 1, h, w)  # sample i belongs to group i % (b/g), matching the reshape above
    return torch.cat([x, y], dim=1)
