"""The classic generators (ResNet and U-Net) chosen by --netG.

They keep the module structure (and so the state_dict key names) of the published CycleGAN/pix2pix weights,
so those ``.pth`` files load here unchanged.
"""
import math
import re

import torch
import torch.nn as nn

from models.networks.blocks import get_norm_layer, init_net, uses_bias
from util.image_sizes import size_divisor  # noqa: F401 (re-exported; data/ reads it from util)


GENERATOR_PATTERN = re.compile(r'^(resnet_(\d+)blocks|unet_(\d+))$')


def generator_names():
    return ['resnet_9blocks', 'resnet_6blocks', 'unet_256', 'unet_128', 'unet_<size>']


def define_G(input_nc, output_nc, ngf, netG, norm='batch', use_dropout=False, init_type='normal',
             init_gain=0.02, dropout_rate=0.5):
    """Create a generator.

    ``netG`` is ``resnet_<n>blocks`` (a ResNet with n residual blocks between two downsamplings and two
    upsamplings) or ``unet_<size>`` (a U-Net with log2(size) downsamplings, for images of at least that
    size whose sides are multiples of it).
    """
    norm_layer = get_norm_layer(norm)
    match = GENERATOR_PATTERN.match(netG)
    if match is None:
        raise ValueError(f"unknown --netG '{netG}'; choose one of {', '.join(generator_names())}")
    if match.group(2) is not None:
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, use_dropout=use_dropout,
                              n_blocks=int(match.group(2)), dropout_rate=dropout_rate)
    else:
        size = int(match.group(3))
        num_downs = int(round(math.log2(size)))
        if 2 ** num_downs != size or num_downs < 5:
            raise ValueError(f"--netG {netG}: the U-Net size must be a power of two >= 32")
        net = UnetGenerator(input_nc, output_nc, num_downs, ngf, norm_layer=norm_layer,
                            use_dropout=use_dropout, dropout_rate=dropout_rate)
    return init_net(net, init_type, init_gain)


class ResnetGenerator(nn.Module):
    """ResNet generator (Johnson et al.): 7x7 conv, 2 stride-2 downsamplings, residual blocks, 2 upsamplings."""

    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6,
                 padding_type='reflect', dropout_rate=0.5):
        assert n_blocks >= 0
        super().__init__()
        use_bias = uses_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2 ** n_downsampling
        for _ in range(n_blocks):
            model += [ResnetBlock(ngf * mult, padding_type=padding_type, norm_layer=norm_layer,
                                  use_dropout=use_dropout, use_bias=use_bias, dropout_rate=dropout_rate)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


def split_resnet_generator(net):
    """Split a ResnetGenerator into (encoder, decoder) sharing its modules.

    The encoder is everything up to and including the last residual block (the two downsamplings when there
    are none), the decoder the upsamplings and output layer, so ``decoder(encoder(x)) == net(x)``. Both are
    slices of ``net.model`` and keep its child indices as state_dict keys: ``encoder.N.*`` / ``decoder.N.*``
    map back to the generator's ``model.N.*`` (see models/liss for a model built on it).
    """
    if not isinstance(net, ResnetGenerator):
        raise ValueError(f'only resnet_<n>blocks generators can be split into encoder and decoder, '
                         f'not {type(net).__name__}; use --netG resnet_9blocks (or another resnet_<n>blocks)')
    layers = list(net.model)
    blocks = [i for i, layer in enumerate(layers) if isinstance(layer, ResnetBlock)]
    # without residual blocks: cut after the last downsampling (its ReLU precedes the first ConvTranspose2d)
    cut = blocks[-1] + 1 if blocks else next(i for i, l in enumerate(layers) if isinstance(l, nn.ConvTranspose2d))
    return net.model[:cut], net.model[cut:]


class ResnetBlock(nn.Module):
    """Residual block: x + conv-norm-relu-(dropout)-conv-norm(x)."""

    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias, dropout_rate=0.5):
        super().__init__()
        self.conv_block = self.build_conv_block(dim, padding_type, norm_layer, use_dropout, use_bias, dropout_rate)

    @staticmethod
    def _padding(padding_type):
        if padding_type == 'reflect':
            return [nn.ReflectionPad2d(1)], 0
        if padding_type == 'replicate':
            return [nn.ReplicationPad2d(1)], 0
        if padding_type == 'zero':
            return [], 1
        raise ValueError(f"padding '{padding_type}' is not implemented; use reflect, replicate or zero")

    def build_conv_block(self, dim, padding_type, norm_layer, use_dropout, use_bias, dropout_rate=0.5):
        pad, p = self._padding(padding_type)
        block = pad + [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            block += [nn.Dropout(dropout_rate)]
        pad, p = self._padding(padding_type)
        block += pad + [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]
        return nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class UnetGenerator(nn.Module):
    """U-Net generator built recursively from the innermost block outwards (Ronneberger et al., pix2pix)."""

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False,
                 dropout_rate=0.5):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                            use_dropout=use_dropout, dropout_rate=dropout_rate)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm_layer=norm_layer)

    def forward(self, x):
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: downsample, inner submodule, upsample, concatenated with the input (skip)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False, dropout_rate=0.5):
        super().__init__()
        self.outermost = outermost
        use_bias = uses_bias(norm_layer)
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(dropout_rate)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)
