"""GAN losses used by BlobGAN: non-saturating logistic loss and the (lazy) R1 penalty."""
import torch.nn.functional as F

from models.networks.losses import input_gradients


def d_logistic_loss(real_logits, fake_logits):
    """Discriminator logistic loss: softplus(D(fake)) + softplus(-D(real))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def g_nonsaturating_loss(fake_logits):
    """Non-saturating generator loss: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits, real_images):
    """Mean squared gradient norm of D at the real images (real_images must require grad).

    The gradient is the one WGAN-GP uses too (networks.input_gradients); R1 penalises its squared norm at the
    real images, WGAN-GP the distance of its norm to 1 at interpolates.
    """
    return input_gradients(real_logits, real_images).pow(2).sum(1).mean()
