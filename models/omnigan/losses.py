"""omnigan losses, organised as the `losses` dictionary of the design notes:

    {"G": {"gan": {"a", "t"}, "cycle": {"a", "t"}, "auto": {"a", "t"}, "sm": ..., "dm": ...,
           "tasks": {"d", "h", "s", "w"}, "classifier": ...},
     "D": GANLoss with label smoothing and flipping,
     "C": ...}

plus the generator's targets for fooling the domain classifier and the discriminator update plan for a
multi-domain batch.
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

    `target` is a LongTensor of domain indices or a float distribution (N, n_domains); see fooling_target for
    the generator's targets. ce: (soft) cross-entropy; l1 / l2: distance between softmax and the target vector.
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


class SmoothedGANLoss(nn.Module):
    """networks.GANLoss whose real/fake targets are softened and sometimes swapped (the published D loss).

    Each call draws one shift u ~ U(0, soft_shift): real targets become 1 - u, fake targets u (lsgan and
    vanilla, the modes with targets); with probability flip_prob the call's label is flipped (every mode).
    soft_shift = flip_prob = 0 is exactly networks.GANLoss. Random draws use torch's generator (seeded runs
    repeat).
    """

    def __init__(self, gan_mode="lsgan", soft_shift=0.0, flip_prob=0.0):
        super().__init__()
        if not 0.0 <= soft_shift <= 1.0 or not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"--d_soft_shift {soft_shift} and --d_flip_prob {flip_prob} must lie in [0, 1]")
        self.base = networks.GANLoss(gan_mode)
        self.gan_mode = self.base.gan_mode
        self.soft_shift, self.flip_prob = float(soft_shift), float(flip_prob)

    def forward(self, prediction, target_is_real, for_discriminator=True):
        if self.flip_prob > 0 and float(torch.rand(())) < self.flip_prob:
            target_is_real = not target_is_real
        if self.soft_shift <= 0 or self.gan_mode not in ("lsgan", "vanilla"):
            return self.base(prediction, target_is_real, for_discriminator)
        shift = float(torch.rand(())) * self.soft_shift
        target = 1.0 - shift if target_is_real else shift
        losses = []
        for pred in networks.final_predictions(prediction):
            pred = pred.float()
            full = torch.full_like(pred, target)
            losses.append(F.mse_loss(pred, full) if self.gan_mode == "lsgan"
                          else F.binary_cross_entropy_with_logits(pred, full))
        return sum(losses) / len(losses)


# published domain order of the classifier outputs, and the label each domain is told to look like when the
# generator fools C with cross-entropy: real and simulated swapped, flood state kept (tutils.py:133)
FOOL_CE_TARGET = {"rf": "sf", "rn": "sn", "sf": "rf", "sn": "rn"}


def fooling_target(domain, n, kind, device=None):
    """Target of the generator's loss for fooling C on a batch of `n` items of `domain`.

    ce: the class index of the domain with real/sim swapped; l1 / l2: every class at 1/4 (the published
    equiprobable vector).
    """
    if domain not in FOOL_CE_TARGET:
        raise ValueError(f"unknown domain {domain!r}: batches are keyed by {', '.join(DOMAINS)}")
    if kind == "ce":
        return torch.full((n,), DOMAINS.index(FOOL_CE_TARGET[domain]), dtype=torch.long, device=device)
    return torch.full((n, len(DOMAINS)), 1.0 / len(DOMAINS), device=device)


def semantic_matching_loss(fake_logits, real_logits, mask=None):
    """Per-pixel cross-entropy of the segmentation of the translated image against the arg-max segmentation of
    the source image (no gradient through the source), averaged over all pixels after the optional 0/1 mask."""
    labels = real_logits.detach().argmax(dim=1)
    loss = F.cross_entropy(fake_logits.float(), labels, reduction="none")
    if mask is not None:
        loss = loss * mask
    return loss.mean()


def depth_matching_loss(fake_depth, real_depth, mask=None):
    """MSE between the depth of the translated image and that of the source image (no gradient to the source),
    both multiplied by the optional 0/1 mask."""
    real_depth = real_depth.detach()
    if mask is not None:
        fake_depth, real_depth = fake_depth * mask, real_depth * mask
    return F.mse_loss(fake_depth.float(), real_depth.float())


def build_losses(gan_mode="lsgan", cycle="l2", auto="l2", depth="l2", height="l2", water="bce",
                 classifier="ce", d_soft_shift=0.0, d_flip_prob=0.0):
    """The losses dictionary; every entry is an nn.Module (or function) taking (prediction, target)."""
    gan = networks.GANLoss(gan_mode)
    return {
        "G": {
            "gan": {"a": gan, "t": gan},
            "cycle": {"a": reconstruction_loss(cycle), "t": reconstruction_loss(cycle)},
            "auto": {"a": reconstruction_loss(auto), "t": reconstruction_loss(auto)},
            "sm": semantic_matching_loss,
            "dm": depth_matching_loss,
            "tasks": {
                "d": reconstruction_loss(depth),
                "h": reconstruction_loss(height),
                "s": cross_entropy_2d,
                "w": WaterLoss(water),
            },
            "classifier": ClassifierLoss(classifier),
        },
        "D": SmoothedGANLoss(gan_mode, d_soft_shift, d_flip_prob),
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
