"""Discriminators chosen by --netD (PatchGAN, pixel, multiscale, SESAME) and their registry."""
import inspect

import torch.nn as nn
import torch.nn.functional as F

from models.networks.blocks import get_norm_layer, init_net, uses_bias


DISCRIMINATORS = {}
# option defaults a discriminator brings along (applied unless the command line or a --config sets them)
DISCRIMINATOR_DEFAULTS = {}


def register_discriminator(name, aliases=(), defaults=None):
    """Decorator adding a discriminator builder ``fn(input_nc, ndf, n_layers_D, norm_layer, opt)`` to --netD.

    ``aliases``: other --netD spellings of the same builder; ``defaults``: {option: value} the options parser
    applies when this --netD is chosen (e.g. sesame's hinge loss), still overridable.
    """
    def wrap(fn):
        for key in (name,) + tuple(aliases):
            DISCRIMINATORS[key] = fn
            DISCRIMINATOR_DEFAULTS[key] = dict(defaults or {})
        return fn
    return wrap


def discriminator_defaults(netD):
    """The option defaults of a --netD name ({} for unknown names: define_D reports those)."""
    return dict(DISCRIMINATOR_DEFAULTS.get(netD, {}))


@register_discriminator('basic')
def _basic(input_nc, ndf, n_layers_D, norm_layer, opt=None):
    return NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)


@register_discriminator('n_layers')
def _n_layers(input_nc, ndf, n_layers_D, norm_layer, opt=None):
    return NLayerDiscriminator(input_nc, ndf, n_layers=n_layers_D, norm_layer=norm_layer)


@register_discriminator('pixel')
def _pixel(input_nc, ndf, n_layers_D, norm_layer, opt=None):
    return PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)


def define_D(input_nc, ndf, netD, n_layers_D=3, norm='batch', init_type='normal', init_gain=0.02, opt=None,
             condition_nc=0):
    """Create a discriminator by its --netD name; ``opt`` gives extra options to discriminators that need them.

    Every discriminator returns a prediction tensor, or a list with one entry per scale where each entry is
    a prediction tensor or a list of intermediate features ending with the prediction; ``GANLoss`` accepts
    all of these forms.

    ``condition_nc``: how many leading channels of the input are the condition (conditional models such as
    pix2pix feed ``cat(condition, image)``). Builders that declare a ``condition_nc`` parameter receive it
    (e.g. ``sesame`` processes the condition in a separate stream); the others just see ``input_nc`` channels.
    """
    if netD not in DISCRIMINATORS:
        raise ValueError(f"unknown --netD '{netD}'; choose one of {', '.join(sorted(DISCRIMINATORS))}")
    builder = DISCRIMINATORS[netD]
    kwargs = {'condition_nc': condition_nc} if 'condition_nc' in inspect.signature(builder).parameters else {}
    net = builder(input_nc, ndf, n_layers_D, get_norm_layer(norm), opt, **kwargs)
    net.condition_nc = condition_nc  # lets callers and tests see how the input is split
    return init_net(net, init_type, init_gain)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator: classifies overlapping patches (70x70 receptive field with 3 layers)."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        kw, padw = 4, 1
        sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers):
            nf_mult_prev, nf_mult = nf_mult, min(2 ** n, 8)
            sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw,
                                   bias=use_bias),
                         norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        nf_mult_prev, nf_mult = nf_mult, min(2 ** n_layers, 8)
        sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw,
                               bias=use_bias),
                     norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
        self.model = nn.Sequential(*sequence)

    def forward(self, x):
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: classifies every pixel independently."""

    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=use_bias), norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=use_bias))

    def forward(self, x):
        return self.net(x)


class FeaturePatchDiscriminator(nn.Module):
    """A PatchGAN whose forward returns the output of every block (the last one is the prediction), so that
    the generator can be trained with feature matching (pix2pixHD).

    Convolutions use 4x4 kernels with padding 2, which keeps every block at least 2 pixels wide even on the
    coarse scales of a multiscale discriminator at 32-64 px.
    """

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, final_conv=True):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        kw, padw = 4, 2
        blocks = [nn.Sequential(nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw),
                                nn.LeakyReLU(0.2, True))]
        nf = ndf
        for n in range(1, n_layers + 1):
            nf_prev, nf = nf, min(nf * 2, ndf * 8)
            stride = 2 if n < n_layers else 1  # the last feature block keeps the resolution
            blocks.append(nn.Sequential(
                nn.Conv2d(nf_prev, nf, kernel_size=kw, stride=stride, padding=padw, bias=use_bias),
                norm_layer(nf), nn.LeakyReLU(0.2, True)))
        self.out_channels = nf
        if final_conv:
            blocks.append(nn.Sequential(nn.Conv2d(nf, 1, kernel_size=kw, stride=1, padding=padw)))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


def downsample_for_next_scale(x):
    """3x3 average pooling with stride 2 (padding not counted), the input of the next coarser scale."""
    return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD-style discriminator: ``num_D`` PatchGANs, the k-th one seeing the input average-pooled k times.

    Returns ``[[features..., prediction] for each scale]`` (finest first): GANLoss uses the predictions
    (:func:`final_predictions`) and :func:`feature_matching_loss` the features.
    """

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, num_D=2):
        super().__init__()
        if num_D < 1:
            raise ValueError(f'--num_D must be at least 1 (got {num_D})')
        self.num_D = num_D
        self.scales = nn.ModuleList(FeaturePatchDiscriminator(input_nc, ndf, n_layers, norm_layer)
                                    for _ in range(num_D))

    def forward(self, x):
        outputs = []
        for i, netD in enumerate(self.scales):
            if i > 0:
                x = downsample_for_next_scale(x)
            outputs.append(netD(x))
        return outputs


