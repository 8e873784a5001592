"""Generators and discriminators of the unconditional GANs, for square images of 16 to 256 pixels with 1 or 3
channels. The convolutional families start from a 4x4 to 7x7 grid and double it: 16, 32, 64, ... (from 4x4),
28 (MNIST's own size, from 7x7), 24, 48, ... (from 6x6).

  fc      Ganzo's fully connected networks: widths nz, 2 nz, ..., 2^(L-1) nz (generator) and the mirror image
          (discriminator), leaky ReLU(0.2) between layers.
  dcgan   Radford et al. 2016 (DCGAN), as in the WGAN reference code: transposed 4x4 convolutions doubling the
          side from the start grid, batch norm and ReLU (G); strided 4x4 convolutions, leaky ReLU (D). --n_layers_G/D adds
          that many 3x3 conv layers at the finest resolution ("extra layers").
  conv    Ganzo's own small convolutional networks: G halves a fixed 64 channels at every doubling (64, 32, 16,
          8 at 64 px), D doubles 8 channels at every halving (8 ... 64 at 64 px), batch norm after every inner
          layer including D's first; torch's default initialisation and biases, as in Ganzo.
  resnet  Gulrajani et al. 2017 (WGAN-GP) 64x64 ResNet, generalised to any side with widths from --ngf/--ndf: a
          linear layer to the start grid, up-sampling residual blocks (nearest up-sampling + 3x3 convs, 1x1 shortcut), BN,
          ReLU, 3x3 conv, tanh (G); 3x3 conv, down-sampling residual blocks (mean pooling), linear (D).
          --n_layers_G/D adds that many non-resampling residual blocks at the start grid.
  good    Ganzo's "good" networks, Gulrajani's 64x64 ResNet as Ganzo builds it for any multiple of 16: always four
          residual blocks from a (size/16)^2 grid, widths 8 x size (512 at 64 px), the critic with element-wise
          LayerNorm([C, H, W]) and a Glorot-initialised input conv, every bias zero at initialisation.

Every generator maps (B, nz) to (B, C, S, S) in [-1, 1]; every discriminator maps (B, C, S, S) to (B,) logits.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_discriminator, register_generator

MIN_SIZE, MAX_SIZE = 16, 256


def check_image_size(size):
    """(start, doublings) of an image side: the side is start x 2^doublings with a start of 4 to 7 pixels and at
    least two doublings; ValueError for sides outside 16..256 or that do not halve down to such a start."""
    start, doublings = size, 0
    while start % 2 == 0 and start // 2 >= 4:
        start, doublings = start // 2, doublings + 1
    if not MIN_SIZE <= size <= MAX_SIZE or start > 7 or doublings < 2:
        raise ValueError(f'--crop_size {size}: --model gan needs a side from {MIN_SIZE} to {MAX_SIZE} that halves '
                         f'down to 4 to 7 pixels (e.g. 16, 28, 32, 48, 64, 128, 256)')
    return start, doublings


def norm_2d(kind, channels, side=None):
    """Normalisation of discriminator features: batch, layer (over C, H, W with a per-channel affine, as
    WGAN-GP's critic), elementwise_layer (LayerNorm([C, side, side]), Ganzo's) or none."""
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    if kind == 'layer':
        return nn.GroupNorm(1, channels)
    if kind == 'elementwise_layer':
        return nn.LayerNorm([channels, side, side])
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
        start, n_up = check_image_size(size)  # start x start -> size
        width = ngf * 2 ** (n_up - 1)
        layers = [nn.ConvTranspose2d(nz, width, start, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
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


class ConvStackDiscriminator(nn.Module):
    """A discriminator whose ``self.net`` is a stack of convolutions ending in one start x start conv to a logit:
    ``features`` are the activations under that conv (what projection conditioning and feature losses read)."""

    def features(self, x):
        """(B, width, start, start) activations under the output convolution."""
        return self.net[:-1](x)

    def head(self, features):
        return self.net[-1](features).view(-1)

    def forward(self, x):
        return self.head(self.features(x))


class DCGANDiscriminator(ConvStackDiscriminator):
    def __init__(self, size, channels, ndf=64, n_extra=0, dropout=0.0, norm='batch'):
        super().__init__()
        start, n_down = check_image_size(size)  # size -> start x start
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
        layers.append(nn.Conv2d(width, 1, start, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.feature_dim = width



# ---------------------------------------------------------------------------------------------- conv (Ganzo)


class GanzoConvGenerator(nn.Module):
    """Ganzo's ``conv`` generator: a transposed conv from the noise to a start x start grid of 64 channels, then
    transposed 4x4 convolutions that double the side and halve the channels, batch norm and ReLU between them."""

    def __init__(self, nz, size, channels, dropout=0.0):
        super().__init__()
        start, n_up = check_image_size(size)
        width = 64
        layers = [nn.ConvTranspose2d(nz, width, start, 1, 0), nn.BatchNorm2d(width), nn.ReLU()]
        layers += _maybe_dropout(dropout)
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU()]
            layers += _maybe_dropout(dropout)
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class GanzoConvDiscriminator(ConvStackDiscriminator):
    """Ganzo's ``conv`` discriminator: strided 4x4 convolutions from 8 channels, doubling them as the side halves,
    each followed by the normalisation (batch norm in Ganzo, the first layer included) and leaky ReLU(0.2); a
    start x start conv to one logit."""

    def __init__(self, size, channels, dropout=0.0, norm='batch'):
        super().__init__()
        start, n_down = check_image_size(size)
        width = 8
        layers = [nn.Conv2d(channels, width, 4, 2, 1), norm_2d(norm, width), nn.LeakyReLU(0.2)]
        layers += _maybe_dropout(dropout)
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1), norm_2d(norm, width * 2), nn.LeakyReLU(0.2)]
            layers += _maybe_dropout(dropout)
            width *= 2
        layers.append(nn.Conv2d(width, 1, start, 1, 0))
        self.net = nn.Sequential(*layers)
        self.feature_dim = width



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

    def __init__(self, cin, cout, norm='layer', side=None):
        super().__init__()
        self.shortcut = nn.Conv2d(cin, cout, 1)
        self.n1, self.conv1 = norm_2d(norm, cin, side), nn.Conv2d(cin, cin, 3, 1, 1, bias=False)
        self.n2, self.conv2 = norm_2d(norm, cin, side), nn.Conv2d(cin, cout, 3, 1, 1)
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
        self.side, n_up = check_image_size(size)
        self.start = _resnet_width(ngf, n_up)
        self.fc = nn.Linear(nz, self.side * self.side * self.start)
        nn.init.xavier_uniform_(self.fc.weight)
        self.extra = nn.Sequential(*[PlainBlock(self.start, nn.BatchNorm2d) for _ in range(n_extra)])
        self.blocks = nn.Sequential(*[UpBlock(_resnet_width(ngf, n_up - i), _resnet_width(ngf, n_up - 1 - i))
                                      for i in range(n_up)])
        self.bn = nn.BatchNorm2d(ngf)
        self.out = nn.Conv2d(ngf, channels, 3, 1, 1)
        nn.init.kaiming_uniform_(self.out.weight)

    def forward(self, z):
        x = self.fc(z.flatten(1)).view(z.shape[0], self.start, self.side, self.side)
        x = self.blocks(self.extra(x))
        return torch.tanh(self.out(F.relu(self.bn(x))))


class ResnetDiscriminator(nn.Module):
    def __init__(self, size, channels, ndf=64, n_extra=0, norm='layer'):
        super().__init__()
        side, n_down = check_image_size(size)
        self.inp = nn.Conv2d(channels, ndf, 3, 1, 1)
        nn.init.kaiming_uniform_(self.inp.weight)
        self.blocks = nn.Sequential(*[DownBlock(_resnet_width(ndf, i), _resnet_width(ndf, i + 1), norm)
                                      for i in range(n_down)])
        self.end = _resnet_width(ndf, n_down)
        self.extra = nn.Sequential(*[PlainBlock(self.end, lambda c: norm_2d(norm, c)) for _ in range(n_extra)])
        self.fc = nn.Linear(side * side * self.end, 1)
        nn.init.xavier_uniform_(self.fc.weight)
        self.feature_dim = self.end

    def features(self, x):
        """(B, C, start, start) activations under the output layer."""
        return self.extra(self.blocks(self.inp(x)))

    def head(self, features):
        return self.fc(features.flatten(1)).view(-1)

    def forward(self, x):
        return self.head(self.features(x))


# ---------------------------------------------------------------------------------------------- good (Ganzo)


def _zero_biases(net):
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
            nn.init.zeros_(module.bias)


def check_good_size(size):
    """Ganzo's good networks: four resampling blocks from a (size / 16)^2 grid."""
    if size % 16 or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f'--crop_size {size}: --netG/--netD good need a multiple of 16 from {MIN_SIZE} to '
                         f'{MAX_SIZE} (as in Ganzo)')
    return size // 16


