"""The LiSS generator (a CycleGAN ResNet generator split into a shared encoder, its translation decoder and
auxiliary heads) and the SSGAN-style rotation-predicting discriminator wrapper."""
import torch
import torch.nn as nn

from models import networks


def split_at_block(resnet, n_encoder_blocks=None):
    """(encoder, decoder) slices of a ResnetGenerator, cut after its ``n_encoder_blocks``-th residual block
    (None: after the last one, so the decoder only upsamples). Slices keep the generator's child indices, so
    ``encoder.N.*`` / ``decoder.N.*`` map back to ``model.N.*``."""
    if n_encoder_blocks is None:
        return networks.split_resnet_generator(resnet)
    layers = list(resnet.model)
    blocks = [i for i, layer in enumerate(layers) if isinstance(layer, networks.ResnetBlock)]
    if not 0 < n_encoder_blocks <= len(blocks):
        raise ValueError(f'cannot put {n_encoder_blocks} of {len(blocks)} residual blocks in the encoder')
    cut = blocks[n_encoder_blocks - 1] + 1
    return resnet.model[:cut], resnet.model[cut:]


class LissGenerator(nn.Module):
    """``encoder`` + ``decoder`` (translation head) + ``heads[task]``.

    ``forward`` is the translation, ``decoder(encoder(x))``, which is exactly the ResnetGenerator it was split
    from (--netG liss: resnet_6blocks with 3 blocks on each side, as published); :meth:`translation_state_dict`
    gives that generator's weights under CycleGAN's key names.
    """

    def __init__(self, resnet, heads=None, n_encoder_blocks=None):
        super().__init__()
        self.encoder, self.decoder = split_at_block(resnet, n_encoder_blocks)
        self.heads = nn.ModuleDict(heads or {})

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def translation_state_dict(self):
        """encoder.N.* / decoder.N.* -> model.N.*: loadable by a ResnetGenerator (cycle_gan / test models)."""
        state = {}
        for part in ('encoder', 'decoder'):
            for key, value in getattr(self, part).state_dict().items():
                state['model.' + key] = value
        return state

    def load_translation_state_dict(self, state_dict):
        """Load CycleGAN ResnetGenerator weights (model.N.*) into the encoder and decoder."""
        enc, dec = {}, {}
        for key, value in state_dict.items():
            if not key.startswith('model.'):
                raise ValueError(f"'{key}' is not a ResnetGenerator weight (expected model.<n>.*)")
            rest = key[len('model.'):]
            (enc if rest.split('.', 1)[0] in self.encoder._modules else dec)[rest] = value
        self.encoder.load_state_dict(enc)
        self.decoder.load_state_dict(dec)


ROTATION_CLASSES = 5  # 0/90/180/270 degrees of a real image, and 4: a generated image


class RotationDiscriminator(nn.Module):
    """Wraps a PatchGAN so that its trunk also classifies rotations (Chen et al., SSGAN), as published.

    ``forward`` is the unchanged real/fake prediction; :meth:`rotation_logits` gives 5 logits (four
    rotations of a real image, and 'generated') from the trunk's features before the last convolution:
    a 4x4 conv to one channel, norm, leaky ReLU, then a linear layer on the flattened map (30x30 at 256 px).
    """

    def __init__(self, netD, input_nc, image_size, norm_layer):
        super().__init__()
        body = getattr(netD, 'model', None)
        if body is None:
            body = getattr(netD, 'net', None)
        if not isinstance(body, nn.Sequential) or not isinstance(body[-1], nn.Conv2d):
            raise ValueError(f'--D_rotation needs a single-scale PatchGAN discriminator (--netD basic, n_layers '
                             f'or pixel), not {type(netD).__name__}')
        self.netD = netD
        last = body[-1]
        conv = nn.Conv2d(last.in_channels, 1, kernel_size=last.kernel_size, stride=last.stride,
                         padding=last.padding)
        with torch.no_grad():  # the map size at --crop_size sets the linear layer's width
            side = conv(body[:-1](torch.zeros(1, input_nc, image_size, image_size))).shape[-1]
        self.rotation_head = nn.Sequential(conv, norm_layer(1), nn.LeakyReLU(0.2, True), nn.Flatten(),
                                           nn.Linear(side * side, ROTATION_CLASSES))

    def _body(self):
        return self.netD.model if hasattr(self.netD, 'model') else self.netD.net

    def forward(self, x):
        return self.netD(x)

    def rotation_logits(self, x):
        return self.rotation_head(self._body()[:-1](x))
