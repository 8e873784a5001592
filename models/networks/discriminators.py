"""Discriminators chosen by --netD (PatchGAN, pixel, multiscale, SESAME) and their registry."""
import inspect

import torch.nn as nn
import torch.nn.functional as F

from models.networks.blocks import get_norm_layer, init_net, uses_bias


DISCRIMINATORS = {}


def register_discriminator(name):
    """Decorator adding a discriminator builder ``fn(input_nc, ndf, n_layers_D, norm_layer, opt)`` to --netD."""
    def wrap(fn):
        DISCRIMINATORS[name] = fn
        return fn
    return wrap


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


class SesameScale(nn.Module):
    """One scale of the SESAME discriminator (Ntavelis et al., ECCV 2020): two streams of the same shape,
    one on the image and one on the label (condition), merged at the end by a projection term.

    prediction = head(h) + sum_c(h * embed(s)), with h the image-stream and s the label-stream features at
    each location: the inner product of image features with (a learned 1x1 embedding of) label features, a
    per-pixel projection as in projection discriminators, lets the label decide which image features count
    as real, instead of mixing label and image at the input as a concatenating PatchGAN does. The embedding
    starts small (init_net's N(0, 0.02)), so training starts close to a plain PatchGAN on the image instead
    of with large random projection scores.
    """

    def __init__(self, image_nc, condition_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.image_stream = FeaturePatchDiscriminator(image_nc, ndf, n_layers, norm_layer, final_conv=False)
        self.label_stream = FeaturePatchDiscriminator(condition_nc, ndf, n_layers, norm_layer, final_conv=False)
        channels = self.image_stream.out_channels
        self.label_embed = nn.Conv2d(channels, channels, kernel_size=1)
        self.head = nn.Conv2d(channels, 1, kernel_size=3, stride=1, padding=1)

    def forward(self, condition, image):
        features = self.image_stream(image)
        h = features[-1]
        s = self.label_embed(self.label_stream(condition)[-1])
        prediction = self.head(h) + (h * s).sum(dim=1, keepdim=True)
        # only image features are compared by feature matching: the label stream sees the same input for
        # real and fake pairs
        return features + [prediction]


class SesameDiscriminator(nn.Module):
    """Multiscale two-stream SESAME discriminator for conditional models.

    Its input is ``cat(condition, image)`` like every pix2pix discriminator; the first ``condition_nc``
    channels are split off inside and go to the label stream, so models need no special case.
    Output: ``[[image features..., prediction] for each scale]``, like :class:`MultiscaleDiscriminator`.
    """

    def __init__(self, input_nc, condition_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, num_D=2):
        super().__init__()
        if condition_nc <= 0 or condition_nc >= input_nc:
            raise ValueError('--netD sesame needs a conditional model whose discriminator input is '
                             '(condition, image), such as pix2pix and its variants; use --netD multiscale otherwise')
        if num_D < 1:
            raise ValueError(f'--num_D must be at least 1 (got {num_D})')
        self.condition_nc = condition_nc
        self.num_D = num_D
        self.scales = nn.ModuleList(SesameScale(input_nc - condition_nc, condition_nc, ndf, n_layers, norm_layer)
                                    for _ in range(num_D))

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


@register_discriminator('sesame')
def _sesame(input_nc, ndf, n_layers_D, norm_layer, opt=None, condition_nc=0):
    return SesameDiscriminator(input_nc, condition_nc, ndf, n_layers=n_layers_D, norm_layer=norm_layer,
                               num_D=getattr(opt, 'num_D', 2))
