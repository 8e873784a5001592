"""Inverting images into BlobGAN: encoder estimate of the layout-MLP latent, then optimisation.

Stage 1 optimises the latent at layer ``mlp_idx`` (starting from the encoder output, or the mean latent);
stage 2 optimises the blob parameters themselves (the result OCTET stores as ``blob_optim``).
Loss: pixel L1 (+ VGG perceptual loss when a ``VGGPerceptualLoss`` is given).
"""
import torch
import torch.nn.functional as F

from .layout import LAYOUT_KEYS, clone_layout


@torch.no_grad()
def mean_latent(generator, mlp_idx=-1, n=1024, seed=0):
    """Average layout-MLP activation at ``mlp_idx`` over ``n`` noise samples (encoder-free start point)."""
    gen = torch.Generator().manual_seed(seed)
    z = generator.sample_noise(n, generator=gen)
    return generator.layout_net.latent(z, mlp_idx).mean(0, keepdim=True)


def reconstruction_loss(recon, target, perceptual=None, lambda_l1=1.0, lambda_perc=1.0):
    """Per-batch reconstruction loss: lambda_l1 * L1 + lambda_perc * VGG perceptual (if given)."""
    loss = lambda_l1 * F.l1_loss(recon, target)
    if perceptual is not None and lambda_perc > 0:
        loss = loss + lambda_perc * perceptual(recon, target)
    return loss


def invert(generator, images, latent_init=None, mlp_idx=-1, n_iter_latent=100, n_iter_blobs=0, lr_latent=0.01,
           lr_blobs=0.01, perceptual=None, lambda_l1=1.0, lambda_perc=1.0, blob_keys=LAYOUT_KEYS, callback=None):
    """Optimisation-based inversion of ``images`` (N,3,H,W in [-1,1]).

    Returns dict: 'latent' (N, D), 'layout' (optimised blob dict), 'recon' (images), 'history' (loss per step).
    The generator is used with fixed noise and is not modified.
    """
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    if latent_init is None:
        latent_init = mean_latent(generator, mlp_idx).to(images.device).expand(images.shape[0], -1)
    latent = latent_init.detach().clone().requires_grad_(True)
    history = []

    def fit(params, lr, n_iter, render, stage):
        optimizer = torch.optim.Adam(params, lr=lr)
        for step in range(n_iter):
            loss = reconstruction_loss(render(), images, perceptual, lambda_l1, lambda_perc)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
            if callback:
                callback(stage, step, loss.item())

    fit([latent], lr_latent, n_iter_latent, lambda: generator.from_latent(latent, mlp_idx, noise_mode='const'),
        'latent')
    with torch.no_grad():
        layout = generator.layout_net.forward_from(latent.detach(), mlp_idx)
    layout = clone_layout(layout)
    params = [layout[k].requires_grad_(True) for k in blob_keys]
    fit(params, lr_blobs, n_iter_blobs, lambda: generator.render(layout, noise_mode='const'), 'blobs')
    layout = clone_layout(layout)
    with torch.no_grad():
        recon = generator.render(layout, noise_mode='const')
    return {'latent': latent.detach(), 'layout': layout, 'recon': recon, 'history': history}
