"""LPIPS (VGG) for the OCTET encoder training and inversion, through the ``lpips`` package, working offline.

The published code uses ``lpips.LPIPS(net='vgg')``, which downloads torchvision's VGG16 weights at construction
and reads the LPIPS linear-layer weights shipped inside the package. Here the VGG16 trunk comes from the shared
loader (``models/vgg.py``: a local torchvision ``vgg16`` file, or 'imagenet' to download it) and the linear layers
from the package's own ``weights/v0.1/vgg.pth`` or ``--lpips_lin_weights``. Images are in [-1, 1], as published.
"""
import os

import torch
import torch.nn as nn

from models.vgg import load_vgg_features, vgg_features_skeleton

_VGG16_LAYERS = 30  # lpips' five slices cover torchvision vgg16().features[0:30]


def make_random_lpips_weights(folder, seed=0):
    """Writes random VGG16 trunk weights and random LPIPS linear weights (tests only); returns (vgg, lin) paths."""
    torch.manual_seed(seed)
    os.makedirs(folder, exist_ok=True)
    vgg = os.path.join(folder, 'random_vgg16.pth')
    torch.save({f'features.{k}': v for k, v in vgg_features_skeleton('vgg16', _VGG16_LAYERS).state_dict().items()},
               vgg)
    lin = os.path.join(folder, 'random_lpips_vgg_lin.pth')
    torch.save({f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))}, lin)
    return vgg, lin


class LPIPSLoss(nn.Module):
    """Per-image LPIPS distance (B,) between two batches in [-1, 1]."""

    def __init__(self, vgg_weights, lin_weights=None):
        super().__init__()
        try:
            import lpips
        except ImportError:
            raise ImportError('the OCTET losses need the lpips package: pip install lpips') from None
        if not vgg_weights:
            raise FileNotFoundError("LPIPS needs VGG16 weights: pass torchvision's vgg16 file (vgg16-397923af.pth) "
                                    "with --vgg_weights, or 'imagenet' to download it")
        if lin_weights is not None and not os.path.isfile(lin_weights):
            raise FileNotFoundError(f'LPIPS linear-layer weights {lin_weights!r} not found (--lpips_lin_weights; '
                                    f"leave it out to use the lpips package's own vgg.pth)")
        trunk = load_vgg_features(vgg_weights, arch='vgg16', n_layers=_VGG16_LAYERS)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # torchvision's 'pretrained' deprecation inside lpips
            self.model = lpips.LPIPS(net='vgg', pnet_rand=True, model_path=lin_weights, verbose=False)
        features = dict(trunk.named_children())
        with torch.no_grad():
            for i in range(1, 6):
                for name, layer in getattr(self.model.net, f'slice{i}').named_children():
                    for pname, p in layer.named_parameters():
                        p.copy_(getattr(features[name], pname))
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def forward(self, a, b):
        return self.model(a, b).flatten()
