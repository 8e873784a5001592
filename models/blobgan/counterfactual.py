"""Object-aware counterfactual explanations (OCTET, Zemni et al. 2023) on BlobGAN layouts.

Given an image's blob layout q and a decision model M, the chosen blob parameters (``target_features``,
optionally only ``target_blobs``) are optimised so that M's decision on G(q') flips while a proximity loss
keeps q' close to q:  L = L_decision(M(G(q'))) + lambda_prox * sum_f w_f * mean((q'_f - q_f)^2).
A diversity mode optimises several counterfactuals per image at once and penalises them for changing the
same blobs (cosine similarity of their per-blob change magnitudes).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layout import BG_KEYS, LAYOUT_KEYS, check_layout, clone_layout

# size gets a larger default step: gradients through nearly invisible blobs are small (see the seed notes)
DEFAULT_LRS = {'xs': 0.01, 'ys': 0.01, 'sizes': 0.05, 'covs': 0.01, 'features': 0.01, 'spatial_style': 0.01}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DecisionWrapper(nn.Module):
    """Maps generator images in [-1,1] to the classifier's expected input (resize + normalisation)."""

    def __init__(self, model, input_size=None, normalize='imagenet'):
        super().__init__()
        if normalize not in ('imagenet', 'none'):
            raise ValueError(f"decision normalisation must be 'imagenet' or 'none', got {normalize!r}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.input_size = input_size
        self.normalize = normalize
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images):
        x = (images.clamp(-1, 1) + 1) / 2
        if self.input_size:
            size = self.input_size if isinstance(self.input_size, (tuple, list)) else (self.input_size,) * 2
            x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
        if self.normalize == 'imagenet':
            x = (x - self.mean) / self.std
        return self.model(x)


def load_decision_model(path, arch=None, num_classes=None):
    """Loads a torchvision classifier checkpoint.

    Accepted files: ``{'arch': name, 'num_classes': n, 'state_dict': sd}`` (what ``save_decision_model``
    writes), or a state dict (bare or under 'state_dict'/'model_state_dict') with ``arch``/``num_classes``
    given. ``module.`` prefixes from DataParallel are stripped.
    """
    import torchvision
    if not os.path.isfile(path):
        raise FileNotFoundError(f'decision model checkpoint {path!r} not found (--decision_model)')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise ValueError(f'cannot read decision model {path!r} as a state-dict checkpoint: {err}') from None
    state = obj
    if isinstance(obj, dict):
        arch = arch or obj.get('arch')
        num_classes = num_classes or obj.get('num_classes')
        for key in ('state_dict', 'model_state_dict', 'model'):
            if isinstance(obj.get(key), dict):
                state = obj[key]
                break
    if not arch:
        raise ValueError(f'{path!r} does not name its architecture: pass --decision_arch (e.g. densenet121)')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if num_classes is None:
        # the last 2-d weight is the classifier head
        num_classes = [v for v in state.values() if torch.is_tensor(v) and v.dim() == 2][-1].shape[0]
    try:
        model = torchvision.models.get_model(arch, weights=None, num_classes=int(num_classes))
    except ValueError as err:
        raise ValueError(f'unknown torchvision architecture {arch!r}: {err}') from None
    model.load_state_dict(state)
    return model.eval()


def save_decision_model(path, model, arch, num_classes):
    """Writes a classifier in the format ``load_decision_model`` reads without extra flags."""
    torch.save({'arch': arch, 'num_classes': int(num_classes), 'state_dict': model.state_dict()}, path)


def decision_scores(logits, activation):
    """Probabilities from logits: per-attribute sigmoid (multi-label) or softmax (multi-class)."""
    if activation == 'sigmoid':
        return torch.sigmoid(logits)
    if activation == 'softmax':
        return torch.softmax(logits, dim=1)
    raise ValueError(f"decision activation must be 'sigmoid' or 'softmax', got {activation!r}")


def decision_targets(init_scores, attribute, activation):
    """Target of the counterfactual: flip attribute ``attribute`` (sigmoid) or reach class ``attribute``."""
    if activation == 'sigmoid':
        return (init_scores[:, attribute] < 0.5).float()
    return torch.full((init_scores.shape[0],), attribute, dtype=torch.long, device=init_scores.device)


def decision_loss(logits, attribute, target, activation):
    if activation == 'sigmoid':
        return F.binary_cross_entropy_with_logits(logits[:, attribute], target, reduction='none')
    return F.cross_entropy(logits, target, reduction='none')


def is_flipped(scores, attribute, target, activation):
    """Per-image bool: the decision reached the counterfactual target."""
    if activation == 'sigmoid':
        return (scores[:, attribute] >= 0.5) == (target > 0.5)
    return scores.argmax(1) == target


def blob_masks(layout, target_features, target_blobs=None):
    """Per-key 0/1 masks selecting which entries may change (all, or only ``target_blobs``)."""
    b, k = check_layout(layout)
    masks = {}
    for key in target_features:
        m = torch.zeros_like(layout[key]) if target_blobs is not None else torch.ones_like(layout[key])
        if target_blobs is not None:
            for i in target_blobs:
                if not 0 <= i < k:
                    raise ValueError(f'target blob {i} out of range for {k} blobs')
                m[:, i + 1 if key in BG_KEYS else i] = 1
        masks[key] = m
    return masks