SESAME_NORMS = ('spectralinstance', 'spectralbatch', 'spectral', 'instance', 'batch', 'none')


def _sesame_norm(layer, norm):
    """OpenSESAME's get_nonspade_norm_layer: 'spectral<sub>' = spectral norm on the conv, then <sub> (instance
    without affine, batch with); a conv followed by a normalisation drops its bias."""
    if norm not in SESAME_NORMS:
        raise ValueError(f"unknown --norm_D '{norm}'; choose one of {', '.join(SESAME_NORMS)}")
    sub = norm[len('spectral'):] if norm.startswith('spectral') else norm
    if sub in ('instance', 'batch'):
        layer.bias = None
    if norm.startswith('spectral'):
        layer = nn.utils.spectral_norm(layer)
    if sub == 'instance':
        return [layer, nn.InstanceNorm2d(layer.out_channels, affine=False)]
    if sub == 'batch':
        return [layer, nn.BatchNorm2d(layer.out_channels, affine=True)]
    return [layer]


class SesameStream(nn.Module):
    """One stream of a SESAME scale: a 4x4 stride-2 conv + LeakyReLU(0.2), then ``n_layers - 1`` normalised
    4x4 convs doubling the width (at most 512), stride 2 except the last (``last_stride``, 1 in OpenSESAME).
    ``padding``: OpenSESAME's ceil((4 - 1) / 2) = 2. forward returns every block's output."""

    def __init__(self, input_nc, ndf=64, n_layers=4, norm='spectralinstance', padding=2, last_stride=1):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f'--n_layers_D must be at least 1 for --netD sesame (got {n_layers})')
        kw, padw = 4, padding
        blocks = [nn.Sequential(nn.Conv2d(input_nc, ndf, kw, stride=2, padding=padw), nn.LeakyReLU(0.2))]
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = last_stride if n == n_layers - 1 else 2
            blocks.append(nn.Sequential(*_sesame_norm(nn.Conv2d(nf_prev, nf, kw, stride=stride, padding=padw), norm),
                                        nn.LeakyReLU(0.2)))
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = nf

    def forward(self, x):
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class SesameScale(nn.Module):
    """One scale of the SESAME discriminator as in vglsd/OpenSESAME (Ntavelis et al., ECCV 2020): an image
    stream and a label (condition) stream of the same shape; the label features s weight the image features h
    per pixel before the final 4x4 conv:

        prediction = final_conv(h * (1 + sum_c s))

    Feature matching compares the image stream's block outputs (the label stream sees the same condition for
    real and fake pairs).
    """

    def __init__(self, image_nc, condition_nc, ndf=64, n_layers=4, norm='spectralinstance', padding=2, last_stride=1):
        super().__init__()
        self.image_stream = SesameStream(image_nc, ndf, n_layers, norm, padding, last_stride)
        self.label_stream = SesameStream(condition_nc, ndf, n_layers, norm, padding, last_stride)
        self.final_conv = nn.Conv2d(self.image_stream.out_channels, 1, kernel_size=4, stride=1, padding=padding)

    def forward(self, condition, image):
        features = self.image_stream(image)
        s = self.label_stream(condition)[-1]
        prediction = self.final_conv(features[-1] * (1 + s.sum(dim=1, keepdim=True)))
        return features + [prediction]


