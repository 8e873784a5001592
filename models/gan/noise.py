"""Latent noise of the unconditional GANs (Ganzo's ``noise`` module, its ``state-size`` being --nz)."""
import torch

from .registry import register_noise


def _draw(fn, shape, generator, device):
    """Draw on the CPU from a private generator (reproducible fixed noise), else on ``device`` from the global
    RNG (whose state is part of the training checkpoint)."""
    if generator is not None:
        return fn(shape, generator=generator).to(device)
    return fn(shape, device=device)


@register_noise('gaussian')
def gaussian_noise(n, nz, generator=None, device='cpu', truncation=0.0):
    """N(0, I) latents; with ``truncation`` t > 0 every coordinate beyond +-t is redrawn (truncation trick)."""
    z = _draw(torch.randn, (n, nz), generator, device)
    if truncation and truncation > 0:
        outside = z.abs() > truncation
        while bool(outside.any()):
            fresh = _draw(torch.randn, (n, nz), generator, device)
            z = torch.where(outside, fresh, z)
            outside = z.abs() > truncation
    return z


@register_noise('uniform')
def uniform_noise(n, nz, generator=None, device='cpu', truncation=0.0):
    """U(-1, 1) latents (``truncation`` does not apply)."""
    return _draw(torch.rand, (n, nz), generator, device) * 2.0 - 1.0
