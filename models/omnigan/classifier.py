"""Domain classifier C: predicts which of the four domains (rf, rn, sf, sn) an encoder feature map comes
from. The generator gets a loss for fooling it, which pushes the encoder towards domain-invariant codes."""
import torch.nn as nn

from .blocks import Conv2dBlock

DOMAINS = ("rf", "rn", "sf", "sn")


class DomainClassifier(nn.Module):
    """content code (in_nc x h x w) -> logits over `n_domains`.

    Two strided conv blocks shrink the map, global average pooling makes it size-agnostic, and a linear
    layer produces the logits. No normalisation by default: instance norm before the pooling would erase
    exactly the per-image statistics that tell domains apart, and C sees one single-domain batch at a time,
    so batch norm would do the same across the batch.
    """

    def __init__(self, in_nc, dim=128, n_domains=len(DOMAINS), norm="none"):
        super().__init__()
        self.features = nn.Sequential(
            Conv2dBlock(in_nc, dim, 4, 2, 1, norm=norm, activation="lrelu", pad_type="reflect"),
            Conv2dBlock(dim, dim // 2, 4, 2, 1, norm=norm, activation="lrelu", pad_type="reflect"),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(dim // 2, n_domains)

    def forward(self, z):
        if z.shape[-1] < 4 or z.shape[-2] < 4:
            raise ValueError(f"domain classifier needs feature maps of at least 4x4, got {tuple(z.shape[-2:])}; "
                             f"use larger images or fewer encoder downsamplings")
        return self.fc(self.features(z))
