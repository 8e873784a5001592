"""Object-aware counterfactual explanations (OCTET, Zemni et al. 2023) on BlobGAN layouts, as BlobGANEX does them.

Given an image's blob layout q and a decision model M, the chosen blob parameters (``target_features``, optionally
only ``target_blobs``) are optimised with Adam (lr 0.08 for sizes, 0.01 for the rest, 200 steps, every step run) for

    L = BCE(M(G(q')), flipped decision) + lambda_prox * sum_f w_f * L1(q'_f, q_f)      (lambda_prox 0.1,
    w = xs 6, ys 6, sizes 1, covs 1, features 20, spatial_style 20; blobex_inv_cf.py ``cf_optim``)

Diversity (blobex_inv_cf_diversity.py): n counterfactuals per image share an assignment matrix A = softmax(B) over
the counterfactuals for every blob (B starts at 1 + U(-0.05, 0.05)); each counterfactual's change of blob k is scaled
by A[k], and 0.4 * entropy(A) is added, so every blob ends up changed by one counterfactual (published defaults for
that mode: 2 steps, lr 0.06 sizes / 0.0075 others, lambda_prox 0.5, w = 10, 10, 1, 1, 10, 10). A is saved as
'Assignment'; the saved ``blob_cf`` are the optimised values before the scaling by A.

Decision models: the published ``DecisionDensenetModel`` checkpoint ({'model_state_dict': ...} with
``feat_extract.feat_extract.*`` DenseNet-121 keys and a ``classifier`` head; sigmoid outputs), fed the generator's
[-1, 1] images unchanged; torchvision classifiers saved by ``save_decision_model`` also load.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.blobgan.layout import BG_KEYS, LAYOUT_KEYS, check_layout, clone_layout

PUBLISHED_CF = dict(n_iter=200, lambda_prox=0.1, lrs={'xs': 0.01, 'ys': 0.01, 'sizes': 0.08, 'covs': 0.01,
                                                      'features': 0.01, 'spatial_style': 0.01},
                    prox_weights={'xs': 6, 'ys': 6, 'sizes': 1, 'covs': 1, 'features': 20, 'spatial_style': 20})
# diversity script: 2 steps per attribute (n_iters = 2) and 0.1 x the decision-feature MSE in its inversion
PUBLISHED_DIVERSE = dict(n_iter=2, lambda_inv_decision=0.1, lambda_prox=0.5, lambda_div=0.4,
                         lrs={'xs': 0.0075, 'ys': 0.0075, 'sizes': 0.06, 'covs': 0.0075, 'features': 0.0075,
                              'spatial_style': 0.0075, 'assignment': 0.06},
                         prox_weights={'xs': 10, 'ys': 10, 'sizes': 1, 'covs': 1, 'features': 10, 'spatial_style': 10})
DEFAULT_LRS = PUBLISHED_CF['lrs']
INPUT_RANGES = ('minus1_1', 'zero_one', 'imagenet')
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DecisionDensenet(nn.Module):
    """DenseNet-121 trunk (classifier removed) + linear head, with the published module names."""

    def __init__(self, num_classes=4):
        super().__init__()
        import torchvision
        trunk = torchvision.models.densenet121(weights=None)
        trunk.classifier = nn.Identity()
        self.feat_extract = nn.Module()
        self.feat_extract.feat_extract = trunk
        self.classifier = nn.Linear(1024, num_classes)

    def features(self, x):
        return self.feat_extract.feat_extract(x)

    def forward(self, x):
        return self.classifier(self.features(x))


class DecisionWrapper(nn.Module):
    """Maps generator images in [-1,1] to the classifier's input: optional resize, then the input range
    ('minus1_1' as published: unchanged; 'zero_one'; 'imagenet' normalisation). Returns logits."""

    def __init__(self, model, input_size=None, input_range='minus1_1'):
        super().__init__()
        if input_range not in INPUT_RANGES:
            raise ValueError(f'decision input range must be one of {INPUT_RANGES}, got {input_range!r}')
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.input_size = input_size
        self.input_range = input_range
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def prepare(self, images):
        x = images
        if self.input_size:
            size = self.input_size if isinstance(self.input_size, (tuple, list)) else (self.input_size,) * 2
            x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
        if self.input_range == 'minus1_1':
            return x
        x = (x + 1) / 2
        return (x - self.mean) / self.std if self.input_range == 'imagenet' else x

    def forward(self, images):
        return self.model(self.prepare(images))

    def features(self, images):
        """Penultimate features (decision-feature losses): the DenseNet trunk of the published model."""
        if not hasattr(self.model, 'features') or not isinstance(self.model, DecisionDensenet):
            raise ValueError('decision-feature losses need a DecisionDensenetModel checkpoint (decision_densenet.tar)')
        return self.model.features(self.prepare(images))


def load_decision_model(path, arch=None, num_classes=None):
    """Loads a decision model.

    Accepted files: the published ``DecisionDensenetModel`` checkpoint ({'model_state_dict': sd} with
    ``feat_extract.feat_extract.*`` keys, e.g. decision_densenet.tar); ``{'arch': name, 'num_classes': n,
    'state_dict': sd}`` (what ``save_decision_model`` writes); or a torchvision state dict with ``arch`` given.
    ``module.`` prefixes from DataParallel are stripped.
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
        for key in ('model_state_dict', 'state_dict', 'model'):
            if isinstance(obj.get(key), dict):
                state = obj[key]
                break
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if any(k.startswith('feat_extract.feat_extract.') for k in state):
        n = state['classifier.weight'].shape[0]
        model = DecisionDensenet(n)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(f'{path!r} looks like a DecisionDensenetModel checkpoint but does not load: '
                             f'{str(err).splitlines()[0]}') from None
        return model.eval()
    if not arch:
        raise ValueError(f'{path!r} is neither a DecisionDensenetModel checkpoint nor names its architecture: pass '
                         f'--decision_arch (e.g. resnet18)')
    if num_classes is None:
        num_classes = [v for v in state.values() if torch.is_tensor(v) and v.dim() == 2][-1].shape[0]
    try:
        model = torchvision.models.get_model(arch, weights=None, num_classes=int(num_classes))
    except ValueError as err:
        raise ValueError(f'unknown torchvision architecture {arch!r}: {err}') from None
    model.load_state_dict(state)
    return model.eval()


