"""Domain classifier C: predicts which of the four domains (rf, rn, sf, sn) an encoder feature map comes
from. The generator gets a loss for fooling it, which pushes the encoder towards domain-invariant codes."""
import torch.nn as nn

from .blocks import Conv2dBlock

DOMAINS = ("rf", "rn", "sf", "sn")
CLASSIFIER_CHOICES = ("published", "conv")


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs without bias, batch norm, ReLU) with a 1x1 conv + batch norm shortcut
    when the width changes."""

    def __init__(self, inplanes, planes):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class DomainClassifier(nn.Module):
    """content code (in_nc x h x w) -> logits over `n_domains`.

    kind "published" (cc-ai/omnigan@432cfa1 omnigan/classifier.py): MaxPool, BasicBlock to in_nc/2, MaxPool,
    BasicBlock to in_nc/4, average pooling over the whole map, Linear; 595,332 parameters on the published
    256-channel code. Module indices follow the published `model` Sequential, so its state dicts load.
    kind "conv" (this project's earlier C, `--omni_classifier conv`): two strided 4x4 conv + LeakyReLU blocks of
    width `dim` and dim/2 without normalisation, global pooling, Linear.
    """

    def __init__(self, in_nc, dim=128, n_domains=len(DOMAINS), kind="published"):
        super().__init__()
        if kind == "published":
            if in_nc < 4:
                raise ValueError(f"the published domain classifier needs at least 4 encoder channels, got {in_nc}")
            self.model = nn.Sequential(
                nn.MaxPool2d(2), BasicBlock(in_nc, in_nc // 2), nn.MaxPool2d(2), BasicBlock(in_nc // 2, in_nc // 4),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_nc // 4, n_domains))
        elif kind == "conv":
            self.model = nn.Sequential(
                Conv2dBlock(in_nc, dim, 4, 2, 1, norm="none", activation="lrelu", pad_type="reflect"),
                Conv2dBlock(dim, dim // 2, 4, 2, 1, norm="none", activation="lrelu", pad_type="reflect"),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(dim // 2, n_domains))
        else:
            raise ValueError(f"unknown domain classifier '{kind}': use one of {', '.join(CLASSIFIER_CHOICES)}")

    def forward(self, z):
        if z.shape[-1] < 4 or z.shape[-2] < 4:
            raise ValueError(f"domain classifier needs feature maps of at least 4x4, got {tuple(z.shape[-2:])}; "
                             f"use larger images or fewer encoder downsamplings")
        return self.model(z)
