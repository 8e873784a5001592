"""Layout network: maps Gaussian noise to K blobs plus a background blob (the published ``LayoutGenerator``).

A *layout* is a plain dict of tensors (batch first) so it can be edited, optimised and saved:

    xs, ys         (B, K)        blob centres in [0, 1] (x across the width, y down the height)
    sizes          (B, K+1)      blob size s (logit of the centre opacity); index 0 is the background's,
                                 unused by the splatting (the background is always opaque)
    covs           (B, K, 4)     raw shape: [a', b', u, v] -> axes sigmoid(a'), sigmoid(b'), direction (u, v)
    features       (B, K+1, feature_dim)  splatted into the generator's input grid, index 0 = background
    spatial_style  (B, K+1, style_dim)    modulation (style) vectors, index 0 = background

The MLP is ``mlp`` = [PixelNorm, EqualLinear x n_mlp] (published indexing, so ``mlp_idx`` -1 is the last linear
layer and the inversion latent is its 1024-d input). Its flat output is split as published: K+1 sizes, the
background feature, the background style, then per blob (x, y, 4 shape values, feature, style).
``norm_features`` pixel-normalises both vector kinds; ``detach_shapes`` stops gradients to ``covs`` (BlobGANEX).
"""
import torch
import torch.nn as nn

from .ops import EqualLinear, PixelNorm, pixel_norm

LAYOUT_KEYS = ('xs', 'ys', 'sizes', 'covs', 'features', 'spatial_style')
# keys whose second dimension includes the background slot at index 0
BG_KEYS = ('sizes', 'features', 'spatial_style')
N_SHAPE = 4


class LayoutNetwork(nn.Module):
    def __init__(self, n_blobs=10, noise_dim=512, hidden_dim=1024, n_mlp=8, feature_dim=768, style_dim=512,
                 lr_mul=0.01, norm_features=True, detach_shapes=False):
        super().__init__()
        if n_blobs < 1:
            raise ValueError(f'n_blobs must be >= 1, got {n_blobs}')
        if n_mlp < 2:
            raise ValueError(f'the layout MLP needs at least 2 layers (n_mlp), got {n_mlp}')
        self.n_blobs, self.noise_dim, self.hidden_dim = n_blobs, noise_dim, hidden_dim
        self.feature_dim, self.style_dim = feature_dim, style_dim
        self.norm_features, self.detach_shapes = norm_features, detach_shapes
        self.per_blob = 2 + N_SHAPE + feature_dim + style_dim
        out_dim = n_blobs * self.per_blob + (n_blobs + 1) + feature_dim + style_dim
        layers = [PixelNorm()]
        for i in range(n_mlp):
            last = i == n_mlp - 1
            layers.append(EqualLinear(noise_dim if i == 0 else hidden_dim, out_dim if last else hidden_dim,
                                      lr_mul=lr_mul, activation=not last))
        self.mlp = nn.Sequential(*layers)

    @property
    def layers(self):
        return self.mlp

    def _norm_idx(self, mlp_idx):
        n = len(self.mlp)
        if not -n <= mlp_idx < n:
            raise ValueError(f'mlp_idx {mlp_idx} out of range for a layout MLP with {n} layers (PixelNorm included)')
        return mlp_idx % n

    def latent_dim(self, mlp_idx=-1):
        """Size of the input of layer ``mlp_idx`` (the inversion latent)."""
        return self.noise_dim if self._norm_idx(mlp_idx) <= 1 else self.hidden_dim

    def latent(self, z, mlp_idx=-1):
        """Activations entering layer ``mlp_idx`` for noise z."""
        return self.mlp[:self._norm_idx(mlp_idx)](z)

    def forward_from(self, h, mlp_idx=-1):
        """Runs layers mlp_idx.. on latent h and returns the layout dict."""
        return self.unpack(self.mlp[self._norm_idx(mlp_idx):](h))

    def forward(self, z):
        return self.forward_from(z, 0)

    def unpack(self, out):
        """Splits the flat MLP output into the layout dict (published order)."""
        b, k, fd, sd = out.shape[0], self.n_blobs, self.feature_dim, self.style_dim
        sizes = out[:, :k + 1]
        bg_feat = out[:, k + 1:k + 1 + fd]
        bg_style = out[:, k + 1 + fd:k + 1 + fd + sd]
        blobs = out[:, k + 1 + fd + sd:].reshape(b, k, self.per_blob)
        xy = torch.sigmoid(blobs[..., :2])
        covs = blobs[..., 2:2 + N_SHAPE]
        features = torch.cat([bg_feat[:, None], blobs[..., 6:6 + fd]], dim=1)
        styles = torch.cat([bg_style[:, None], blobs[..., 6 + fd:]], dim=1)
        if self.detach_shapes:
            covs = covs.detach()
        if self.norm_features:
            features, styles = pixel_norm(features), pixel_norm(styles)
        return {'xs': xy[..., 0], 'ys': xy[..., 1], 'sizes': sizes, 'covs': covs, 'features': features,
                'spatial_style': styles}


def check_layout(layout):
    """Validates a layout dict (keys and consistent shapes); raises ValueError saying what is wrong."""
    missing = [k for k in LAYOUT_KEYS if k not in layout]
    if missing:
        raise ValueError(f'layout is missing keys {missing}; expected {list(LAYOUT_KEYS)}')
    b, k = layout['xs'].shape
    expect = {'ys': (b, k), 'sizes': (b, k + 1), 'covs': (b, k, N_SHAPE)}
    for key, shape in expect.items():
        if tuple(layout[key].shape) != shape:
            raise ValueError(f'layout[{key!r}] has shape {tuple(layout[key].shape)}, expected {shape}')
    for key in ('features', 'spatial_style'):
        if layout[key].dim() != 3 or tuple(layout[key].shape[:2]) != (b, k + 1):
            raise ValueError(f'layout[{key!r}] has shape {tuple(layout[key].shape)}, expected ({b}, {k + 1}, C)')
    return b, k


def clone_layout(layout, detach=True):
    """Copy of a layout (detached by default) so edits never touch the original."""
    return {k: (v.detach().clone() if detach else v.clone()) for k, v in layout.items()}


def slice_layout(layout, index):
    """Selects images (batch rows) from a layout."""
    return {k: v[index] for k, v in layout.items()}


def cat_layouts(layouts):
    """Concatenates layouts along the batch dimension."""
    return {k: torch.cat([lay[k] for lay in layouts], dim=0) for k in layouts[0]}