def per_blob_change(deltas):
    """(B, K) magnitude of each foreground blob's change, summed over the optimised parameters."""
    total = 0
    for key, d in deltas.items():
        if key in BG_KEYS:
            d = d[:, 1:]  # drop the background slot
        mag = d.abs()
        if mag.dim() == 3:
            mag = mag.mean(-1)
        total = total + mag
    return total


def counterfactuals(generator, decision, layout, attribute, target_features=LAYOUT_KEYS, target_blobs=None,
                    lrs=None, n_iter=100, lambda_prox=1.0, prox_weights=None, activation='sigmoid',
                    n_diverse=1, lambda_div=1.0, init_noise=0.01, seed=0, stop_when_flipped=True):
    """Optimises counterfactual layouts for ``layout`` (B images).

    Returns dict with 'layouts' (list of n_diverse layout dicts), 'images' (list of tensors), 'init_scores',
    'final_scores' (list), 'flipped' (list of bool tensors), 'history'. With ``stop_when_flipped`` each
    image keeps the first iterate whose decision flipped (the closest counterfactual found).
    """
    unknown = [f for f in target_features if f not in LAYOUT_KEYS]
    if unknown or not target_features:
        raise ValueError(f'target features {unknown or "[]"} invalid; choose from {list(LAYOUT_KEYS)}')
    b, k = check_layout(layout)
    lrs = {**DEFAULT_LRS, **(lrs or {})}
    prox_weights = prox_weights or {}
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    base = clone_layout(layout)
    with torch.no_grad():
        init_scores = decision_scores(decision(generator.render(base)), activation)
    if activation == 'softmax' and not 0 <= attribute < init_scores.shape[1]:
        raise ValueError(f'target attribute {attribute} out of range for {init_scores.shape[1]} classes')
    if activation == 'sigmoid' and not 0 <= attribute < init_scores.shape[1]:
        raise ValueError(f'target attribute {attribute} out of range for {init_scores.shape[1]} outputs')
    target = decision_targets(init_scores, attribute, activation)
    masks = blob_masks(base, target_features, target_blobs)
    gen = torch.Generator().manual_seed(seed)
    deltas = {}
    for key in target_features:
        # diverse counterfactuals need different starting points or they follow the same path
        noise = torch.randn((n_diverse,) + tuple(base[key].shape), generator=gen) * (init_noise if n_diverse > 1
                                                                                     else 0.0)
        deltas[key] = noise.to(base[key].device).requires_grad_(True)
    opt = torch.optim.Adam([{'params': [deltas[key]], 'lr': lrs[key]} for key in target_features])

    def build(j):
        lay = dict(base)
        for key in target_features:
            lay[key] = base[key] + deltas[key][j] * masks[key]
        return lay

    best = [clone_layout(base) for _ in range(n_diverse)]
    done = [torch.zeros(b, dtype=torch.bool, device=init_scores.device) for _ in range(n_diverse)]
    history = []
    for step in range(n_iter + 1):
        total = 0.0
        changes = []
        for j in range(n_diverse):
            lay = build(j)
            logits = decision(generator.render(lay))
            if stop_when_flipped:
                with torch.no_grad():  # remember the first flipped iterate of every image
                    flipped = is_flipped(decision_scores(logits, activation), attribute, target, activation)
                    new = flipped & ~done[j]
                    for key in LAYOUT_KEYS:
                        best[j][key][new] = lay[key].detach()[new]
                    done[j] |= flipped
            dec = decision_loss(logits, attribute, target, activation)
            if stop_when_flipped:
                dec = dec * (~done[j]).float()
            prox = sum(prox_weights.get(key, 1.0) * (deltas[key][j] * masks[key]).pow(2).flatten(1).mean(1)
                       for key in target_features)
            total = total + (dec + lambda_prox * prox).mean()
            changes.append(per_blob_change({key: deltas[key][j] * masks[key] for key in target_features}))
        if n_diverse > 1 and lambda_div > 0:
            div = 0.0
            for a in range(n_diverse):
                for c in range(a + 1, n_diverse):
                    div = div + F.cosine_similarity(changes[a], changes[c], dim=1, eps=1e-8).mean()
            total = total + lambda_div * div / (n_diverse * (n_diverse - 1) / 2)
        history.append(float(total.detach()) if torch.is_tensor(total) else float(total))
        if step == n_iter or (stop_when_flipped and all(bool(d.all()) for d in done)):
            break
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
    for j in range(n_diverse):  # images that never flipped return their last iterate
        last = clone_layout(build(j))
        for key in LAYOUT_KEYS:
            best[j][key][~done[j]] = last[key][~done[j]]
    images, final_scores, flipped = [], [], []
    with torch.no_grad():
        for j in range(n_diverse):
            img = generator.render(best[j])
            scores = decision_scores(decision(img), activation)
            images.append(img)
            final_scores.append(scores)
            flipped.append(is_flipped(scores, attribute, target, activation))
    return {'layouts': best, 'images': images, 'init_scores': init_scores, 'final_scores': final_scores,
            'flipped': flipped, 'target': target, 'history': history}
