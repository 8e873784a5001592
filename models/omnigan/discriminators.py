"""Discriminators of omnigan: D["a"]["r"|"s"] judge real/simulated style, D["t"]["f"|"n"] judge
flooded/non-flooded images. Each is the shared multiscale PatchGAN of models/networks/ (`--num_D` scales,
the k-th seeing the image average-pooled k times), so both local texture and larger layout are judged.
"""
import torch.nn as nn

from models import networks


class OmniDiscriminator(nn.ModuleDict):
    """{"a": {"r": D, "s": D}, "t": {"f": D, "n": D}} restricted to the enabled tasks a / t.

    Each D returns [[features..., prediction] per scale]; networks.GANLoss and networks.gradient_penalty
    use the predictions.
    """

    def __init__(self, tasks, input_nc=3, ndf=64, n_layers=3, num_D=2, norm="instance"):
        norm_layer = networks.get_norm_layer(norm)

        def make():
            return networks.MultiscaleDiscriminator(input_nc, ndf, n_layers=n_layers, norm_layer=norm_layer,
                                                    num_D=num_D)

        heads = {}
        if "a" in tasks:
            heads["a"] = nn.ModuleDict({"r": make(), "s": make()})
        if "t" in tasks:
            heads["t"] = nn.ModuleDict({"f": make(), "n": make()})
        super().__init__(heads)
