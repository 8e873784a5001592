"""Differentiable blob splatting as the published BlobGAN does it (pure PyTorch).

Blob k has centre (x_k, y_k) in [0, 1], raw shape parameters ``covs`` (B, K, 4) = (a', b', u, v) and size s_k:

    a, b = sigmoid(a'), sigmoid(b');  n = ab_norm / sqrt(a b)          (fixed area, ab_norm = 0.02)
    R = [e, e_perp],  e = (u, v) / |(u, v)|,  e_perp = (-v, u)
    Sigma_k = R diag(a n, b n) R^T + 1e-5 I
    o_k(p) = sigmoid(s_k - (p - mu_k)^T Sigma_k^-1 (p - mu_k))

on a square grid of ``score_size`` x ``score_size`` points p = (j, i) / score_size. The background has opacity 1
and blobs are composited in order (later blobs in front):  alpha_k = o_k * prod_{j>k} (1 - o_j). The alphas are
then bilinearly halved down to ``size_in`` (a pyramid); on 2:1 images every level is stretched to the image
shape with nearest-neighbour interpolation (BlobGANEX: blobs are splatted on a square grid, then stretched).

Training-time *jitter* (published ``feature_jitter_xy/shift/angle``) perturbs centres, sizes and orientations.
"""
import torch
import torch.nn.functional as F


def shape_covariances(covs, ab_norm=0.02, jitter_angle=0.0):
    """Raw (B, K, 4) shape parameters -> covariance matrices (B, K, 2, 2)."""
    a, b = torch.sigmoid(covs[..., :2]).unbind(-1)
    norm = ab_norm * torch.rsqrt(a * b) if ab_norm else torch.ones_like(a)
    e = F.normalize(covs[..., 2:], p=2, dim=-1)
    if jitter_angle:
        with torch.no_grad():  # published: the jitter is a constant offset of the basis vector
            theta = torch.arccos(e[..., 0].clamp(-1, 1))
            theta = theta + torch.empty_like(theta).uniform_(-jitter_angle, jitter_angle)
            offset = torch.stack((torch.cos(theta), -torch.sin(theta)), -1) - e
        e = e + offset
    e_perp = torch.stack((-e[..., 1], e[..., 0]), -1)
    rot = torch.stack((e, e_perp), -1)  # columns e, e_perp
    diag = torch.diag_embed(torch.stack((a * norm, b * norm), -1))
    sigma = rot @ diag @ rot.transpose(-1, -2)
    return sigma + 1e-5 * torch.eye(2, device=covs.device, dtype=covs.dtype)


def placed_blobs(layout, ab_norm=0.02, jitter=None):
    """What splatting places: {'xs', 'ys' (B, K), 'covs' (B, K, 2, 2), 'sizes' (B, K, foreground)}, with the training
    jitter (dict of xy/shift/angle, or None) drawn in the published order: xs, ys, angle, shift."""
    jitter = jitter or {}
    xs, ys, sizes = layout['xs'], layout['ys'], layout['sizes'][:, 1:]
    if jitter.get('xy'):
        xs = xs + torch.empty_like(xs).uniform_(-jitter['xy'], jitter['xy'])
        ys = ys + torch.empty_like(ys).uniform_(-jitter['xy'], jitter['xy'])
    sigma = shape_covariances(layout['covs'], ab_norm, jitter.get('angle', 0.0))
    if jitter.get('shift'):
        sizes = sizes + torch.empty_like(sizes).uniform_(-jitter['shift'], jitter['shift'])
    return {'xs': xs, 'ys': ys, 'covs': sigma, 'sizes': sizes}


def placed_opacities(placed, score_size):
    """Per-blob opacity (B, K, S, S) on the square score grid of blobs placed by ``placed_blobs``."""
    xs, ys, sigma = placed['xs'], placed['ys'], placed['covs']
    grid = torch.arange(score_size, device=xs.device, dtype=xs.dtype) / score_size
    dx = grid.view(1, 1, 1, -1) - xs[..., None, None]  # (B, K, 1, S): x varies along the width
    dy = grid.view(1, 1, -1, 1) - ys[..., None, None]  # (B, K, S, 1)
    inv = torch.linalg.inv(sigma)
    d = (inv[..., 0, 0, None, None] * dx * dx + (inv[..., 0, 1] + inv[..., 1, 0])[..., None, None] * dx * dy
         + inv[..., 1, 1, None, None] * dy * dy)
    return torch.sigmoid(placed['sizes'][..., None, None] - d)


def blob_opacities(layout, score_size, ab_norm=0.02, jitter=None):
    """Per-blob opacity (B, K, S, S) on the square score grid (``jitter``: dict of xy/shift/angle or None)."""
    return placed_opacities(placed_blobs(layout, ab_norm, jitter), score_size)


def composite_alphas(opacities):
    """Depth-ordered opacities (B, K, H, W) -> weights (B, K+1, H, W), slot 0 = background; sums to one."""
    transmit = 1.0 - opacities
    rev = torch.flip(torch.cumprod(torch.flip(transmit, dims=[1]), dim=1), dims=[1])  # prod_{j>=k}
    above = torch.cat([rev[:, 1:], torch.ones_like(rev[:, :1])], dim=1)  # prod_{j>k}
    return torch.cat([rev[:, :1], opacities * above], dim=1)


def alpha_pyramid(alphas, size_in, aspect_ratio=1.0):
    """{height: (B, K+1, height, height*aspect)} from the square score grid down to ``size_in``."""
    levels = [alphas]
    while alphas.shape[-1] > size_in:
        alphas = F.interpolate(alphas, alphas.shape[-1] // 2, mode='bilinear', align_corners=False)
        levels.append(alphas)
    out = {}
    for lev in levels:
        h = int(lev.shape[-1])  # a plain int also under tracing (ONNX/TorchScript export), where shapes are tensors
        w = int(aspect_ratio * h)
        out[h] = lev if w == h else F.interpolate(lev, size=(h, w))
    return out


def splat_alphas(layout, score_size, ab_norm=0.02, jitter=None):
    """Composited blob weights (B, K+1, S, S) on the square score grid."""
    return composite_alphas(blob_opacities(layout, score_size, ab_norm, jitter))


def splat_features(alphas, vectors):
    """Feature map (B, C, H, W) = sum_k alpha_k * vector_k for vectors (B, K+1, C)."""
    return torch.einsum('bkhw,bkc->bchw', alphas, vectors)


def splat(layout, score_size, size_in, aspect_ratio=1.0, ab_norm=0.02, jitter=None):
    """Returns {'pyramid': {height: alphas}, 'input': splatted ``features`` at size_in (generator input),
    'placed': the (jittered) blobs that were splatted (``placed_blobs``)}."""
    placed = placed_blobs(layout, ab_norm, jitter)
    pyramid = alpha_pyramid(composite_alphas(placed_opacities(placed, score_size)), size_in, aspect_ratio)
    return {'pyramid': pyramid, 'input': splat_features(pyramid[size_in], layout['features']), 'placed': placed}


def alphas_at(layout, height, width, ab_norm=0.02):
    """Blob weights (B, K+1, height, width) for drawing: square grid of side ``height``, stretched to width."""
    a = splat_alphas(layout, height, ab_norm)
    return a if width == height else F.interpolate(a, size=(height, width))
