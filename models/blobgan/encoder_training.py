"""Training loops for the inversion encoder (image -> layout-MLP latent at layer mlp_idx).

Pretraining uses generated images only, where the true latent is known (latent MSE + reconstruction);
fine-tuning mixes generated batches with real images (reconstruction only, as real latents are unknown).
"""
import torch
import torch.nn.functional as F

from .inversion import reconstruction_loss


def generated_batch(generator, n, mlp_idx, device):
    """Fresh samples: (images, their latents at mlp_idx)."""
    with torch.no_grad():
        z = generator.sample_noise(n, device=device)
        h = generator.layout_net.latent(z, mlp_idx)
        img = generator.from_latent(h, mlp_idx, noise_mode='const')
    return img, h


def encoder_step(encoder, generator, optimizer, mlp_idx, gen_images=None, gen_latents=None, real_images=None,
                 lambda_latent=1.0, lambda_l1=1.0, lambda_perc=0.0, perceptual=None):
    """One optimisation step; returns a dict of float losses."""
    losses = {}
    total = 0.0
    if gen_images is not None:
        pred = encoder(gen_images)
        losses['latent'] = F.mse_loss(pred, gen_latents)
        recon = generator.from_latent(pred, mlp_idx, noise_mode='const')
        losses['gen_rec'] = reconstruction_loss(recon, gen_images, perceptual, lambda_l1, lambda_perc)
        total = total + lambda_latent * losses['latent'] + losses['gen_rec']
    if real_images is not None:
        recon = generator.from_latent(encoder(real_images), mlp_idx, noise_mode='const')
        losses['real_rec'] = reconstruction_loss(recon, real_images, perceptual, lambda_l1, lambda_perc)
        total = total + losses['real_rec']
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {k: float(v.detach()) for k, v in losses.items()}


def freeze(generator):
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    return generator
