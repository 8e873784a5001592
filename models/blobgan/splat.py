"""Differentiable blob splatting (pure PyTorch).

Each blob k is an ellipse with centre (x_k, y_k), size s_k, aspect ratio a_k and angle theta_k. At a grid
point p its opacity is

    o_k(p) = sigmoid(s_k - c * d_k(p)),   d_k(p) = (p - mu_k)^T R diag(1/a_k, a_k) R^T (p - mu_k)

(a squared Mahalanobis distance; c = ``sharpness`` sets how fast opacity falls off). Distances are measured
in units of the image *height*, so a blob stays round on rectangular (aspect_ratio != 1) grids. Blobs are
depth ordered: later blobs cover earlier ones and the background (slot 0) fills what is left:

    alpha_k = o_k * prod_{j > k} (1 - o_j),    alpha_bg = prod_j (1 - o_j)

Feature maps are the alpha-weighted sums of the per-blob vectors.
"""
import torch


def grid_coords(height, width, device=None, dtype=torch.float32):
    """Pixel-centre coordinates in [0, 1] along each axis: (v of shape (H,), u of shape (W,))."""
    v = (torch.arange(height, device=device, dtype=dtype) + 0.5) / height
    u = (torch.arange(width, device=device, dtype=dtype) + 0.5) / width
    return v, u


def blob_distances(layout, height, width):
    """Squared Mahalanobis distance (B, K, H, W) of every grid point to every foreground blob."""
    xs, ys, covs = layout['xs'], layout['ys'], layout['covs']
    v, u = grid_coords(height, width, xs.device, xs.dtype)
    # offsets in height units so circles stay circles on rectangular grids
    dx = (u.view(1, 1, 1, width) - xs[..., None, None]) * (width / height)
    dy = v.view(1, 1, height, 1) - ys[..., None, None]
    log_aspect, theta = covs[..., 0, None, None], covs[..., 1, None, None]
    cos, sin = torch.cos(theta), torch.sin(theta)
    along = cos * dx + sin * dy      # coordinate along the blob's main axis
    across = -sin * dx + cos * dy    # coordinate across it
    inv_aspect = torch.exp(-log_aspect)
    return along.pow(2) * inv_aspect + across.pow(2) / inv_aspect


def blob_opacities(layout, height, width, sharpness=25.0):
    """Per-blob opacity o_k (B, K, H, W) before compositing."""
    d = blob_distances(layout, height, width)
    return torch.sigmoid(layout['sizes'][:, 1:, None, None] - sharpness * d)


def composite_alphas(opacities):
    """Alpha-composites depth-ordered opacities (B, K, H, W) -> weights (B, K+1, H, W), slot 0 = background.

    Weights are non-negative and sum to one at every pixel.
    """
    transmit = 1.0 - opacities
    # prod_{j>k} (1 - o_j): reverse cumulative product, shifted so blob k is not occluded by itself
    rev = torch.flip(torch.cumprod(torch.flip(transmit, dims=[1]), dim=1), dims=[1])
    above = torch.cat([rev[:, 1:], torch.ones_like(rev[:, :1])], dim=1)
    fg = opacities * above
    bg = rev[:, :1]
    return torch.cat([bg, fg], dim=1)


def splat_alphas(layout, height, width, sharpness=25.0):
    """Composited blob weights (B, K+1, H, W) for a layout on an H x W grid."""
    return composite_alphas(blob_opacities(layout, height, width, sharpness))


def splat_features(alphas, vectors):
    """Feature map (B, C, H, W) = sum_k alpha_k * vector_k for vectors (B, K+1, C)."""
    return torch.einsum('bkhw,bkc->bchw', alphas, vectors)


def splat(layout, height, width, sharpness=25.0):
    """Splats a layout: returns dict with 'alphas' (B,K+1,H,W), 'spatial' (B,spatial_dim,H,W) and
    'style' (B,feature_dim,H,W)."""
    alphas = splat_alphas(layout, height, width, sharpness)
    return {
        'alphas': alphas,
        'spatial': splat_features(alphas, layout['spatial_style']),
        'style': splat_features(alphas, layout['features']),
    }
