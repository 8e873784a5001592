"""Frozen VGG19 feature extractor and the perceptual (VGG) loss used by SPADE-style models.

The loss compares relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1 features of the generated and the real
image with L1 distances weighted 1/32, 1/16, 1/8, 1/4 and 1 (deeper layers count more). The network is a
loss function, not a model part: it is kept in eval mode with frozen weights and is never written into
checkpoints (models hold it as ``criterionVGG``, outside ``model_names``).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

# Indices into torchvision's vgg19().features where each slice ends (exclusive): after relu1_1 (index 1),
# relu2_1 (6), relu3_1 (11), relu4_1 (20) and relu5_1 (29).
VGG19_LAYER_NAMES = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1')
VGG19_SLICE_ENDS = (2, 7, 12, 21, 30)
VGG_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# torchvision's layer configurations and weight enums of the two VGGs the zoo uses
VGG_ARCHS = {'vgg19': ('E', 'VGG19_Weights'), 'vgg16': ('D', 'VGG16_Weights')}


def vgg_features_skeleton(arch='vgg19', n_layers=VGG19_SLICE_ENDS[-1]):
    """The first ``n_layers`` of torchvision's ``<arch>().features`` (same indices and key names), randomly
    initialised.

    Built without the classifier, whose 120M parameters would take seconds to initialise for nothing.
    """
    from torchvision.models.vgg import cfgs, make_layers
    features = make_layers(cfgs[VGG_ARCHS[arch][0]], batch_norm=False)[:n_layers]
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(m.bias)
    return features


def _pick_features(state, source, arch, n_layers):
    """Load the ``features`` part of a VGG state_dict (``features.N.*`` or ``N.*`` keys) into a skeleton."""
    name = arch.upper()
    if isinstance(state, dict) and 'state_dict' in state and isinstance(state['state_dict'], dict):
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ValueError(f"{source} is not a {name} state_dict")
    features = vgg_features_skeleton(arch, n_layers)
    own = features.state_dict()
    picked = {}
    for key in own:
        for candidate in ('features.' + key, key):
            if candidate in state:
                picked[key] = state[candidate]
                break
    missing = [k for k in own if k not in picked]
    if missing:
        raise ValueError(f"{source} does not hold {name} weights (missing e.g. 'features.{missing[0]}')")
    bad = [k for k in own if tuple(picked[k].shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError(f"{source}: '{bad[0]}' has shape {tuple(picked[bad[0]].shape)}, "
                         f"{name} needs {tuple(own[bad[0]].shape)}")
    features.load_state_dict(picked)
    return features


def load_vgg_features(weights=None, arch='vgg19', n_layers=VGG19_SLICE_ENDS[-1]):
    """The first ``n_layers`` of torchvision's VGG19 or VGG16 ``features`` with the requested weights.

    ``weights``: None or 'imagenet' -> torchvision's ImageNet weights (``VGG19_Weights.IMAGENET1K_V1`` or
    ``VGG16_Weights.IMAGENET1K_V1``, downloaded into the torch hub cache the first time); a file path -> a
    state_dict of the full network (``features.N.*`` keys, as torchvision saves it) or of its ``features`` part
    (``N.*`` keys); 'random' -> random initialisation, for tests and offline smoke runs only (the loss is then
    not a perceptual loss).
    """
    name = arch.upper()
    if weights == 'random':
        return vgg_features_skeleton(arch, n_layers)
    if weights in (None, '', 'imagenet'):
        import torchvision.models
        enum = getattr(torchvision.models, VGG_ARCHS[arch][1]).IMAGENET1K_V1
        try:
            state = enum.get_state_dict(progress=False)
        except Exception as exc:  # offline, proxy or hash errors all need the same advice
            raise FileNotFoundError(
                f"cannot get torchvision's {name} ImageNet weights ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'download failed'}); on a machine with internet "
                f"download {enum.url} and pass it with --vgg_weights PATH "
                f"(or copy it into {os.path.join(torch.hub.get_dir(), 'checkpoints')}); "
                f"--vgg_weights random runs without it for tests only") from None
        return _pick_features(state, f"torchvision's {VGG_ARCHS[arch][1]}.IMAGENET1K_V1", arch, n_layers)
    path = os.path.expanduser(str(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--vgg_weights '{weights}': no such file (give a torchvision {name} state_dict "
                                f"file, 'imagenet' to download it, or 'random' for tests)")
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:
        raise ValueError(f"--vgg_weights '{path}' is not a readable PyTorch state_dict ({exc})") from None
    return _pick_features(state, f"--vgg_weights '{path}'", arch, n_layers)


class VGG19Features(nn.Module):
    """Returns the relu1_1 ... relu5_1 activations of images given in [-1, 1].

    Inputs are mapped to [0, 1] and normalised with the ImageNet mean and std that the weights were trained
    with. The module is frozen and stays in eval mode even when a parent calls ``.train()``.
    """

    def __init__(self, weights=None):
        super().__init__()
        features = load_vgg_features(weights, 'vgg19', VGG19_SLICE_ENDS[-1])
        starts = (0,) + VGG19_SLICE_ENDS[:-1]
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(starts, VGG19_SLICE_ENDS))
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        for param in self.parameters():
            param.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)  # a fixed feature extractor: never switch to training behaviour

    def forward(self, x):
        if x.shape[1] == 1:  # grayscale outputs: VGG expects three channels
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f'the VGG perceptual loss needs 1- or 3-channel images, got {x.shape[1]} channels')
        x = ((x.float() + 1.0) / 2.0 - self.mean) / self.std
        out = []
        for block in self.slices:
            x = block(x)
            out.append(x)
        return out


class VGGLoss(nn.Module):
    """sum_i w_i * L1(VGG_i(fake), VGG_i(real)) over relu1_1..relu5_1 with w = 1/32, 1/16, 1/8, 1/4, 1.

    The real image's features are targets (no gradient); gradients flow to the fake image only.
    """

    def __init__(self, weights=None, extractor=None):
        super().__init__()
        self.vgg = extractor if extractor is not None else VGG19Features(weights)
        self.layer_weights = VGG_LAYER_WEIGHTS

    def forward(self, fake, real):
        fake_features = self.vgg(fake)
        with torch.no_grad():
            real_features = self.vgg(real)
        loss = 0.0
        for w, f, r in zip(self.layer_weights, fake_features, real_features):
            loss = loss + w * F.l1_loss(f, r.detach())
        return loss