def save_decision_model(path, model, arch, num_classes):
    """Writes a torchvision classifier in the format ``load_decision_model`` reads without extra flags."""
    torch.save({'arch': arch, 'num_classes': int(num_classes), 'state_dict': model.state_dict()}, path)


def save_densenet_decision_model(path, model):
    """Writes a DecisionDensenet in the published format ({'model_state_dict': ...})."""
    torch.save({'model_state_dict': model.state_dict()}, path)


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


def _assignment_weights(a, key, shape):
    """Published mapping of the (B, K) assignment weights onto a layout tensor of ``shape``: foreground keys use
    A as is; keys with a background slot get A in their first K slots and 0 in the last (blobex_inv_cf_diversity)."""
    if key in BG_KEYS:
        a = torch.cat([a, torch.zeros_like(a[:, :1])], dim=1)
    return a.view(*a.shape, *([1] * (len(shape) - 2)))


def counterfactuals(generator, decision, layout, attribute, target_features=LAYOUT_KEYS, target_blobs=None,
                    lrs=None, n_iter=200, lambda_prox=0.1, prox_weights=None, activation='sigmoid',
                    n_diverse=1, lambda_div=0.4, seed=0, keep_first_flip=False):
    """Optimises counterfactual layouts for ``layout`` (B images).

    Returns dict with 'layouts' (list of n_diverse layout dicts: what was rendered, in diversity mode the changes
    scaled by the assignment), 'optimised' (the optimised values themselves, unscaled: the published ``blob_cf``),
    'images' (list of tensors), 'init_scores', 'final_scores' (list), 'flipped' (list of bool tensors), 'history',
    and 'assignment' ((B, n, K) or None).
    As published, all ``n_iter`` steps run and the last iterate is returned; ``keep_first_flip`` instead keeps each
    image's first iterate whose decision flipped (and stops once all flipped).
    """
    unknown = [f for f in target_features if f not in LAYOUT_KEYS]
    if unknown or not target_features:
        raise ValueError(f'target features {unknown or "[]"} invalid; choose from {list(LAYOUT_KEYS)}')
    b, k = check_layout(layout)
    lrs = {**(PUBLISHED_DIVERSE['lrs'] if n_diverse > 1 else DEFAULT_LRS), **(lrs or {})}
    prox_weights = {**(PUBLISHED_DIVERSE if n_diverse > 1 else PUBLISHED_CF)['prox_weights'], **(prox_weights or {})}
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    base = clone_layout(layout)
    with torch.no_grad():
        init_scores = decision_scores(decision(generator.render(base)), activation)
    if not 0 <= attribute < init_scores.shape[1]:
        raise ValueError(f'target attribute {attribute} out of range for {init_scores.shape[1]} decision outputs')
    target = decision_targets(init_scores, attribute, activation)
    masks = blob_masks(base, target_features, target_blobs)
    gen = torch.Generator().manual_seed(seed)
    values = {key: base[key].unsqueeze(0).repeat(n_diverse, *([1] * base[key].dim())).requires_grad_(True)
              for key in target_features}
    groups = [{'params': [values[key]], 'lr': lrs[key]} for key in target_features]
    assign_logits = None
    if n_diverse > 1:
        init = 1 + (torch.rand(b, n_diverse, k, generator=gen) * 0.1 - 0.05)
        assign_logits = init.to(base['xs'].device).requires_grad_(True)
        groups.append({'params': [assign_logits], 'lr': lrs.get('assignment', lrs['sizes'])})
    opt = torch.optim.Adam(groups)

    def build(j, a):
        lay = dict(base)
        for key in target_features:
            delta = (values[key][j] - base[key]) * masks[key]
            if a is not None:
                delta = delta * _assignment_weights(a[:, j], key, delta.shape)
            lay[key] = base[key] + delta
        return lay

    best = [clone_layout(base) for _ in range(n_diverse)]
    done = [torch.zeros(b, dtype=torch.bool, device=init_scores.device) for _ in range(n_diverse)]
    history = []
    a = None
    for step in range(n_iter):
        a = torch.softmax(assign_logits, dim=1) if assign_logits is not None else None
        dec_total, prox_total = 0.0, 0.0
        for j in range(n_diverse):
            lay = build(j, a)
            logits = decision(generator.render(lay))
            if keep_first_flip:
                with torch.no_grad():
                    flipped = is_flipped(decision_scores(logits, activation), attribute, target, activation)
                    new = flipped & ~done[j]
                    for key in LAYOUT_KEYS:
                        best[j][key][new] = lay[key].detach()[new]
                    done[j] |= flipped
            dec = decision_loss(logits, attribute, target, activation)
            if keep_first_flip:
                dec = dec * (~done[j]).float()
            prox = sum(prox_weights.get(key, 0.0) * (lay[key] - base[key]).abs().mean() for key in target_features)
            if n_diverse > 1:  # published diversity script: means over images and counterfactuals
                dec_total = dec_total + dec.mean() / n_diverse
                prox_total = prox_total + prox / n_diverse
            else:  # published single script: summed over images, the proximity once per image
                dec_total = dec_total + dec.sum()
                prox_total = prox_total + prox * b
        total = dec_total + lambda_prox * prox_total
        if a is not None and lambda_div > 0:
            total = total + lambda_div * -(a * torch.log(a)).mean()
        history.append(float(total.detach()))
        if keep_first_flip and all(bool(d.all()) for d in done):
            break
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
    with torch.no_grad():
        a = torch.softmax(assign_logits, dim=1) if assign_logits is not None else None
        for j in range(n_diverse):
            last = clone_layout(build(j, a))
            for key in LAYOUT_KEYS:
                keep = ~done[j] if keep_first_flip else torch.ones_like(done[j])
                best[j][key][keep] = last[key][keep]
    images, final_scores, flipped = [], [], []
    with torch.no_grad():
        for j in range(n_diverse):
            img = generator.render(best[j])
            scores = decision_scores(decision(img), activation)
            images.append(img)
            final_scores.append(scores)
            flipped.append(is_flipped(scores, attribute, target, activation))
    optimised = [dict(clone_layout(base), **{key: values[key][j].detach().clone() for key in target_features})
                 for j in range(n_diverse)]
    return {'layouts': best, 'optimised': optimised, 'images': images, 'init_scores': init_scores, 'final_scores': final_scores,
            'flipped': flipped, 'target': target, 'history': history,
            'assignment': a.detach() if a is not None else None}
