"""Discriminators of omnigan: D["a"]["r"|"s"] judge real/simulated style, D["t"]["f"|"n"] judge
flooded/non-flooded images.

Default (``--omni_netD patch``, as the published omnigan): one single-scale PatchGAN per target, every
convolution spectrally normalised, 4x4 kernels, instance norm (no affine) after the inner convolutions,
LeakyReLU(0.2), ``n_layers`` strided convolutions then two stride-1 ones ending in a 1-channel map.
``--omni_netD multiscale`` keeps the shared pix2pixHD multiscale PatchGAN of models/networks/ (``--num_D``
scales), this project's earlier choice.
"""
import torch.nn as nn
from torch.nn.utils import spectral_norm

from models import networks

NETD_CHOICES = ("patch", "multiscale")


class SpectralPatchDiscriminator(nn.Module):
    """image (input_nc x H x W) -> patch realness map (1 x H' x W'); see the module docstring."""

    def __init__(self, input_nc=3, ndf=64, n_layers=3, norm="instance"):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"--n_layers_D must be at least 1 (got {n_layers})")
        use_norm = norm != "none"
        if norm not in ("instance", "none"):
            raise ValueError(f"omnigan's patch discriminator uses instance norm or none, got --norm {norm}")

        def block(c_in, c_out, stride, normalise):
            # published convolutions keep their bias before the (affine-free) instance norm
            layers = [spectral_norm(nn.Conv2d(c_in, c_out, 4, stride, 1))]
            if normalise and use_norm:
                layers.append(nn.InstanceNorm2d(c_out, affine=False))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        layers = block(input_nc, ndf, 2, normalise=False)
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += block(ndf * prev, ndf * mult, 2, normalise=True)
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += block(ndf * prev, ndf * mult, 1, normalise=True)
        layers.append(spectral_norm(nn.Conv2d(ndf * mult, 1, 4, 1, 1)))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class OmniDiscriminator(nn.ModuleDict):
    """{"a": {"r": D, "s": D}, "t": {"f": D, "n": D}} restricted to the enabled tasks a / t.

    A patch D returns one prediction map; a multiscale D returns [[features..., prediction] per scale]
    (networks.final_predictions reads both).
    """

    def __init__(self, tasks, input_nc=3, ndf=64, n_layers=3, num_D=2, norm="instance", kind="patch"):
        if kind not in NETD_CHOICES:
            raise ValueError(f"unknown --omni_netD '{kind}': use one of {', '.join(NETD_CHOICES)}")

        def make():
            if kind == "patch":
                return SpectralPatchDiscriminator(input_nc, ndf, n_layers, norm)
            return networks.MultiscaleDiscriminator(input_nc, ndf, n_layers=n_layers,
                                                    norm_layer=networks.get_norm_layer(norm), num_D=num_D)

        heads = {}
        if "a" in tasks:
            heads["a"] = nn.ModuleDict({"r": make(), "s": make()})
        if "t" in tasks:
            heads["t"] = nn.ModuleDict({"f": make(), "n": make()})
        super().__init__(heads)