class GanzoGoodGenerator(nn.Module):
    """Ganzo's ``good`` generator: linear to (size/16)^2 x 8 size, four up-sampling residual blocks (8, 4, 2, 1
    x size channels), BN, ReLU, 3x3 conv, tanh."""

    def __init__(self, nz, size, channels):
        super().__init__()
        self.side, self.width = check_good_size(size), 8 * size
        self.fc = nn.Linear(nz, self.side * self.side * self.width)
        nn.init.xavier_uniform_(self.fc.weight)
        widths = [8 * size, 8 * size, 4 * size, 2 * size, size]
        self.blocks = nn.Sequential(*[UpBlock(widths[i], widths[i + 1]) for i in range(4)])
        self.bn = nn.BatchNorm2d(size)
        self.out = nn.Conv2d(size, channels, 3, 1, 1)
        nn.init.kaiming_uniform_(self.out.weight)
        _zero_biases(self)

    def forward(self, z):
        x = self.fc(z.flatten(1)).view(z.shape[0], self.width, self.side, self.side)
        return torch.tanh(self.out(F.relu(self.bn(self.blocks(x)))))


class GanzoGoodDiscriminator(nn.Module):
    """Ganzo's ``good`` critic: a Glorot-initialised 3x3 conv to size channels, four down-sampling residual
    blocks (2, 4, 8, 8 x size channels) with element-wise LayerNorm([C, H, W]), linear to one logit."""

    def __init__(self, size, channels):
        super().__init__()
        side = check_good_size(size)
        self.inp = nn.Conv2d(channels, size, 3, 1, 1)
        nn.init.xavier_uniform_(self.inp.weight)
        widths = [size, 2 * size, 4 * size, 8 * size, 8 * size]
        self.blocks = nn.Sequential(*[DownBlock(widths[i], widths[i + 1], 'elementwise_layer', size >> i)
                                      for i in range(4)])
        self.fc = nn.Linear(side * side * 8 * size, 1)
        nn.init.xavier_uniform_(self.fc.weight)
        _zero_biases(self)
        self.feature_dim = 8 * size

    def features(self, x):
        """(B, 8 size, size/16, size/16) activations under the output layer."""
        return self.blocks(self.inp(x))

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
    return ResnetGenerator(opt.nz, opt.crop_size, opt.output_nc, opt.ngf, opt.n_layers_G)


