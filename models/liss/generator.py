"""The LiSS generator (a CycleGAN ResNet generator split into a shared encoder, its translation decoder and
auxiliary heads) and the SSGAN-style rotation-predicting discriminator wrapper."""
import torch.nn as nn

from models import networks


class LissGenerator(nn.Module):
    """``encoder`` (up to the residual blocks) + ``decoder`` (translation head) + ``heads[task]``.

    ``forward`` is the translation, ``decoder(encoder(x))``, which is exactly the ResnetGenerator it was split
    from; :meth:`translation_state_dict` gives that generator's weights under CycleGAN's key names.
    """

    def __init__(self, resnet, heads=None):
        super().__init__()
        self.encoder, self.decoder = networks.split_resnet_generator(resnet)
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


class RotationDiscriminator(nn.Module):
    """Wraps a PatchGAN so that its trunk also predicts the rotation of its input (Chen et al., SSGAN).

    ``forward`` is the unchanged real/fake prediction; :meth:`rotation_logits` adds a 4-way classifier on the
    features before the last convolution.
    """

    def __init__(self, netD):
        super().__init__()
        body = getattr(netD, 'model', None)
        if body is None:
            body = getattr(netD, 'net', None)
        if not isinstance(body, nn.Sequential) or not isinstance(body[-1], nn.Conv2d):
            raise ValueError(f'--D_rotation needs a single-scale PatchGAN discriminator (--netD basic, n_layers '
                             f'or pixel), not {type(netD).__name__}')
        self.netD = netD
        channels = body[-1].in_channels
        self.rotation_head = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(channels * 4, 4))

    def _body(self):
        return self.netD.model if hasattr(self.netD, 'model') else self.netD.net

    def forward(self, x):
        return self.netD(x)

    def rotation_logits(self, x):
        return self.rotation_head(self._body()[:-1](x))
