"""Perceptual (VGG16 feature) loss for inversion, with weights from models/vgg.py's shared loader.

``--vgg_weights`` is a local file (any state dict holding torchvision's ``vgg16`` ``features.*`` tensors up
to relu3_3, the full ``vgg16-397923af.pth`` included) or 'imagenet' to download torchvision's weights.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.vgg import IMAGENET_MEAN, IMAGENET_STD, load_vgg_features, vgg_features_skeleton

# indices in torchvision's vgg16().features after which activations are compared (relu1_2, relu2_2, relu3_3)
_TAPS = (3, 8, 15)


def make_random_vgg_weights(path, seed=0):
    """Writes randomly initialised VGG16 trunk weights (torchvision key names) -- for tests only."""
    torch.manual_seed(seed)
    state = {f'features.{k}': v for k, v in vgg_features_skeleton('vgg16', _TAPS[-1] + 1).state_dict().items()}
    torch.save(state, path)
    return path


class VGGPerceptualLoss(nn.Module):
    """Mean L2 distance between normalised VGG16 activations of two image batches in [-1, 1]."""

    def __init__(self, weights_path):
        super().__init__()
        if not weights_path:
            raise FileNotFoundError("the VGG16 perceptual loss needs weights: pass torchvision's vgg16 weights file "
                                    "(vgg16-397923af.pth) with --vgg_weights, or 'imagenet' to download them")
        trunk = load_vgg_features(weights_path, arch='vgg16', n_layers=_TAPS[-1] + 1)
        self.trunk = trunk.eval()
        for p in self.trunk.parameters():
            p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, x):
        x = ((x + 1) / 2 - self.mean) / self.std
        feats = []
        for i, layer in enumerate(self.trunk):
            x = layer(x)
            if i in _TAPS:
                feats.append(x)
        return feats

    def forward(self, a, b):
        return sum(F.mse_loss(fa, fb) for fa, fb in zip(self.features(a), self.features(b)))
