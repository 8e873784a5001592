"""Unconditional GANs (--model gan, after Ganzo): fc, DCGAN and ResNet (WGAN-GP) generators and discriminators,
latent noise, and the label tricks of the discriminator loss. Components live in name tables that plugins
extend (see :mod:`models.gan.registry`)."""
from .registry import (DISCRIMINATORS, GENERATORS, NOISES, register_discriminator, register_generator,
                       register_noise)
from . import noise  # noqa: F401  (registers gaussian and uniform)
from .architectures import (DEFAULT_LAYERS, ZOO_INIT, DCGANDiscriminator, DCGANGenerator, FCDiscriminator,
                            FCGenerator, ResnetDiscriminator, ResnetGenerator, check_image_size)
from .losses import LabelTrickGANLoss, TARGET_MODES

__all__ = ['DISCRIMINATORS', 'GENERATORS', 'NOISES', 'register_discriminator', 'register_generator',
           'register_noise', 'DEFAULT_LAYERS', 'ZOO_INIT', 'DCGANDiscriminator', 'DCGANGenerator',
           'FCDiscriminator', 'FCGenerator', 'ResnetDiscriminator', 'ResnetGenerator', 'check_image_size',
           'LabelTrickGANLoss', 'TARGET_MODES']
