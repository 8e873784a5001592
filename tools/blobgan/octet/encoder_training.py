"""Training the inversion encoder (image -> layout-MLP activation at ``mlp_idx``) as BlobGANEX does.

Pretraining (pretrain_encoder.py): generated images only, loss = MSE(predicted latent, true latent); Adam lr 0.005,
StepLR(2500, 0.5), batch 8, 150k iterations.
Training (train_encoder.py, weights from configs/experiment/invertblobgan_rect.yaml): per step a generated batch and a
real batch (batch 2; Adam lr 0.002, StepLR(5000, 0.5)):

    fake: 1 * MSE(image) + 1 * LPIPS + 0.1 * decision-feature MSE + 10 * mean over the 6 blob keys of MSE(blobs)
    real: 0.1 * MSE(image) + 1 * LPIPS + 0.05 * decision-feature MSE

Decision features are the DenseNet trunk's (``DecisionWrapper.features``) on [-1, 1] images.
"""
import torch
import torch.nn.functional as F

from models.blobgan.layout import LAYOUT_KEYS

PUBLISHED_PRETRAIN = dict(lr=0.005, step_size=2500, gamma=0.5, batch_size=8, n_iters=150000)
PUBLISHED_TRAIN = dict(lr=0.002, step_size=5000, gamma=0.5, batch_size=2, n_iters=150000)
PUBLISHED_TRAIN_LAMBDAS = dict(fake_MSE=1.0, fake_LPIPS=1.0, fake_decision=0.1, fake_latents_MSE=10.0,
                               real_MSE=0.1, real_LPIPS=1.0, real_decision=0.05)


def generated_batch(generator, n, mlp_idx, device):
    """Fresh samples: (images, their latents at mlp_idx, their layouts)."""
    with torch.no_grad():
        z = generator.sample_noise(n, device=device)
        h = generator.layout_net.latent(z, mlp_idx)
        img, layout = generator.from_latent(h, mlp_idx, noise_mode='const', return_layout=True)
    return img, h, layout


def pretrain_step(encoder, generator, optimizer, mlp_idx, gen_images, gen_latents):
    """Published pretraining: latent MSE only."""
    loss = F.mse_loss(encoder(gen_images), gen_latents)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {'latent': float(loss.detach())}


def train_step(encoder, generator, optimizer, mlp_idx, gen_images, gen_layout, real_images, lambdas, lpips=None,
               decision=None):
    """Published encoder training step; terms whose weight is 0 (or whose model is absent) are skipped."""
    lam = dict(PUBLISHED_TRAIN_LAMBDAS, **(lambdas or {}))
    losses = {}

    def image_terms(prefix, recon, target):
        losses[f'{prefix}_MSE'] = (target - recon).pow(2).mean()
        if lpips is not None and lam[f'{prefix}_LPIPS'] > 0:
            losses[f'{prefix}_LPIPS'] = lpips(recon, target).mean()
        if decision is not None and lam[f'{prefix}_decision'] > 0:
            with torch.no_grad():
                ref = decision.features(target)
            losses[f'{prefix}_decision'] = (decision.features(recon) - ref).pow(2).mean()

    recon, layout = generator.from_latent(encoder(gen_images), mlp_idx, noise_mode='const', return_layout=True)
    image_terms('fake', recon, gen_images)
    losses['fake_latents_MSE'] = sum(F.mse_loss(layout[k], gen_layout[k]) for k in LAYOUT_KEYS) / len(LAYOUT_KEYS)
    if real_images is not None:
        image_terms('real', generator.from_latent(encoder(real_images), mlp_idx, noise_mode='const'), real_images)
    total = sum(lam[k] * v for k, v in losses.items())
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    out = {k: float(v.detach()) for k, v in losses.items()}
    out['total'] = float(total.detach())
    return out


def freeze(generator):
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    return generator
