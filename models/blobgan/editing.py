"""Blob editing API: move, resize, remove, reshape and restyle blobs, then regenerate.

All functions take a layout dict (see ``layout.py``), return an edited *copy* and never touch the input.
``idx`` is a foreground blob index in [0, K) (or a list of them); ``batch`` optionally restricts the edit
to some images (int, list or slice; default all).
"""
import math

import torch

from .layout import check_layout, clone_layout

HIDDEN_SIZE = -100.0  # sigmoid(-100 - d) == 0: the blob disappears and the background shows through


def _as_list(idx, k):
    ids = [idx] if isinstance(idx, int) else list(idx)
    for i in ids:
        if not -k <= i < k:
            raise ValueError(f'blob index {i} out of range for a layout with {k} blobs')
    return [i % k for i in ids]


def _rows(batch, b):
    return slice(None) if batch is None else batch


def move_blob(layout, idx, dx=0.0, dy=0.0, x=None, y=None, batch=None):
    """Shifts blob(s) by (dx, dy) in [0,1] image coordinates, or places them at (x, y) when given."""
    _, k = check_layout(layout)
    out = clone_layout(layout)
    rows = _rows(batch, None)
    for i in _as_list(idx, k):
        out['xs'][rows, i] = (x if x is not None else out['xs'][rows, i] + dx)
        out['ys'][rows, i] = (y if y is not None else out['ys'][rows, i] + dy)
    return out


def resize_blob(layout, idx, delta=0.0, size=None, batch=None):
    """Adds ``delta`` to blob size(s) s (bigger blob for delta > 0) or sets them to ``size``."""
    _, k = check_layout(layout)
    out = clone_layout(layout)
    rows = _rows(batch, None)
    for i in _as_list(idx, k):
        out['sizes'][rows, i + 1] = size if size is not None else out['sizes'][rows, i + 1] + delta
    return out


def remove_blob(layout, idx, batch=None):
    """Hides blob(s) by giving them a very negative size."""
    return resize_blob(layout, idx, size=HIDDEN_SIZE, batch=batch)


def reshape_blob(layout, idx, axes=None, angle=None, batch=None):
    """Sets blob(s)' shape: ``axes`` = raw (a', b') values (axis lengths sigmoid(a'), sigmoid(b') before the
    fixed-area normalisation) and/or ``angle`` (radians) of the main axis direction."""
    _, k = check_layout(layout)
    out = clone_layout(layout)
    rows = _rows(batch, None)
    for i in _as_list(idx, k):
        if axes is not None:
            out['covs'][rows, i, 0] = axes[0]
            out['covs'][rows, i, 1] = axes[1]
        if angle is not None:
            out['covs'][rows, i, 2] = math.cos(angle)
            out['covs'][rows, i, 3] = math.sin(angle)
    return out


def restyle_blob(layout, idx, source=None, source_idx=None, features=None, spatial_style=None,
                 batch=None, background=False):
    """Replaces the input-feature (``features``) and/or style (``spatial_style``) vectors of blob(s).

    Either give explicit vectors (shape (C,) or (B, C)), or a ``source`` layout and ``source_idx`` to copy
    both vectors from another blob (of the same or another image). ``background=True`` edits slot 0.
    """
    b, k = check_layout(layout)
    out = clone_layout(layout)
    rows = _rows(batch, None)
    slots = [0] if background else [i + 1 for i in _as_list(idx, k)]
    if source is not None:
        if source_idx is None:
            raise ValueError('restyle_blob: give source_idx together with source')
        check_layout(source)
        src_slot = 0 if source_idx == 'background' else _as_list(source_idx, source['xs'].shape[1])[0] + 1
        features = source['features'][:, src_slot].detach() if features is None else features
        spatial_style = source['spatial_style'][:, src_slot].detach() if spatial_style is None else spatial_style
    if features is None and spatial_style is None:
        raise ValueError('restyle_blob: nothing to change; pass features, spatial_style or a source layout')
    for key, value in (('features', features), ('spatial_style', spatial_style)):
        if value is None:
            continue
        value = torch.as_tensor(value, dtype=out[key].dtype, device=out[key].device)
        if value.dim() == 2 and value.shape[0] == b and batch is not None:
            value = value[rows]  # per-image vectors: keep the rows being edited
        for slot in slots:
            out[key][rows, slot] = value
    return out


@torch.no_grad()
def regenerate(generator, layout, noise_mode='const'):
    """Renders an edited layout with the generator (fixed noise so only the edit changes the image)."""
    return generator.render(layout, noise_mode=noise_mode)
