"""Training the inversion encoder (image -> layout-MLP activation at ``mlp_idx``) as BlobGANEX does.

Pretraining (pretrain_encoder.py): generated images only, loss = MSE(predicted latent, true latent); Adam lr 0.005,
StepLR(2500, 0.5), batch 8, 150k iterations.
Training (train_encoder.py, weights from configs/experiment/invertblobgan_rect.yaml): per step a generated batch and a
real batch (batch 2; Adam lr 0.002, StepLR(5000, 0.5)):

    fake: 1 * MSE(image) + 1 * LPIPS + 0.1 * decision-feature MSE + 10 * mean over the 6 blob keys of MSE(blobs)
    real: 0.1 * MSE(image) + 1 * LPIPS + 0.05 * decision-feature MSE

Decision features are the DenseNet trunk's (``DecisionWrapper.features``) on [-1, 1] images.

Published rendering (``published_render``): both scripts render every image with fresh per-layer noise and the
generator's training jitter (they pass ``no_jiter``, a keyword the generator ignores). Published blob MSE
(``published_blob_mse``): the layout metadata they compare holds the jittered centres and the processed 2x2
covariances, built from covariances the layout network detaches, so that term sends no gradient.
"""
import torch
import torch.nn.functional as F

from models.blobgan.layout import LAYOUT_KEYS

PUBLISHED_PRETRAIN = dict(lr=0.005, step_size=2500, gamma=0.5, batch_size=8, n_iters=150000)
PUBLISHED_TRAIN = dict(lr=0.002, step_size=5000, gamma=0.5, batch_size=2, n_iters=150000)
PUBLISHED_TRAIN_LAMBDAS = dict(fake_MSE=1.0, fake_LPIPS=1.0, fake_decision=0.1, fake_latents_MSE=10.0,
                               real_MSE=0.1, real_LPIPS=1.0, real_decision=0.05)


def render_latent(generator, latent, mlp_idx, published=True):
    """(image, layout, placed blobs) from a layout-MLP activation: published = fresh noise + the generator's jitter;
    otherwise constant noise, no jitter."""
    layout = generator.layout_net.forward_from(latent, mlp_idx)
    img, placed = generator.render(layout, 'random' if published else 'const', jitter=published, return_placed=True)
    return img, layout, placed


def generated_batch(generator, n, mlp_idx, device, published_render=True):
    """Fresh samples: (images, their latents at mlp_idx, their layouts, their placed blobs)."""
    with torch.no_grad():
        z = generator.sample_noise(n, device=device)
        h = generator.layout_net.latent(z, mlp_idx)
        img, layout, placed = render_latent(generator, h, mlp_idx, published_render)
    return img, h, layout, placed


def blob_values(layout, placed, published=True):
    """The blob values the encoder's blob MSE compares: published, the placed (jittered) xs/ys and the 2x2
    covariances without gradient; otherwise the raw layout (4-d shape values, with gradient)."""
    values = {k: layout[k] for k in LAYOUT_KEYS}
    if published:
        values.update(xs=placed['xs'], ys=placed['ys'], covs=placed['covs'].detach())
    return values


def blob_mse(pred, target):
    """Mean over the 6 blob keys of the MSE (published ``fake_latents_MSE``)."""
    return sum(F.mse_loss(pred[k], target[k].detach()) for k in LAYOUT_KEYS) / len(LAYOUT_KEYS)


def pretrain_step(encoder, generator, optimizer, mlp_idx, gen_images, gen_latents):
    """Published pretraining: latent MSE only."""
    loss = F.mse_loss(encoder(gen_images), gen_latents)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {'latent': float(loss.detach())}


def train_step(encoder, generator, optimizer, mlp_idx, gen_images, gen_blobs, real_images, lambdas, lpips=None,
               decision=None, published_render=True, published_blob_mse=True):
    """Published encoder training step; terms whose weight is 0 (or whose model is absent) are skipped.
    ``gen_blobs``: ``blob_values`` of the generated batch (same ``published_blob_mse``)."""
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

    recon, layout, placed = render_latent(generator, encoder(gen_images), mlp_idx, published_render)
    image_terms('fake', recon, gen_images)
    losses['fake_latents_MSE'] = blob_mse(blob_values(layout, placed, published_blob_mse), gen_blobs)
    if real_images is not None:
        image_terms('real', render_latent(generator, encoder(real_images), mlp_idx, published_render)[0], real_images)
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
