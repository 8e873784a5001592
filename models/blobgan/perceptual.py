"""Perceptual (VGG16 feature) loss for inversion, loaded from a local torchvision VGG16 weights file.

Weights cannot be downloaded here, so the path is explicit: any state dict holding torchvision's
``vgg16`` ``features.*`` tensors up to relu3_3 works (the full ``vgg16-397923af.pth`` file included).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

# indices in torchvision's vgg16().features after which activations are compared (relu1_2, relu2_2, relu3_3)
_TAPS = (3, 8, 15)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def vgg16_trunk():
    """torchvision vgg16 ``features`` truncated after relu3_3 (random init)."""
    from torchvision.models import vgg16
    return vgg16(weights=None).features[:_TAPS[-1] + 1]


def make_random_vgg_weights(path, seed=0):
    """Writes randomly initialised VGG16 trunk weights (torchvision key names) -- for tests only."""
    torch.manual_seed(seed)
    state = {f'features.{k}': v for k, v in vgg16_trunk().state_dict().items()}
    torch.save(state, path)
    return path


class VGGPerceptualLoss(nn.Module):
    """Mean L2 distance between normalised VGG16 activations of two image batches in [-1, 1]."""

    def __init__(self, weights_path):
        super().__init__()
        if not weights_path or not os.path.isfile(weights_path):
            raise FileNotFoundError(f'VGG16 weights {weights_path!r} not found: download torchvision\'s '
                                    f'vgg16 weights (vgg16-397923af.pth) and pass the path with --vgg_weights')
        state = torch.load(weights_path, map_location='cpu', weights_only=True)
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
        trunk = vgg16_trunk()
        wanted = {k: state.get(f'features.{k}') for k in trunk.state_dict()}
        missing = [k for k, v in wanted.items() if v is None]
        if missing:
            raise ValueError(f'{weights_path!r} lacks VGG16 feature weights {missing[:3]}...; '
                             f'give a torchvision vgg16 state dict')
        trunk.load_state_dict(wanted)
        self.trunk = trunk.eval()
        for p in self.trunk.parameters():
            p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(_STD).view(1, 3, 1, 1))

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
