"""Building blocks of the BlobGAN generator, discriminator and encoder, in plain PyTorch (CPU and GPU).

The layers follow the StyleGAN2 design used by the published BlobGAN code (dave-epstein/blobgan, itself built on
rosinality's StyleGAN2 port): equalised learning rate, leaky ReLU with a learned bias and the sqrt(2) gain,
transposed-convolution upsampling followed by a [1, 3, 3, 1] FIR blur, blur-then-stride downsampling, and
spatially varying modulation. Parameter and buffer *names* match the published modules so that the published
Lightning checkpoints load with a prefix change only (see ``models/blobgan/published.py``); the code is our own.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LRELU_GAIN = math.sqrt(2.0)
BLUR_KERNEL = (1, 3, 3, 1)


def pixel_norm(x, eps=1e-5):
    """x / RMS(x) over the last dimension (StyleGAN's PixelNorm, eps as published)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    def forward(self, x):
        return pixel_norm(x)


def bias_leaky_relu(x, bias=None, slope=0.2, gain=LRELU_GAIN):
    """leaky_relu(x + bias) * gain, bias broadcast over the channel dimension (dim 1)."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.dim() - 2)))
    return F.leaky_relu(x, slope) * gain


class FusedLeakyReLU(nn.Module):
    """Per-channel bias + scaled leaky ReLU (parameter ``bias`` of shape (channels,))."""

    def __init__(self, channels, bias=True):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None

    def forward(self, x):
        return bias_leaky_relu(x, self.bias)


def make_kernel(k):
    """Normalised 2-d FIR kernel from a 1-d one (outer product, sums to 1)."""
    k = torch.tensor(k, dtype=torch.float32)
    if k.dim() == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """Upsample by zero insertion, pad, filter with ``kernel`` (correlation with the flipped kernel), downsample."""
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, (max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)))
    if p0 < 0 or p1 < 0:
        x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).view(1, 1, *kernel.shape).repeat(c, 1, 1, 1)
    x = F.conv2d(x, weight, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


class Upsample(nn.Module):
    """2x FIR upsampling (used on the RGB skip path)."""

    def __init__(self, kernel=BLUR_KERNEL, factor=2):
        super().__init__()
        self.factor = factor
        self.register_buffer('kernel', make_kernel(kernel) * factor ** 2)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x):
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class Blur(nn.Module):
    def __init__(self, pad, kernel=BLUR_KERNEL, upsample_factor=1):
        super().__init__()
        self.register_buffer('kernel', make_kernel(kernel) * upsample_factor ** 2)
        self.pad = pad

    def forward(self, x):
        return upfirdn2d(x, self.kernel, pad=self.pad)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (weights N(0,1)/lr_mul rescaled at run time); optional
    bias + scaled leaky ReLU (``activation=True``)."""

    def __init__(self, in_dim, out_dim, bias=True, bias_init=0.0, lr_mul=1.0, activation=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x):
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.activation:
            return bias_leaky_relu(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias)


class EqualConv2d(nn.Module):
    def __init__(self, in_ch, out_ch, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.stride, self.padding = stride, padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


def splat_vectors(alphas, vectors):
    """Feature map (B, C, H, W) = sum_k alphas[:, k] * vectors[:, k] for alphas (B, K+1, H, W), vectors (B, K+1, C)."""
    return torch.einsum('bkhw,bkc->bchw', alphas, vectors)


class SpatialModulatedConv2d(nn.Module):
    """Convolution modulated per pixel by the blobs' style vectors.

    Each blob's style vector goes through the affine ``modulation`` (bias 1), the results are splatted with the
    blob weights at the input's resolution, and (when demodulating) the style map is RMS-normalised over channels
    at every pixel; the input is multiplied by it and convolved with weights demodulated per output channel
    (independent of the style). Upsampling layers use a stride-2 transposed convolution and a FIR blur.
    """

    def __init__(self, in_ch, out_ch, kernel_size, style_dim, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)
        self.demodulate, self.upsample = demodulate, upsample
        self.out_ch = out_ch
        if upsample:
            p = (len(BLUR_KERNEL) - 2) - (kernel_size - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)

    def style_map(self, styles, alphas):
        s = self.modulation(styles)  # (B, K+1, in_ch)
        s = splat_vectors(alphas, s)
        if self.demodulate:
            s = s * torch.rsqrt(s.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return s

    def forward(self, x, styles, alphas):
        x = x * self.style_map(styles, alphas)
        w = self.weight[0] * self.scale
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        if self.upsample:
            return self.blur(F.conv_transpose2d(x, w.transpose(0, 1), stride=2))
        return F.conv2d(x, w, padding=self.padding)


class NoiseInjection(nn.Module):
    """Adds per-pixel Gaussian noise scaled by a learned ``weight`` (starts at 0)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise=None):
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class SpatialStyledConv(nn.Module):
    """Spatially modulated conv -> noise -> bias + scaled leaky ReLU (one synthesis layer)."""

    def __init__(self, in_ch, out_ch, style_dim, upsample=False):
        super().__init__()
        self.conv = SpatialModulatedConv2d(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x, styles, alphas, noise=None):
        return self.activate(self.noise(self.conv(x, styles, alphas), noise))


class SpatialToRGB(nn.Module):
    """Modulated 1x1 conv to RGB (no demodulation) + bias; adds the FIR-upsampled skip image."""

    def __init__(self, in_ch, style_dim, upsample=True, out_ch=3):
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = SpatialModulatedConv2d(in_ch, out_ch, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, styles, alphas, skip=None):
        out = self.conv(x, styles, alphas) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class ConvLayer(nn.Sequential):
    """[blur] -> equalised conv (stride 2 when downsampling) -> [bias + scaled leaky ReLU]."""

    def __init__(self, in_ch, out_ch, kernel_size, downsample=False, bias=True, activate=True):
        layers = []
        if downsample:
            p = (len(BLUR_KERNEL) - 2) + (kernel_size - 1)
            layers.append(Blur(((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_ch, out_ch, kernel_size, stride, padding, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_ch, bias=bias))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Discriminator residual block: 3x3 conv, blurred stride-2 3x3 conv, plus a blurred stride-2 1x1 skip."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2.0)


def minibatch_stddev(x, group_size=4):
    """Appends the group feature std as one channel. Group rule as in BlobGANEX: min(batch, 4) when the batch
    divides by 4 or is smaller, else the whole batch."""
    b, c, h, w = x.shape
    g = min(b, group_size) if (b % group_size == 0 or b < group_size) else b
    y = x.view(g, -1, 1, c, h, w)
    y = torch.sqrt(y.var(0, unbiased=False) + 1e-8)
    y = y.mean(dim=(2, 3, 4), keepdim=True).squeeze(2)
    y = y.repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)
