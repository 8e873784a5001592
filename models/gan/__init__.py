"""Unconditional GANs (--model gan, after Ganzo): fc, DCGAN, Ganzo's conv and good, and ResNet (WGAN-GP)
generators and discriminators, latent noise, turn hooks, and the label tricks of the GAN loss. Components live in name tables that plugins
extend (see :mod:`models.gan.registry`)."""
from .registry import (DISCRIMINATORS, GENERATORS, HOOKS, NOISES, register_discriminator, register_generator,
                       register_hook, register_noise)
from . import hooks, noise  # noqa: F401  (register weight_clipper, gaussian and uniform)
from .architectures import (AUTO_NORM_D, DEFAULT_LAYERS, FIXED_DEPTH, NO_DROPOUT, ZOO_INIT, DCGANDiscriminator,
                            DCGANGenerator, FCDiscriminator, FCGenerator, GanzoConvDiscriminator, GanzoConvGenerator,
                            GanzoGoodDiscriminator, GanzoGoodGenerator, ResnetDiscriminator, ResnetGenerator,
                            check_good_size, check_image_size)
from .losses import LabelTrickGANLoss, TARGET_MODES

__all__ = ['DISCRIMINATORS', 'GENERATORS', 'HOOKS', 'NOISES', 'register_discriminator', 'register_generator',
           'register_hook', 'register_noise', 'AUTO_NORM_D', 'DEFAULT_LAYERS', 'FIXED_DEPTH', 'NO_DROPOUT',
           'ZOO_INIT', 'DCGANDiscriminator', 'DCGANGenerator', 'FCDiscriminator', 'FCGenerator',
           'GanzoConvDiscriminator', 'GanzoConvGenerator', 'GanzoGoodDiscriminator', 'GanzoGoodGenerator',
           'ResnetDiscriminator', 'ResnetGenerator', 'check_good_size', 'check_image_size', 'LabelTrickGANLoss',
           'TARGET_MODES']
