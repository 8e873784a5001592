"""Content encoders for the omnigan generator.

* MunitContentEncoder: 7x7 projection, `n_downsample` strided 4x4 convs (each doubling channels,
  halving resolution), then `n_res` residual blocks (MUNIT content encoder layout; published omnigan:
  spectral-norm convolutions, instance-norm residual blocks, LeakyReLU).
* DeeplabV2Encoder: the feature extractor of a DeepLab-v2 ResNet (dilated layer3/layer4, output
  stride 8, ASPP head dropped) followed by a 1x1 projection and extra residual blocks. Weights for the
  backbone come from a local file (e.g. an ImageNet-pretrained DeepLab-v2 checkpoint); with no file the
  backbone is randomly initialised (useful for tests).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import Conv2dBlock, ResBlocks


class MunitContentEncoder(nn.Module):
    """image (input_nc x H x W) -> content code (dim*2^n_downsample x H/2^n x W/2^n).

    `conv_norm` normalises the projection and the downsampling convolutions (published: spectral), `norm` the
    residual blocks (published: instance); `activation` is used throughout (published: lrelu).
    """

    def __init__(self, input_nc=3, dim=64, n_downsample=2, n_res=4, norm="in", activation="lrelu",
                 pad_type="reflect", conv_norm="spectral"):
        super().__init__()
        layers = [Conv2dBlock(input_nc, dim, 7, 1, 3, norm=conv_norm, activation=activation, pad_type=pad_type)]
        for _ in range(n_downsample):
            layers.append(Conv2dBlock(dim, dim * 2, 4, 2, 1, norm=conv_norm, activation=activation,
                                      pad_type=pad_type))
            dim *= 2
        layers.append(ResBlocks(n_res, dim, norm=norm, activation=activation, pad_type=pad_type))
        self.model = nn.Sequential(*layers)
        self.output_dim = dim
        self.n_downsample = n_downsample

    def forward(self, x):
        return self.model(x)


class _Bottleneck(nn.Module):
    """DeepLab-v2 (Caffe-style) bottleneck: the stride sits on the first 1x1 conv, the 3x3 is dilated."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class DeeplabV2ResNet(nn.Module):
    """ResNet trunk of DeepLab-v2: output stride 8 via dilation 2 in layer3 and 4 in layer4.

    Parameter names (conv1, bn1, layer1..layer4, downsample.0/1) follow the usual DeepLab-v2 PyTorch
    checkpoints so their feature-extractor weights load directly.
    """

    def __init__(self, layers=(3, 4, 23, 3)):
        super().__init__()
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise ValueError(f"deeplab layers must be 4 positive block counts (ResNet-101: 3,4,23,3), got {layers}")
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], dilation=2)
        self.layer4 = self._make_layer(512, layers[3], dilation=4)
        self.output_dim = 512 * _Bottleneck.expansion

    def _make_layer(self, planes, blocks, stride=1, dilation=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4 or dilation > 1:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        blocks_list = [_Bottleneck(self.inplanes, planes, stride, dilation, downsample)]
        self.inplanes = planes * 4
        blocks_list += [_Bottleneck(self.inplanes, planes, 1, dilation) for _ in range(1, int(blocks))]
        return nn.Sequential(*blocks_list)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# keys of DeepLab-v2 checkpoints that belong to the (dropped) ASPP classifier
_CLASSIFIER_PREFIXES = ("layer5", "layer6")
# wrappers some checkpoints put in front of the trunk's names
_WRAPPER_PREFIXES = ("Scale.", "module.", "backbone.", "model.")


def load_deeplab_weights(backbone, path):
    """Load the feature-extractor part of a DeepLab-v2 checkpoint from a local file into `backbone`.

    Raises FileNotFoundError when the file is absent and ValueError when it does not hold the trunk.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"DeepLab-v2 weights file not found: {path}. Download an ImageNet-pretrained DeepLab-v2 ResNet "
            f"checkpoint to that path, or leave --deeplab_weights empty to start from random weights.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not contain a state_dict (got {type(state).__name__})")
    cleaned = {}
    for key, value in state.items():
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if key.startswith(_CLASSIFIER_PREFIXES):
            continue
        cleaned[key] = value
    own = backbone.state_dict()
    missing = [k for k in own if k not in cleaned]
    if missing:
        raise ValueError(
            f"{path} is not a DeepLab-v2 ResNet checkpoint matching --deeplab_layers: {len(missing)} trunk "
            f"parameters are missing, e.g. {missing[:3]}")
    for key in own:
        if tuple(cleaned[key].shape) != tuple(own[key].shape):
            raise ValueError(f"{path}: shape of '{key}' is {tuple(cleaned[key].shape)}, "
                             f"expected {tuple(own[key].shape)}; check --deeplab_layers")
    backbone.load_state_dict({k: cleaned[k] for k in own}, strict=True)


class DeeplabV2Encoder(nn.Module):
    """DeepLab-v2 ResNet features (stride 8) -> 1x1 projection to `proj_dim` -> `n_res` ResBlocks.

    BatchNorm layers of the trunk are frozen (eval mode, no gradient) as usual when fine-tuning
    DeepLab with small batches. Inputs in [-1, 1] RGB are converted to the 0-255 BGR mean-subtracted
    range the Caffe-converted checkpoints expect.
    """

    # per-channel BGR means of the Caffe ImageNet preprocessing
    _BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)

    def __init__(self, input_nc=3, layers=(3, 4, 23, 3), proj_dim=512, n_res=1, norm="in",
                 activation="relu", pad_type="reflect", weights_path="", load_weights=True):
        super().__init__()
        if input_nc != 3:
            raise ValueError(f"the DeepLab-v2 encoder takes RGB images (input_nc=3), got input_nc={input_nc}")
        self.backbone = DeeplabV2ResNet(layers)
        self.weights_path = weights_path
        if weights_path and load_weights:
            self.load_pretrained()
        for m in self.backbone.modules():
            if isinstance(m, nn.BatchNorm2d):
                for p in m.parameters():
                    p.requires_grad_(False)
        self.project = Conv2dBlock(self.backbone.output_dim, proj_dim, 1, 1, 0, norm=norm,
                                   activation=activation, pad_type=pad_type)
        self.res = ResBlocks(n_res, proj_dim, norm=norm, activation=activation, pad_type=pad_type)
        self.register_buffer("bgr_mean", torch.tensor(self._BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.output_dim = proj_dim
        self.n_downsample = 3

    def load_pretrained(self):
        """(Re)load the trunk from `weights_path` (after a global weight init, for instance); no-op without one."""
        if self.weights_path:
            load_deeplab_weights(self.backbone, self.weights_path)

    def train(self, mode=True):
        super().train(mode)
        # frozen BatchNorm: keep the running statistics fixed even while training
        for m in self.backbone.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % 8 or w % 8:
            raise ValueError(f"the DeepLab-v2 encoder needs image sizes divisible by 8, got {h}x{w}")
        bgr = (x.flip(1) + 1) * 127.5 - self.bgr_mean
        feats = self.backbone(bgr)
        # ceil-mode pooling gives ceil(H/8)+1 sized maps; resample to exactly H/8 so decoders line up
        feats = F.interpolate(feats, size=(h // 8, w // 8), mode="bilinear", align_corners=False)
        return self.res(self.project(feats))
