"""Building blocks shared by the omnigan encoder and decoders.

Conv2dBlock / ResBlock follow the MUNIT layout (padding -> conv -> norm -> activation) with the published
omnigan's LayerNorm and SpectralNorm; module names follow the published ones so its state dicts load key for
key. SPADE / SPADEResnetBlock implement spatially-adaptive denormalisation (Park et al. 2019).
Written for this project; only the published architecture descriptions were used.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm


class LayerNorm(nn.Module):
    """The published omnigan's layer norm (MUNIT's): per sample over (C, H, W), divided by the unbiased std plus
    eps (not sqrt(var + eps) as nn.LayerNorm / GroupNorm), then a per-channel affine whose gamma starts uniform
    in [0, 1) and beta at 0."""

    def __init__(self, num_features, eps=1e-5, affine=True):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.gamma = nn.Parameter(torch.empty(num_features).uniform_())
            self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        flat = x.reshape(x.shape[0], -1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        x = (x - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + self.eps)
        if self.affine:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            x = x * self.gamma.view(shape) + self.beta.view(shape)
        return x


def _l2normalize(v, eps=1e-12):
    # published: v / (||v|| + eps), not F.normalize's v / max(||v||, eps)
    return v / (v.norm() + eps)


class SpectralNorm(nn.Module):
    """Spectral normalisation of a wrapped convolution, laid out as the published omnigan's encoder blocks have it.

    The raw weight is ``module.weight_bar``; the power-iteration vectors ``module.weight_u`` / ``weight_v`` are
    parameters without gradient (so they count as parameters, as published, and published state dicts load key
    for key). One power iteration per training-mode forward updates u and v (torch's spectral_norm keeps them in
    buffers instead); eval-mode forwards reuse them, so exported graphs carry no in-place update.
    """

    def __init__(self, module):
        super().__init__()
        self.module = module
        weight = module.weight
        del module._parameters["weight"]
        height = weight.shape[0]
        width = weight[0].numel()
        for name, size in (("weight_u", height), ("weight_v", width)):
            vector = _l2normalize(weight.detach().new_empty(size).normal_())
            module.register_parameter(name, nn.Parameter(vector, requires_grad=False))
        module.register_parameter("weight_bar", nn.Parameter(weight.detach()))

    def forward(self, x):
        m = self.module
        w = m.weight_bar.view(m.weight_bar.shape[0], -1)
        if self.training:
            with torch.no_grad():
                wf = w.float()
                # through .data, as published: no version bump, so a graph that ran the encoder twice (the cycle)
                # back-propagates with the latest u, v instead of failing
                m.weight_v.data.copy_(_l2normalize(wf.t().mv(m.weight_u.float())))
                m.weight_u.data.copy_(_l2normalize(wf.mv(m.weight_v.float())))
        sigma = m.weight_u.to(w.dtype).dot(w.mv(m.weight_v.to(w.dtype)))
        return m._conv_forward(x, m.weight_bar / sigma, m.bias)


def make_norm(norm, dim):
    """Return a normalisation layer for `norm` in {in, bn, ln, none} (ln: the published LayerNorm)."""
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
    """pad -> conv (always with a bias, as published) -> norm -> activation.

    norm "spectral" wraps the convolution in SpectralNorm and adds no normalisation layer (the published
    encoder's conv blocks).
    """

    def __init__(self, in_dim, out_dim, kernel_size, stride=1, padding=0,
                 norm="none", activation="relu", pad_type="reflect"):
        super().__init__()
        self.pad = make_pad(pad_type, padding)
        conv = nn.Conv2d(in_dim, out_dim, kernel_size, stride)
        self.conv = SpectralNorm(conv) if norm == "spectral" else conv
        self.norm = make_norm("none" if norm == "spectral" else norm, out_dim)
        self.activation = make_activation(activation)

    def forward(self, x):
        return self.activation(self.norm(self.conv(self.pad(x))))


class ResBlock(nn.Module):
    """Two 3x3 Conv2dBlocks with an identity skip connection."""

    def __init__(self, dim, norm="in", activation="relu", pad_type="reflect"):
        super().__init__()
        self.model = nn.Sequential(
            Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation=activation, pad_type=pad_type),
            Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation="none", pad_type=pad_type),
        )

    def forward(self, x):
        return x + self.model(x)


class ResBlocks(nn.Module):
    """`n_res` ResBlocks in sequence (none: the identity); held in `.model` as published, so state dict keys
    match the published checkpoints."""

    def __init__(self, n_res, dim, norm="in", activation="relu", pad_type="reflect"):
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(dim, norm, activation, pad_type) for _ in range(n_res)])

    def forward(self, x):
        return self.model(x)


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
        # attribute names as published (mlp_*), so published state dicts load key for key
        self.mlp_shared = nn.Sequential(nn.Conv2d(cond_nc, nhidden, kernel_size, padding=pad), nn.ReLU(inplace=True))
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, kernel_size, padding=pad)

    def forward(self, x, cond):
        normalized = self.param_free_norm(x)
        # nearest keeps one-hot / mask-like conditions crisp when shrinking them
        cond = F.interpolate(cond, size=x.shape[-2:], mode="nearest")
        h = self.mlp_shared(cond)
        return normalized * (1 + self.mlp_gamma(h)) + self.mlp_beta(h)


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
