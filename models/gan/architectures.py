"""Generators and discriminators of the unconditional GANs, for square images of 16 to 256 pixels (a power of
two) with 1 or 3 channels.

  fc      Ganzo's fully connected networks: widths nz, 2 nz, ..., 2^(L-1) nz (generator) and the mirror image
          (discriminator), leaky ReLU(0.2) between layers.
  dcgan   Radford et al. 2016 (DCGAN), as in the WGAN reference code: transposed 4x4 convolutions doubling the
          side from 4x4, batch norm and ReLU (G); strided 4x4 convolutions, leaky ReLU (D). --n_layers_G/D adds
          that many 3x3 conv layers at the finest resolution ("extra layers").
  resnet  Gulrajani et al. 2017 (WGAN-GP) 64x64 ResNet ("good" in Ganzo), generalised to any power of two: a
          linear layer to 4x4, up-sampling residual blocks (nearest up-sampling + 3x3 convs, 1x1 shortcut), BN,
          ReLU, 3x3 conv, tanh (G); 3x3 conv, down-sampling residual blocks (mean pooling), linear (D).
          --n_layers_G/D adds that many non-resampling residual blocks at 4x4.

Every generator maps (B, nz) to (B, C, S, S) in [-1, 1]; every discriminator maps (B, C, S, S) to (B,) logits.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_discriminator, register_generator

MIN_SIZE, MAX_SIZE = 16, 256


def check_image_size(size):
    """Raise ValueError unless ``size`` is a power of two from 16 to 256."""
    if size < MIN_SIZE or size > MAX_SIZE or size & (size - 1):
        raise ValueError(f'--crop_size {size}: --model gan needs an image side that is a power of two from '
                         f'{MIN_SIZE} to {MAX_SIZE} (16, 32, 64, 128 or 256)')
    return int(math.log2(size))


def norm_2d(kind, channels):
    """Normalisation of discriminator features: batch, layer (over C, H, W, as WGAN-GP's critic) or none."""
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    if kind == 'layer':
        return nn.GroupNorm(1, channels)
    if kind == 'none':
        return nn.Identity()
    raise ValueError(f"unknown discriminator normalisation '{kind}'; choose batch, layer or none")


def _maybe_dropout(p):
    return [nn.Dropout(p)] if p and p > 0 else []


# ---------------------------------------------------------------------------------------------- fc


class FCGenerator(nn.Module):
    def __init__(self, nz, size, channels, n_layers=4, dropout=0.0):
        super().__init__()
        if n_layers < 1:
            raise ValueError('--n_layers_G must be at least 1 for --netG fc')
        widths = [nz * 2 ** i for i in range(n_layers)] + [channels * size * size]
        layers = []
        for i in range(n_layers):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < n_layers - 1:
                layers += [nn.LeakyReLU(0.2)] + _maybe_dropout(dropout)
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.shape = (channels, size, size)

    def forward(self, z):
        return self.net(z.flatten(1)).view(z.shape[0], *self.shape)


class FCDiscriminator(nn.Module):
    def __init__(self, nz, size, channels, n_layers=4, dropout=0.0):
        super().__init__()
        if n_layers < 1:
            raise ValueError('--n_layers_D must be at least 1 for --netD fc')
        widths = [channels * size * size] + [nz * 2 ** (n_layers - 1 - i) for i in range(n_layers - 1)] + [1]
        layers = []
        for i in range(n_layers):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < n_layers - 1:
                layers += [nn.LeakyReLU(0.2)] + _maybe_dropout(dropout)
        self.net = nn.Sequential(*layers)
        self.feature_dim = widths[-2]

    def features(self, x):
        """(B, feature_dim) activations under the output layer (what --condition class projects on)."""
        return self.net[:-1](x.flatten(1))

    def head(self, features):
        return self.net[-1](features).view(-1)

    def forward(self, x):
        return self.head(self.features(x))


# ---------------------------------------------------------------------------------------------- dcgan


class DCGANGenerator(nn.Module):
    def __init__(self, nz, size, channels, ngf=64, n_extra=0, dropout=0.0):
        super().__init__()
        n_up = check_image_size(size) - 2  # 4x4 -> size
        width = ngf * 2 ** (n_up - 1)
        layers = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        layers += _maybe_dropout(dropout)
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)] + _maybe_dropout(dropout)
            width //= 2
        for _ in range(n_extra):
            layers += [nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
            layers += _maybe_dropout(dropout)
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    def __init__(self, size, channels, ndf=64, n_extra=0, dropout=0.0, norm='batch'):
        super().__init__()
        n_down = check_image_size(size) - 2  # size -> 4x4
        width = ndf
        layers = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        layers += _maybe_dropout(dropout)
        for _ in range(n_extra):
            layers += [nn.Conv2d(width, width, 3, 1, 1, bias=False), norm_2d(norm, width), nn.LeakyReLU(0.2, True)]
            layers += _maybe_dropout(dropout)
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), norm_2d(norm, width * 2),
                       nn.LeakyReLU(0.2, True)] + _maybe_dropout(dropout)
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.feature_dim = width

    def features(self, x):
        """(B, width, 4, 4) activations under the output convolution."""
        return self.net[:-1](x)

    def head(self, features):
        return self.net[-1](features).view(-1)

    def forward(self, x):
        return self.head(self.features(x))