class SesameDiscriminator(nn.Module):
    """Multiscale two-stream SESAME discriminator for conditional models (``num_D`` scales, the k-th on inputs
    average-pooled k times).

    Its input is ``cat(condition, image)`` like every pix2pix discriminator; the first ``condition_nc``
    channels are split off inside and go to the label stream, so models need no special case.
    Output: ``[[image features..., prediction] for each scale]``, like :class:`MultiscaleDiscriminator`.
    """

    def __init__(self, input_nc, condition_nc, ndf=64, n_layers=4, norm='spectralinstance', num_D=2, padding=2,
                 last_stride=1):
        super().__init__()
        if condition_nc <= 0 or condition_nc >= input_nc:
            raise ValueError('--netD sesame needs a conditional model whose discriminator input is '
                             '(condition, image), such as pix2pix and its variants; use --netD multiscale otherwise')
        if num_D < 1:
            raise ValueError(f'--num_D must be at least 1 (got {num_D})')
        self.condition_nc = condition_nc
        self.num_D = num_D
        self.scales = nn.ModuleList(SesameScale(input_nc - condition_nc, condition_nc, ndf, n_layers, norm, padding,
                                                last_stride) for _ in range(num_D))

    def forward(self, x):
        condition, image = x[:, :self.condition_nc], x[:, self.condition_nc:]
        outputs = []
        for i, netD in enumerate(self.scales):
            if i > 0:
                condition, image = downsample_for_next_scale(condition), downsample_for_next_scale(image)
            outputs.append(netD(condition, image))
        return outputs


@register_discriminator('multiscale')
def _multiscale(input_nc, ndf, n_layers_D, norm_layer, opt=None):
    return MultiscaleDiscriminator(input_nc, ndf, n_layers=n_layers_D, norm_layer=norm_layer,
                                   num_D=getattr(opt, 'num_D', 2))


# OpenSESAME's defaults (options/base_options.py:29, options/train_options.py:34,40,
# models/networks/discriminator.py:70); 'sesam' is the DLIM study's spelling
@register_discriminator('sesame', aliases=('sesam',),
                        defaults={'n_layers_D': 4, 'gan_mode': 'hinge', 'lambda_feat': 10.0})
def _sesame(input_nc, ndf, n_layers_D, norm_layer, opt=None, condition_nc=0):
    # its own --norm_D (spectral + instance by default) instead of --norm, which the generator keeps
    return SesameDiscriminator(input_nc, condition_nc, ndf, n_layers=n_layers_D,
                               norm=getattr(opt, 'norm_D', 'spectralinstance'), num_D=getattr(opt, 'num_D', 2),
                               padding=getattr(opt, 'sesame_padding', 2),
                               last_stride=getattr(opt, 'sesame_last_stride', 1))
