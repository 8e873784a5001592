"""omnigan losses, organised as the `losses` dictionary of the design notes:

    {"G": {"gan": {"a", "t"}, "cycle": {"a", "t"}, "auto": {"a", "t"},
           "tasks": {"d", "h", "s", "w"}, "classifier": ...},
     "D": GANLoss,
     "C": ...}

plus the discriminator update plan for a multi-domain batch.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import networks

from .classifier import DOMAINS

IGNORE_INDEX = 255  # segmentation label value that carries no loss (unlabelled pixels)
RECON_CHOICES = ("l1", "l2")
WATER_CHOICES = ("bce", "l1", "l2")
CLASSIFIER_CHOICES = ("ce", "l1", "l2")


def cross_entropy_2d(logits, target, ignore_index=IGNORE_INDEX):
    """Per-pixel cross-entropy between logits (N, C, H, W) and integer labels (N, H, W) or (N, 1, H, W).

    Labels of another size are resized with nearest neighbour; `ignore_index` pixels carry no loss. A batch
    whose pixels are all ignored gives 0 (not NaN) so it cannot poison the running loss.
    """
    if target.dim() == 4:
        target = target[:, 0]
    if target.dim() != 3 or logits.dim() != 4 or target.shape[0] != logits.shape[0]:
        raise ValueError(f"cross_entropy_2d expects logits (N,C,H,W) and labels (N,H,W); got "
                         f"{tuple(logits.shape)} and {tuple(target.shape)}")
    target = target.long()
    if target.shape[-2:] != logits.shape[-2:]:
        target = F.interpolate(target[:, None].float(), size=logits.shape[-2:], mode="nearest")[:, 0].long()
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= logits.shape[1]))
    if bad.any():
        raise ValueError(f"segmentation labels must be in [0, {logits.shape[1] - 1}] or {ignore_index} "
                         f"(ignored); found {int(target[bad][0])}. Check --omni_n_classes")
    if not valid.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), target, ignore_index=ignore_index)


def reconstruction_loss(kind):
    """l1 -> nn.L1Loss, l2 -> nn.MSELoss."""
    if kind == "l1":
        return nn.L1Loss()
    if kind == "l2":
        return nn.MSELoss()
    raise ValueError(f"unknown reconstruction loss '{kind}': use one of {', '.join(RECON_CHOICES)}")


class WaterLoss(nn.Module):
    """Water-mask loss on logits: bce (with logits) or l1 / l2 on the sigmoid probability."""

    def __init__(self, kind="bce"):
        super().__init__()
        if kind not in WATER_CHOICES:
            raise ValueError(f"unknown water loss '{kind}': use one of {', '.join(WATER_CHOICES)}")
        self.kind = kind

    def forward(self, logits, mask):
        mask = mask.float()
        if self.kind == "bce":
            return F.binary_cross_entropy_with_logits(logits.float(), mask)
        prob = logits.float().sigmoid()
        return F.l1_loss(prob, mask) if self.kind == "l1" else F.mse_loss(prob, mask)


class ClassifierLoss(nn.Module):
    """Domain classification loss on logits.

    `target` is a LongTensor of domain indices (the classifier's own loss) or a float distribution
    (N, n_domains); the generator uses the uniform distribution, i.e. it is rewarded when C cannot tell
    the domains apart. ce: (soft) cross-entropy; l1 / l2: distance between softmax and the target vector.
    """

    def __init__(self, kind="ce"):
        super().__init__()
        if kind not in CLASSIFIER_CHOICES:
            raise ValueError(f"unknown classifier loss '{kind}': use one of {', '.join(CLASSIFIER_CHOICES)}")
        self.kind = kind

    def forward(self, logits, target):
        logits = logits.float()
        if target.dtype in (torch.long, torch.int, torch.int64, torch.int32):
            target = F.one_hot(target.long(), logits.shape[1]).float()
        if self.kind == "ce":
            return -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()
        prob = logits.softmax(dim=1)
        return F.l1_loss(prob, target) if self.kind == "l1" else F.mse_loss(prob, target)


def build_losses(gan_mode="lsgan", cycle="l1", auto="l1", depth="l1", height="l1", water="bce",
                 classifier="ce"):
    """The losses dictionary; every entry is an nn.Module taking (prediction, target)."""
    gan = networks.GANLoss(gan_mode)
    return {
        "G": {
            "gan": {"a": gan, "t": gan},
            "cycle": {"a": reconstruction_loss(cycle), "t": reconstruction_loss(cycle)},
            "auto": {"a": reconstruction_loss(auto), "t": reconstruction_loss(auto)},
            "tasks": {
                "d": reconstruction_loss(depth),
                "h": reconstruction_loss(height),
                "s": cross_entropy_2d,
                "w": WaterLoss(water),
            },
            "classifier": ClassifierLoss(classifier),
        },
        "D": gan,
        "C": ClassifierLoss(classifier),
    }


def other(domain_letter):
    """The opposite target of a head: r<->s for adaptation, f<->n for translation."""
    return {"r": "s", "s": "r", "f": "n", "n": "f"}[domain_letter]


def d_update_plan(domains, heads=("a", "t")):
    """Ordered discriminator updates for a multi-domain batch.

    For each domain of the batch, in the order rf, rn, sf, sn: a real update of D["a"][own style] and a fake
    update of D["a"][other style] (fed the adaptation of that batch), then a real update of
    D["t"][own flood state] and a fake one of D["t"][other flood state] (fed its translation).
    Returns tuples (head, target, "real" | "fake", batch domain).
    """
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise ValueError(f"unknown domain(s) {unknown}: batches are keyed by {', '.join(DOMAINS)}")
    plan = []
    for dom in (d for d in DOMAINS if d in domains):
        style, flood = dom[0], dom[1]
        if "a" in heads:
            plan += [("a", style, "real", dom), ("a", other(style), "fake", dom)]
        if "t" in heads:
            plan += [("t", flood, "real", dom), ("t", other(flood), "fake", dom)]
    return plan
