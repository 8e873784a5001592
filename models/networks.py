"""Building blocks shared by every model: generators, discriminators, norms, init, GAN losses, schedulers
and optimizers.

The classic generators keep the module structure (and so the state_dict key names) of the published
CycleGAN/pix2pix weights, so those ``.pth`` files load here unchanged.
"""
import functools
import inspect
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init
from torch.optim import lr_scheduler


###############################################################################
# Normalisation and initialisation
###############################################################################

class Identity(nn.Module):
    def forward(self, x):
        return x


NORM_TYPES = ('batch', 'instance', 'syncbatch', 'none')


def get_norm_layer(norm_type='instance'):
    """Return a constructor ``norm(num_features)`` for the named normalisation.

    ``syncbatch`` builds ordinary BatchNorm2d layers (same parameters and key names); distributed
    training converts them to SyncBatchNorm once the process group exists.
    """
    if norm_type in ('batch', 'syncbatch'):
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == 'instance':
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == 'none':
        return lambda num_features: Identity()
    raise ValueError(f"unknown --norm '{norm_type}'; choose one of {', '.join(NORM_TYPES)}")


def uses_bias(norm_layer):
    """Convolutions followed by batch norm need no bias (the norm has one); all others do."""
    if isinstance(norm_layer, functools.partial):
        return norm_layer.func is not nn.BatchNorm2d
    return norm_layer is not nn.BatchNorm2d


INIT_TYPES = ('normal', 'xavier', 'kaiming', 'orthogonal')


