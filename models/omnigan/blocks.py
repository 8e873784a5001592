"""Building blocks shared by the omnigan encoder and decoders.

Conv2dBlock / ResBlock follow the MUNIT layout (padding -> conv -> norm -> activation),
SPADE / SPADEResnetBlock implement spatially-adaptive denormalisation (Park et al. 2019).
Written for this project; only the published architecture descriptions were used.
"""
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm


class LayerNorm(nn.Module):
    """Per-sample normalisation over (C, H, W) with a per-channel affine, as used in MUNIT decoders.

    nn.GroupNorm(1, C) computes exactly these statistics, so we reuse it rather than hand-rolling.
    """

    def __init__(self, num_features, eps=1e-5, affine=True):
        super().__init__()
        self.norm = nn.GroupNorm(1, num_features, eps=eps, affine=affine)

    def forward(self, x):
        return self.norm(x)


def make_norm(norm, dim):
    """Return a normalisation layer for `norm` in {in, bn, ln, none}."""
    if norm == "in":
        return nn.InstanceNorm2d(dim, affine=False)
    if norm == "bn":
        return nn.BatchNorm2d(dim)
    if norm == "ln":
        return LayerNorm(dim)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm '{norm}': use one of in, bn, ln, none")


def make_activation(activation):
    """Return an activation module for `activation` in {relu, lrelu, tanh, none}."""
    if activation == "relu":
        return nn.ReLU(inplace=True)
    if activation == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if activation == "tanh":
        return nn.Tanh()
    if activation == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation '{activation}': use one of relu, lrelu, tanh, none")


def make_pad(pad_type, padding):
    """Explicit padding layer; reflection avoids border artefacts in image-to-image nets."""
    if pad_type == "reflect":
        return nn.ReflectionPad2d(padding)
    if pad_type == "replicate":
        return nn.ReplicationPad2d(padding)
    if pad_type == "zero":
        return nn.ZeroPad2d(padding)
    raise ValueError(f"unknown pad_type '{pad_type}': use one of reflect, replicate, zero")


class Conv2dBlock(nn.Module):
    """pad -> conv -> norm -> activation."""

    def __init__(self, in_dim, out_dim, kernel_size, stride=1, padding=0,
                 norm="none", activation="relu", pad_type="reflect"):
        super().__init__()
        self.pad = make_pad(pad_type, padding)
        # a bias is redundant right before a normalisation that re-centres the activations
        bias = norm in ("none", "ln")
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size, stride, bias=bias)
        self.norm = make_norm(norm, out_dim)
        self.activation = make_activation(activation)

    def forward(self, x):
        return self.activation(self.norm(self.conv(self.pad(x))))


class ResBlock(nn.Module):
    """Two 3x3 Conv2dBlocks with an identity skip connection."""

    def __init__(self, dim, norm="in", activation="relu", pad_type="reflect"):
        super().__init__()
        self.body = nn.Sequential(
            Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation=activation, pad_type=pad_type),
            Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation="none", pad_type=pad_type),
        )

    def forward(self, x):
        return x + self.body(x)


class ResBlocks(nn.Sequential):
    """`n_res` ResBlocks in sequence (an empty sequence is the identity)."""

    def __init__(self, n_res, dim, norm="in", activation="relu", pad_type="reflect"):
        super().__init__(*[ResBlock(dim, norm, activation, pad_type) for _ in range(n_res)])


class SPADE(nn.Module):
    """Spatially-adaptive denormalisation.

    The activations are normalised without affine parameters; a small conv net on the
    (resized) conditioning map predicts a per-pixel scale gamma and shift beta.
    """

    def __init__(self, norm_nc, cond_nc, nhidden=128, param_free_norm="instance", kernel_size=3):
        super().__init__()
        if param_free_norm == "instance":
            self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        elif param_free_norm == "batch":
            self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"unknown SPADE norm '{param_free_norm}': use instance or batch")
        pad = kernel_size // 2
        self.shared = nn.Sequential(nn.Conv2d(cond_nc, nhidden, kernel_size, padding=pad), nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(nhidden, norm_nc, kernel_size, padding=pad)
        self.beta = nn.Conv2d(nhidden, norm_nc, kernel_size, padding=pad)

    def forward(self, x, cond):
        normalized = self.param_free_norm(x)
        # nearest keeps one-hot / mask-like conditions crisp when shrinking them
        cond = F.interpolate(cond, size=x.shape[-2:], mode="nearest")
        h = self.shared(cond)
        return normalized * (1 + self.gamma(h)) + self.beta(h)


class SPADEResnetBlock(nn.Module):
    """Residual block whose two convolutions are each preceded by SPADE + LeakyReLU.

    A learned 1x1 shortcut (itself SPADE-normalised) is used when the channel count changes.
    """

    def __init__(self, fin, fout, cond_nc, nhidden=128, param_free_norm="instance", use_spectral_norm=False,
                 kernel_size=3):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        sn = spectral_norm if use_spectral_norm else (lambda m: m)
        self.conv_0 = sn(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = sn(nn.Conv2d(fmiddle, fout, 3, padding=1))
        # kernel_size: of the convolutions inside the SPADE layers (published spade_kernel_size, 3)
        self.norm_0 = SPADE(fin, cond_nc, nhidden, param_free_norm, kernel_size)
        self.norm_1 = SPADE(fmiddle, cond_nc, nhidden, param_free_norm, kernel_size)
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, cond_nc, nhidden, param_free_norm, kernel_size)

    @staticmethod
    def _act(x):
        return F.leaky_relu(x, 0.2)

    def forward(self, x, cond):
        skip = self.conv_s(self.norm_s(x, cond)) if self.learned_shortcut else x
        dx = self.conv_0(self._act(self.norm_0(x, cond)))
        dx = self.conv_1(self._act(self.norm_1(dx, cond)))
        return skip + dx
