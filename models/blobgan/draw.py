"""Visualising blob layouts: a colour map of the composited blobs and ellipse outlines drawn over images."""
import colorsys
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .layout import check_layout
from .splat import alphas_at, shape_covariances


def blob_colors(n, device=None):
    """``n`` distinct colours (n, 3) in [0, 1] (golden-ratio hue steps so neighbours differ)."""
    cols = [colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.75, 0.95) for i in range(n)]
    return torch.tensor(cols, dtype=torch.float32, device=device)


def layout_map(layout, height, width, ab_norm=0.02, background=(0.0, 0.0, 0.0)):
    """Colour image (B, 3, H, W) in [-1, 1] of the composited blobs (background in ``background``)."""
    b, k = check_layout(layout)
    alphas = alphas_at({key: v.detach().float() for key, v in layout.items()}, height, width, ab_norm)
    cols = torch.cat([torch.tensor([background], device=alphas.device), blob_colors(k, alphas.device)], dim=0)
    img = torch.einsum('bkhw,kc->bchw', alphas, cols)
    return img * 2 - 1


def ellipse_points(x, y, size, cov, height, width, n=48):
    """Pixel coordinates of a blob's 50%-opacity contour (where the squared Mahalanobis distance equals the
    size s), or [] for invisible blobs. ``cov`` is the blob's 2x2 covariance (square-grid units)."""
    if size <= 0:
        return []
    evals, evecs = torch.linalg.eigh(torch.as_tensor(cov, dtype=torch.float64))
    pts = []
    for t in np.linspace(0, 2 * math.pi, n, endpoint=False):
        p = evecs @ (torch.sqrt(evals.clamp(min=0) * size) * torch.tensor([math.cos(t), math.sin(t)],
                                                                           dtype=torch.float64))
        pts.append(((x + float(p[0])) * width, (y + float(p[1])) * height))
    return pts


def draw_layout(images, layout, ab_norm=0.02, fill_opacity=0.35, outline=True):
    """Images (B, 3, H, W) in [-1, 1] with the blob colour map blended in and blob contours/centres drawn.

    The result is a new tensor on the images' device; blob k always gets the same colour.
    """
    b, k = check_layout(layout)
    if images.shape[0] != b:
        raise ValueError(f'draw_layout: {images.shape[0]} images but a layout for {b}')
    h, w = images.shape[-2:]
    lay = {key: v.detach().float().cpu() for key, v in layout.items()}
    alphas = alphas_at(lay, h, w, ab_norm)
    covs = shape_covariances(lay['covs'], ab_norm)
    cols = blob_colors(k)
    colour = torch.einsum('bkhw,kc->bchw', alphas[:, 1:], cols)
    cover = alphas[:, 1:].sum(1, keepdim=True)
    base = (images.detach().float().cpu().clamp(-1, 1) + 1) / 2
    mixed = base * (1 - fill_opacity * cover) + fill_opacity * colour
    if not outline:
        return (mixed * 2 - 1).to(images.device)
    out = []
    for i in range(b):
        arr = (mixed[i].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
        pil = Image.fromarray(arr)
        draw = ImageDraw.Draw(pil)
        for j in range(k):
            col = tuple(int(c * 255) for c in cols[j])
            pts = ellipse_points(float(lay['xs'][i, j]), float(lay['ys'][i, j]), float(lay['sizes'][i, j + 1]),
                                 covs[i, j], h, w)
            if pts:
                draw.polygon(pts, outline=col)
                cx, cy = float(lay['xs'][i, j]) * w, float(lay['ys'][i, j]) * h
                draw.ellipse([cx - 1, cy - 1, cx + 1, cy + 1], fill=col)
        out.append(torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1).float() / 255)
    return (torch.stack(out) * 2 - 1).to(images.device)