def init_weights(net, init_type='normal', init_gain=0.02):
    """Initialise conv/linear weights with the named scheme and norm weights with N(1, init_gain)."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"unknown --init_type '{init_type}'; choose one of {', '.join(INIT_TYPES)}")

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and m.weight is not None and (classname.find('Conv') != -1 or classname.find('Linear') != -1):
            if init_type == 'normal':
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == 'xavier':
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == 'kaiming':
                init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
            else:
                init.orthogonal_(m.weight.data, gain=init_gain)
            if hasattr(m, 'bias') and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find('BatchNorm2d') != -1 and m.weight is not None:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net


def init_net(net, init_type='normal', init_gain=0.02):
    """Initialise a network's weights. Device placement and parallel wrapping are BaseModel's job."""
    return init_weights(net, init_type, init_gain)


###############################################################################
# Generators
###############################################################################

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


from util.image_sizes import size_divisor  # noqa: E402,F401 (re-exported; data/ reads it from util)


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


###############################################################################
# Discriminators
###############################################################################

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


###############################################################################
# Losses
###############################################################################

GAN_MODE_ALIASES = {'vanilla': 'vanilla', 'original': 'vanilla', 'lsgan': 'lsgan', 'ls': 'lsgan',
                    'wgangp': 'wgangp', 'w': 'wgangp', 'hinge': 'hinge'}


def final_predictions(prediction):
    """Flatten a discriminator output into a list of prediction tensors (one per scale)."""
    if torch.is_tensor(prediction):
        return [prediction]
    predictions = []
    for item in prediction:
        predictions.append(item[-1] if isinstance(item, (list, tuple)) else item)
    return predictions


class GANLoss(nn.Module):
    """The adversarial objective, for both the discriminator and the generator.

    Modes (aliases in brackets, as named by SPADE):
      vanilla (original): non-saturating cross-entropy on logits;
      lsgan (ls): least squares towards 1 / 0;
      wgangp (w): Wasserstein critic, -mean(real) + mean(fake) (use with :func:`gradient_penalty` or clipping);
      hinge: D minimises mean(relu(1 - real)) + mean(relu(1 + fake)); G minimises -mean(fake).
    Losses are computed in fp32 whatever the autocast precision, and multiscale outputs are averaged.
    """

    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        if gan_mode not in GAN_MODE_ALIASES:
            raise ValueError(f"unknown --gan_mode '{gan_mode}'; choose one of {', '.join(GAN_MODE_ALIASES)}")
        self.gan_mode = GAN_MODE_ALIASES[gan_mode]
        self.register_buffer('real_label', torch.tensor(target_real_label), persistent=False)
        self.register_buffer('fake_label', torch.tensor(target_fake_label), persistent=False)

    def get_target_tensor(self, prediction, target_is_real):
        target = self.real_label if target_is_real else self.fake_label
        return target.to(prediction.device).expand_as(prediction)

    def _single(self, prediction, target_is_real, for_discriminator):
        prediction = prediction.float()
        if self.gan_mode == 'vanilla':
            return F.binary_cross_entropy_with_logits(prediction, self.get_target_tensor(prediction, target_is_real))
        if self.gan_mode == 'lsgan':
            return F.mse_loss(prediction, self.get_target_tensor(prediction, target_is_real))
        if self.gan_mode == 'wgangp':
            return -prediction.mean() if target_is_real else prediction.mean()
        # hinge
        if for_discriminator:
            if target_is_real:
                return F.relu(1.0 - prediction).mean()
            return F.relu(1.0 + prediction).mean()
        if not target_is_real:
            raise ValueError('the hinge generator loss is only defined for target_is_real=True')
        return -prediction.mean()

    def forward(self, prediction, target_is_real, for_discriminator=True):
        predictions = final_predictions(prediction)
        losses = [self._single(p, target_is_real, for_discriminator) for p in predictions]
        return sum(losses) / len(losses)


def feature_matching_loss(pred_fake, pred_real):
    """pix2pixHD feature matching: L1 between the discriminator's intermediate features on fake and real
    inputs, summed over layers and averaged over scales (real features are targets: no gradient to them).

    Needs a discriminator that returns features (``multiscale``, ``sesame``): lists ending with the prediction.
    """
    def scales(pred):
        if torch.is_tensor(pred) or not all(isinstance(p, (list, tuple)) for p in pred):
            raise ValueError('feature matching (--lambda_feat > 0) needs a discriminator that returns intermediate '
                             'features: use --netD multiscale or --netD sesame, or set --lambda_feat 0')
        return pred
    fake_scales, real_scales = scales(pred_fake), scales(pred_real)
    total = 0.0
    for fake_feats, real_feats in zip(fake_scales, real_scales):
        for fake, real in zip(fake_feats[:-1], real_feats[:-1]):
            total = total + F.l1_loss(fake.float(), real.detach().float())
    return total / len(fake_scales)


def gradient_penalty(netD, real_data, fake_data, constant=1.0, lambda_gp=10.0, type='mixed'):
    """WGAN-GP gradient penalty (Gulrajani et al.): lambda * E[(||grad D(x_hat)||_2 - constant)^2].

    ``type`` picks x_hat: 'real', 'fake' or 'mixed' (random interpolation). Returns a scalar tensor.
    """
    if lambda_gp <= 0.0:
        return torch.zeros((), device=real_data.device)
    if type == 'real':
        interpolates = real_data
    elif type == 'fake':
        interpolates = fake_data
    elif type == 'mixed':
        alpha = torch.rand(real_data.shape[0], 1, 1, 1, device=real_data.device)
        interpolates = alpha * real_data + (1 - alpha) * fake_data
    else:
        raise ValueError(f"gradient penalty type '{type}' is not one of real, fake, mixed")
    interpolates = interpolates.detach().requires_grad_(True)
    outputs = final_predictions(netD(interpolates))
    gradients = torch.autograd.grad(outputs=[o.float().sum() for o in outputs], inputs=interpolates,
                                    create_graph=True, retain_graph=True)[0]
    gradients = gradients.reshape(real_data.size(0), -1).float()
    return ((gradients.norm(2, dim=1) - constant) ** 2).mean() * lambda_gp


###############################################################################
# Schedulers and optimizers
###############################################################################

LR_POLICIES = ('linear', 'step', 'plateau', 'cosine')


def get_scheduler(optimizer, opt):
    """Learning-rate scheduler by --lr_policy.

    linear: constant for n_epochs, then linear decay to zero over n_epochs_decay (stepped once per epoch);
    step: x0.1 every lr_decay_iters epochs; plateau: x0.2 when the metric stalls; cosine: cosine to zero.
    """
    if opt.lr_policy == 'linear':
        def lambda_rule(epoch):
            return 1.0 - max(0, epoch + opt.epoch_count - opt.n_epochs) / float(opt.n_epochs_decay + 1)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    if opt.lr_policy == 'step':
        return lr_scheduler.StepLR(optimizer, step_size=opt.lr_decay_iters, gamma=0.1)
    if opt.lr_policy == 'plateau':
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.2, threshold=0.01, patience=5)
    if opt.lr_policy == 'cosine':
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt.n_epochs + opt.n_epochs_decay, eta_min=0)
    raise ValueError(f"learning rate policy '{opt.lr_policy}' is not implemented; choose one of {', '.join(LR_POLICIES)}")


def _torch_optimizers():
    names = {}
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer:
            names[name.lower()] = obj
    return names


def _torch_optimizer_package():
    try:
        import torch_optimizer
    except ImportError:
        return {}
    return {name: cls for name, cls in torch_optimizer._NAME_OPTIM_MAP.items() if name != 'lookahead'}


def optimizer_names():
    """Every name accepted by --optimizer: torch.optim first, then the extra ones of torch-optimizer."""
    extra = _torch_optimizer_package()
    names = dict(extra)
    names.update(_torch_optimizers())
    return sorted(names) + sorted(f'torch_optimizer.{name}' for name in extra)


def get_optimizer_class(name):
    """Resolve an --optimizer name; torch.optim wins where both packages define one (e.g. radam).

    ``torch_optimizer.<name>`` (e.g. ``torch_optimizer.radam``) always picks the torch-optimizer class.
    """
    key = name.lower()
    if key.startswith('torch_optimizer.'):
        extra = _torch_optimizer_package()
        if not extra:
            raise ImportError(f"--optimizer {name} needs the torch-optimizer package: pip install torch-optimizer")
        if key.split('.', 1)[1] not in extra:
            raise ValueError(f"unknown --optimizer '{name}'; torch-optimizer has {', '.join(sorted(extra))}")
        return extra[key.split('.', 1)[1]]
    torch_names = _torch_optimizers()
    if key in torch_names:
        return torch_names[key]
    extra = _torch_optimizer_package()
    if key in extra:
        return extra[key]
    raise ValueError(f"unknown --optimizer '{name}'; choose one of {', '.join(optimizer_names())}")


def make_optimizer(params, name='adam', lr=2e-4, beta1=0.5, beta2=0.999, weight_decay=0.0, lookahead=False,
                   fused=False):
    """Build the optimizer named by --optimizer; betas are passed to every optimizer that takes them.

    ``fused`` (--fused_optimizer) selects the single-kernel implementation where the optimizer has one.
    """
    cls = get_optimizer_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {'lr': lr}
    if 'betas' in accepted:
        kwargs['betas'] = (beta1, beta2)
    if 'weight_decay' in accepted:
        kwargs['weight_decay'] = weight_decay
    if fused and 'fused' in accepted:
        kwargs['fused'] = True
    optimizer = cls(params, **kwargs)
    if lookahead:
        import torch_optimizer
        optimizer = torch_optimizer.Lookahead(optimizer)
    return optimizer
