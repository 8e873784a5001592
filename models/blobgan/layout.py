"""Layout network: maps Gaussian noise to K blobs plus a background blob.

A *layout* is a plain dict of tensors (batch first) so it can be edited, optimised and saved:

    xs, ys         (B, K)        blob centres in [0, 1] (x across the width, y down the height)
    sizes          (B, K+1)      blob size s (logit of the centre opacity); index 0 is the
                                 background slot, kept for alignment with the feature tensors and unused
    covs           (B, K, 2)     shape: [log aspect ratio, rotation angle in radians]
    features       (B, K+1, feature_dim)   style vectors (modulation), index 0 = background
    spatial_style  (B, K+1, spatial_dim)   spatial feature vectors (generator input), index 0 = background

Foreground blob k (0-based) lives at index k in xs/ys/covs and k+1 in sizes/features/spatial_style.
"""
import torch
import torch.nn as nn

from .ops import EqualLinear

LAYOUT_KEYS = ('xs', 'ys', 'sizes', 'covs', 'features', 'spatial_style')
# keys whose second dimension includes the background slot at index 0
BG_KEYS = ('sizes', 'features', 'spatial_style')


class LayoutNetwork(nn.Module):
    """MLP noise -> blob parameters. ``layers[i]`` are addressable so an encoder can target any hidden layer.

    layers = [noise->hidden, hidden->hidden, ..., hidden->params]; ``mlp_idx`` (python-style index into
    that list, default -1) names the layer whose *input* is used as the inversion latent.
    """

    def __init__(self, n_blobs=10, noise_dim=512, hidden_dim=1024, n_mlp=8, feature_dim=256, spatial_dim=256,
                 lr_mul=0.01, size_init=2.0):
        super().__init__()
        if n_blobs < 1:
            raise ValueError(f'n_blobs must be >= 1, got {n_blobs}')
        if n_mlp < 2:
            raise ValueError(f'the layout MLP needs at least 2 layers (n_mlp), got {n_mlp}')
        self.n_blobs, self.noise_dim, self.hidden_dim = n_blobs, noise_dim, hidden_dim
        self.feature_dim, self.spatial_dim = feature_dim, spatial_dim
        self.per_blob = 2 + 1 + 2 + feature_dim + spatial_dim
        out_dim = n_blobs * self.per_blob + feature_dim + spatial_dim
        layers = [EqualLinear(noise_dim, hidden_dim, lr_mul=lr_mul, activation=True)]
        for _ in range(n_mlp - 2):
            layers.append(EqualLinear(hidden_dim, hidden_dim, lr_mul=lr_mul, activation=True))
        last = EqualLinear(hidden_dim, out_dim, lr_mul=lr_mul)
        # start blobs at a visible size: without this all blobs begin near s=0 (half transparent)
        with torch.no_grad():
            bias = last.bias.view(-1)[:n_blobs * self.per_blob].view(n_blobs, self.per_blob)
            bias[:, 2] = size_init / lr_mul
        layers.append(last)
        self.layers = nn.ModuleList(layers)

    def latent_dim(self, mlp_idx=-1):
        """Size of the input of layer ``mlp_idx`` (the inversion latent)."""
        idx = self._norm_idx(mlp_idx)
        return self.noise_dim if idx == 0 else self.hidden_dim

    def _norm_idx(self, mlp_idx):
        n = len(self.layers)
        if not -n <= mlp_idx < n:
            raise ValueError(f'mlp_idx {mlp_idx} out of range for a layout MLP with {n} layers')
        return mlp_idx % n

    def latent(self, z, mlp_idx=-1):
        """Activations entering layer ``mlp_idx`` for noise z."""
        h = z
        for layer in self.layers[:self._norm_idx(mlp_idx)]:
            h = layer(h)
        return h

    def forward_from(self, h, mlp_idx=-1):
        """Runs layers mlp_idx.. on latent h and returns the layout dict."""
        for layer in self.layers[self._norm_idx(mlp_idx):]:
            h = layer(h)
        return self.unpack(h)

    def forward(self, z):
        return self.forward_from(z, 0)

    def unpack(self, out):
        """Splits the flat MLP output into the layout dict."""
        b, k, fd, sd = out.shape[0], self.n_blobs, self.feature_dim, self.spatial_dim
        blobs = out[:, :k * self.per_blob].view(b, k, self.per_blob)
        bg = out[:, k * self.per_blob:]
        xy = torch.sigmoid(blobs[..., 0:2])
        size_fg = blobs[..., 2]
        return {
            'xs': xy[..., 0],
            'ys': xy[..., 1],
            'sizes': torch.cat([torch.zeros_like(size_fg[:, :1]), size_fg], dim=1),
            'covs': blobs[..., 3:5],
            'features': torch.cat([bg[:, None, :fd], blobs[..., 5:5 + fd]], dim=1),
            'spatial_style': torch.cat([bg[:, None, fd:fd + sd], blobs[..., 5 + fd:5 + fd + sd]], dim=1),
        }


def check_layout(layout):
    """Validates a layout dict (keys and consistent shapes); raises ValueError saying what is wrong."""
    missing = [k for k in LAYOUT_KEYS if k not in layout]
    if missing:
        raise ValueError(f'layout is missing keys {missing}; expected {list(LAYOUT_KEYS)}')
    b, k = layout['xs'].shape
    expect = {'ys': (b, k), 'sizes': (b, k + 1), 'covs': (b, k, 2)}
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
