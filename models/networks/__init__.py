"""Networks shared by every model, one file per concern:

blocks.py           Identity, normalisation layers (get_norm_layer, uses_bias) and weight initialisation (init_net)
generators.py       ResNet and U-Net generators (define_G, size_divisor, split_resnet_generator)
discriminators.py   PatchGAN, pixel, multiscale and SESAME discriminators (define_D, register_discriminator)
objectives.py       the --gan_mode table (OBJECTIVES, register_objective): names, aliases, criteria, defaults
losses.py           GANLoss, feature matching, gradient penalty, discriminator_loss (the one D loss with WGAN-GP)
schedulers.py       learning-rate schedulers (get_scheduler)
optimizers.py       optimizers (make_optimizer, optimizer_names)

``from models import networks; networks.define_G(...)`` keeps working: every public name is re-exported here.
"""
from models.networks.blocks import (INIT_TYPES, NORM_TYPES, get_norm_layer, Identity, init_net,  # noqa: F401
                                    init_weights, uses_bias)
from models.networks.generators import (GENERATOR_PATTERN, define_G, generator_names, ResnetBlock,  # noqa: F401
                                        ResnetGenerator, size_divisor, split_resnet_generator, UnetGenerator,
                                        UnetSkipConnectionBlock)
from models.networks.discriminators import (DISCRIMINATOR_DEFAULTS, DISCRIMINATORS, define_D,  # noqa: F401
                                            discriminator_defaults, downsample_for_next_scale,
                                            FeaturePatchDiscriminator, MultiscaleDiscriminator, NLayerDiscriminator,
                                            PixelDiscriminator, register_discriminator, SESAME_NORMS,
                                            SesameDiscriminator, SesameScale, SesameStream)
from models.networks.losses import (discriminator_loss, feature_matching_loss,  # noqa: F401
                                    final_predictions, GANLoss, gradient_penalty, input_gradients, wgan_gp_term)
from models.networks.schedulers import (LR_POLICIES, get_scheduler)  # noqa: F401
from models.networks.optimizers import (get_optimizer_class, make_optimizer, optimizer_names)  # noqa: F401