# ---------------------------------------------------------------------------------------------- resnet


class UpBlock(nn.Module):
    """Gulrajani's residual block with resample='up': BN-ReLU-upconv3x3-BN-ReLU-conv3x3 + upconv1x1 shortcut.

    Their UpsampleConv (four copies of the input, depth to space, conv) is nearest up-sampling then a conv."""

    def __init__(self, cin, cout):
        super().__init__()
        self.shortcut = nn.Conv2d(cin, cout, 1)
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        nn.init.xavier_uniform_(self.shortcut.weight)
        nn.init.kaiming_uniform_(self.conv1.weight)
        nn.init.kaiming_uniform_(self.conv2.weight)

    def forward(self, x):
        up = lambda t: F.interpolate(t, scale_factor=2, mode='nearest')  # noqa: E731
        shortcut = self.shortcut(up(x))
        h = self.conv1(up(F.relu(self.bn1(x))))
        h = self.conv2(F.relu(self.bn2(h)))
        return shortcut + h


class PlainBlock(nn.Module):
    """Residual block without resampling (identity shortcut), with the given normalisation."""

    def __init__(self, channels, norm_fn):
        super().__init__()
        self.n1, self.conv1 = norm_fn(channels), nn.Conv2d(channels, channels, 3, 1, 1)
        self.n2, self.conv2 = norm_fn(channels), nn.Conv2d(channels, channels, 3, 1, 1)
        nn.init.kaiming_uniform_(self.conv1.weight)
        nn.init.kaiming_uniform_(self.conv2.weight)

    def forward(self, x):
        return x + self.conv2(F.relu(self.n2(self.conv1(F.relu(self.n1(x))))))


class DownBlock(nn.Module):
    """Gulrajani's residual block with resample='down': norm-ReLU-conv3x3-norm-ReLU-conv3x3-meanpool with a
    meanpool-conv1x1 shortcut."""

    def __init__(self, cin, cout, norm='layer'):
        super().__init__()
        self.shortcut = nn.Conv2d(cin, cout, 1)
        self.n1, self.conv1 = norm_2d(norm, cin), nn.Conv2d(cin, cin, 3, 1, 1, bias=False)
        self.n2, self.conv2 = norm_2d(norm, cin), nn.Conv2d(cin, cout, 3, 1, 1)
        nn.init.xavier_uniform_(self.shortcut.weight)
        nn.init.kaiming_uniform_(self.conv1.weight)
        nn.init.kaiming_uniform_(self.conv2.weight)

    def forward(self, x):
        shortcut = self.shortcut(F.avg_pool2d(x, 2))
        h = self.conv1(F.relu(self.n1(x)))
        h = F.avg_pool2d(self.conv2(F.relu(self.n2(h))), 2)
        return shortcut + h


def _resnet_width(base, level):
    return base * min(8, 2 ** level)


