"""Inverting images into BlobGAN blobs as OCTET does (BlobGANEX blobex_inv_cf.py, ``inv_optim``).

The encoder predicts the layout-MLP activation at ``mlp_idx`` (-1); its layout q0 is the start point; then the blob
parameters themselves are optimised (Adam, lr 0.02, sizes 0.04, StepLR(100, 0.5), 400 steps) for

    L = sum_images [ LPIPS(G(q), x) + 0.1 * mean (G(q) - x)^2 + 0.1 * sum_keys MSE(q_key, q0_key) ]

(the decision-feature term is computed but not used by the published script: ``lambda_decision`` defaults to 0).
An optional first stage optimises the latent itself (``n_iter_latent``; 0 as published).
"""
import torch
import torch.nn.functional as F

from models.blobgan.layout import LAYOUT_KEYS, clone_layout

PUBLISHED_INV = dict(n_iter=400, lr=0.02, lr_sizes=0.04, step_size=100, gamma=0.5, lambda_lpips=1.0,
                     lambda_mse=0.1, lambda_prox=0.1, lambda_decision=0.0)


@torch.no_grad()
def mean_latent(generator, mlp_idx=-1, n=1024, seed=0):
    """Average layout-MLP activation at ``mlp_idx`` over ``n`` noise samples (encoder-free start point)."""
    gen = torch.Generator().manual_seed(seed)
    z = generator.sample_noise(n, generator=gen)
    return generator.layout_net.latent(z, mlp_idx).mean(0, keepdim=True)


def reconstruction_terms(recon, target, lpips=None, decision=None, target_feats=None):
    """Per-image terms: 'mse' (B,), 'lpips' (B,) when an LPIPSLoss is given, 'decision' (B,) with a decision model
    that has features (mean squared difference of its features to ``target_feats``)."""
    out = {'mse': (recon - target).pow(2).flatten(1).mean(1)}
    if lpips is not None:
        out['lpips'] = lpips(recon, target)
    if decision is not None and target_feats is not None:
        out['decision'] = (decision.features(recon) - target_feats).pow(2).flatten(1).mean(1)
    return out


def layout_proximity(layout, ref, keys=LAYOUT_KEYS):
    """sum over keys of mean squared difference (published inversion proximity)."""
    return sum(F.mse_loss(layout[k], ref[k]) for k in keys)


def invert(generator, images, latent_init=None, mlp_idx=-1, n_iter_latent=0, n_iter_blobs=400, lr_latent=0.01,
           lr_blobs=0.02, lr_sizes=0.04, step_size=100, gamma=0.5, lpips=None, decision=None, lambda_lpips=1.0,
           lambda_mse=0.1, lambda_prox=0.1, lambda_decision=0.0, blob_keys=LAYOUT_KEYS, callback=None):
    """Optimisation-based inversion of ``images`` (N,3,H,W in [-1,1]).

    Returns dict: 'latent' (N, D), 'layout' (optimised blob dict), 'recon' (images), 'history' (loss per step),
    'lpips' (per-image LPIPS of the result when an LPIPS loss is given). The generator is not modified.
    """
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    if latent_init is None:
        latent_init = mean_latent(generator, mlp_idx).to(images.device).expand(images.shape[0], -1)
    latent = latent_init.detach().clone().requires_grad_(True)
    history = []
    target_feats = None
    if decision is not None and lambda_decision > 0:
        with torch.no_grad():
            target_feats = decision.features(images)

    def loss_of(recon, prox):
        t = reconstruction_terms(recon, images, lpips, decision if lambda_decision > 0 else None, target_feats)
        loss = lambda_mse * t['mse'] + lambda_prox * prox
        if 'lpips' in t:
            loss = loss + lambda_lpips * t['lpips']
        if 'decision' in t:
            loss = loss + lambda_decision * t['decision']
        return loss.sum()

    if n_iter_latent > 0:
        optimizer = torch.optim.Adam([latent], lr=lr_latent)
        for step in range(n_iter_latent):
            loss = loss_of(generator.from_latent(latent, mlp_idx, noise_mode='const'), 0.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
            if callback:
                callback('latent', step, loss.item())
    with torch.no_grad():
        start = clone_layout(generator.layout_net.forward_from(latent.detach(), mlp_idx))
    layout = clone_layout(start)
    groups = [{'params': [layout[k].requires_grad_(True)], 'lr': lr_sizes if k == 'sizes' else lr_blobs}
              for k in blob_keys]
    if n_iter_blobs > 0:
        optimizer = torch.optim.Adam(groups, lr=lr_blobs)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
        for step in range(n_iter_blobs):
            recon = generator.render(layout, noise_mode='const')
            loss = loss_of(recon, layout_proximity(layout, start))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            history.append(loss.item())
            if callback:
                callback('blobs', step, loss.item())
    layout = clone_layout(layout)
    with torch.no_grad():
        recon = generator.render(layout, noise_mode='const')
        final_lpips = lpips(recon, images).cpu() if lpips is not None else None
    return {'latent': latent.detach(), 'layout': layout, 'recon': recon, 'history': history, 'lpips': final_lpips}
