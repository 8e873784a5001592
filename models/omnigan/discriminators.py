"""Discriminators of omnigan: D["a"]["r"|"s"] judge real/simulated style, D["t"]["f"|"n"] judge
flooded/non-flooded images. Each is a multiscale PatchGAN: `num_D` networks.NLayerDiscriminator applied
to the image at full, half, quarter... resolution, so both local texture and larger layout are judged.
"""
import functools

import torch.nn as nn
import torch.nn.functional as F

from models import networks


class MultiscaleDiscriminator(nn.Module):
    """`num_D` PatchGANs on successively 2x average-pooled inputs; returns a list of patch maps.

    networks.GANLoss averages over such lists, so it can be used directly on the output.
    """

    def __init__(self, input_nc=3, ndf=64, n_layers=3, num_D=2, norm="instance"):
        super().__init__()
        if num_D < 1:
            raise ValueError(f"--omni_num_D must be >= 1, got {num_D}")
        norm_layer = networks.get_norm_layer(norm)
        self.scales = nn.ModuleList(
            networks.NLayerDiscriminator(input_nc, ndf, n_layers, norm_layer) for _ in range(num_D))

    def forward(self, x):
        outputs = []
        for i, net in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(net(x))
        return outputs


class OmniDiscriminator(nn.ModuleDict):
    """{"a": {"r": D, "s": D}, "t": {"f": D, "n": D}} restricted to the enabled tasks a / t."""

    def __init__(self, tasks, input_nc=3, ndf=64, n_layers=3, num_D=2, norm="instance"):
        make = functools.partial(MultiscaleDiscriminator, input_nc, ndf, n_layers, num_D, norm)
        heads = {}
        if "a" in tasks:
            heads["a"] = nn.ModuleDict({"r": make(), "s": make()})
        if "t" in tasks:
            heads["t"] = nn.ModuleDict({"f": make(), "n": make()})
        super().__init__(heads)