class ResnetGenerator(nn.Module):
    def __init__(self, nz, size, channels, ngf=64, n_extra=0):
        super().__init__()
        n_up = check_image_size(size) - 2
        self.start = _resnet_width(ngf, n_up)
        self.fc = nn.Linear(nz, 4 * 4 * self.start)
        nn.init.xavier_uniform_(self.fc.weight)
        self.extra = nn.Sequential(*[PlainBlock(self.start, nn.BatchNorm2d) for _ in range(n_extra)])
        self.blocks = nn.Sequential(*[UpBlock(_resnet_width(ngf, n_up - i), _resnet_width(ngf, n_up - 1 - i))
                                      for i in range(n_up)])
        self.bn = nn.BatchNorm2d(ngf)
        self.out = nn.Conv2d(ngf, channels, 3, 1, 1)
        nn.init.kaiming_uniform_(self.out.weight)

    def forward(self, z):
        x = self.fc(z.flatten(1)).view(z.shape[0], self.start, 4, 4)
        x = self.blocks(self.extra(x))
        return torch.tanh(self.out(F.relu(self.bn(x))))


class ResnetDiscriminator(nn.Module):
    def __init__(self, size, channels, ndf=64, n_extra=0, norm='layer'):
        super().__init__()
        n_down = check_image_size(size) - 2
        self.inp = nn.Conv2d(channels, ndf, 3, 1, 1)
        nn.init.kaiming_uniform_(self.inp.weight)
        self.blocks = nn.Sequential(*[DownBlock(_resnet_width(ndf, i), _resnet_width(ndf, i + 1), norm)
                                      for i in range(n_down)])
        self.end = _resnet_width(ndf, n_down)
        self.extra = nn.Sequential(*[PlainBlock(self.end, lambda c: norm_2d(norm, c)) for _ in range(n_extra)])
        self.fc = nn.Linear(4 * 4 * self.end, 1)
        nn.init.xavier_uniform_(self.fc.weight)
        self.feature_dim = self.end

    def features(self, x):
        """(B, C, 4, 4) activations under the output layer."""
        return self.extra(self.blocks(self.inp(x)))

    def head(self, features):
        return self.fc(features.flatten(1)).view(-1)

    def forward(self, x):
        return self.head(self.features(x))


# ---------------------------------------------------------------------------------------------- builders
# Each builder gets the parsed options; --n_layers_G/D and the discriminator normalisation are already resolved
# (models/gan_model.py fills the family defaults).

@register_generator('fc')
def build_fc_generator(opt):
    return FCGenerator(opt.nz, opt.crop_size, opt.output_nc, opt.n_layers_G, opt.dropout_G)


@register_generator('dcgan')
def build_dcgan_generator(opt):
    return DCGANGenerator(opt.nz, opt.crop_size, opt.output_nc, opt.ngf, opt.n_layers_G, opt.dropout_G)


@register_generator('resnet')
def build_resnet_generator(opt):
    if opt.dropout_G:
        raise ValueError('--netG resnet has no dropout (as in Gulrajani et al.); set --dropout_G 0')
    return ResnetGenerator(opt.nz, opt.crop_size, opt.output_nc, opt.ngf, opt.n_layers_G)


@register_discriminator('fc')
def build_fc_discriminator(opt):
    return FCDiscriminator(opt.nz, opt.crop_size, opt.output_nc, opt.n_layers_D, opt.dropout_D)


@register_discriminator('dcgan')
def build_dcgan_discriminator(opt):
    return DCGANDiscriminator(opt.crop_size, opt.output_nc, opt.ndf, opt.n_layers_D, opt.dropout_D, opt.norm_D)


@register_discriminator('resnet')
def build_resnet_discriminator(opt):
    if opt.dropout_D:
        raise ValueError('--netD resnet has no dropout (as in Gulrajani et al.); set --dropout_D 0')
    return ResnetDiscriminator(opt.crop_size, opt.output_nc, opt.ndf, opt.n_layers_D, opt.norm_D)


# families whose weights follow --init_type/--init_gain (DCGAN's N(0, 0.02)); resnet keeps its own
# He/Glorot initialisation, as in Gulrajani et al.
ZOO_INIT = {'fc', 'dcgan'}
# --n_layers_G / --n_layers_D when not given: fc counts its linear layers (Ganzo's default 4), the others count
# extra layers on top of what the image size needs
DEFAULT_LAYERS = {'fc': 4, 'dcgan': 0, 'resnet': 0}
