"""GAN losses used by BlobGAN: non-saturating logistic loss and the (lazy) R1 penalty."""
import torch
import torch.nn.functional as F


def d_logistic_loss(real_logits, fake_logits):
    """Discriminator logistic loss: softplus(D(fake)) + softplus(-D(real))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def g_nonsaturating_loss(fake_logits):
    """Non-saturating generator loss: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits, real_images):
    """Mean squared gradient norm of D at the real images (real_images must require grad)."""
    grad, = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()