@register_discriminator('fc')
def build_fc_discriminator(opt):
    return FCDiscriminator(opt.nz, opt.crop_size, opt.output_nc, opt.n_layers_D, opt.dropout_D)


@register_discriminator('dcgan')
def build_dcgan_discriminator(opt):
    return DCGANDiscriminator(opt.crop_size, opt.output_nc, opt.ndf, opt.n_layers_D, opt.dropout_D, opt.norm_D)


@register_discriminator('resnet')
def build_resnet_discriminator(opt):
    return ResnetDiscriminator(opt.crop_size, opt.output_nc, opt.ndf, opt.n_layers_D, opt.norm_D)


@register_generator('conv')
def build_conv_generator(opt):
    return GanzoConvGenerator(opt.nz, opt.crop_size, opt.output_nc, opt.dropout_G)


@register_discriminator('conv')
def build_conv_discriminator(opt):
    return GanzoConvDiscriminator(opt.crop_size, opt.output_nc, opt.dropout_D, opt.norm_D)


@register_generator('good')
def build_good_generator(opt):
    return GanzoGoodGenerator(opt.nz, opt.crop_size, opt.output_nc)


@register_discriminator('good')
def build_good_discriminator(opt):
    return GanzoGoodDiscriminator(opt.crop_size, opt.output_nc)


# families whose weights follow --init_type/--init_gain (DCGAN's N(0, 0.02)); resnet keeps its own
# He/Glorot initialisation, as in Gulrajani et al.; Ganzo's conv keeps torch's default and good its own, as in Ganzo
ZOO_INIT = {'fc', 'dcgan'}
# --n_layers_G / --n_layers_D when not given: fc counts its linear layers (Ganzo's default 4), the others count
# extra layers on top of what the image size needs
DEFAULT_LAYERS = {'fc': 4, 'dcgan': 0, 'resnet': 0, 'conv': 0, 'good': 0}
# families whose depth follows --crop_size alone (no extra layers), and those without dropout (as in Ganzo)
FIXED_DEPTH = {'conv', 'good'}
NO_DROPOUT = {'resnet', 'good'}
# what --norm_D auto means for a discriminator family (others: layer norm for wgangp, batch norm otherwise)
AUTO_NORM_D = {'conv': 'batch', 'good': 'elementwise_layer'}
