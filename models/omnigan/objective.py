"""The generator's objective of --model omnigan, per phase: the representation terms (task losses, fooling the
domain classifier, auto-encoding, adaptation GAN and cycle) and the translation terms (GAN on the translation and
its cycle reconstruction, cycle, semantic and depth matching), summed over the domains of the batch."""
import torch

from .losses import fooling_target, other

TASK_LOSS_NAMES = {"d": "task_d", "h": "task_h", "s": "task_s", "w": "task_w"}


class OmniganObjective:
    """Mixin of OmniganModel (models/omnigan_model.py): fills loss_<name> and returns the generator's terms; uses
    the model's G, D, C, opt, losses, batch, phase and tasks."""

    def _condition(self, z, preds=None):
        """SPADE condition from z (decoding the missing condition tasks); detached with --omni_detach_condition."""
        preds = dict(preds or {})
        for task in self.G.condition_tasks:
            if task not in preds:
                preds[task] = self.G.decode(task, z)
        cond = self.G.condition_from(preds)
        return (cond.detach() if self.opt.omni_detach_condition else cond), preds

    def _mask(self, like):
        """The published placeholder mask of the matching losses (fresh 0/1 per pixel), or None."""
        if self.opt.matching_mask == "none":
            return None
        return torch.randint(0, 2, like.shape, device=like.device).to(torch.float32)

    def _representation_losses(self, dom, b):
        """Representation-phase terms of one domain's batch; returns their list (also added to loss_<name>)."""
        opt, G, L = self.opt, self.G, self.losses["G"]
        x = b["x"]
        style, flood = dom[0], dom[1]
        terms = []

        def add(name, term):
            self._add(name, term)
            terms.append(term)

        z = G.encode(x)
        if opt.lambda_classifier > 0:
            logits = self.C(z)
            target = fooling_target(dom, logits.shape[0], opt.classifier_loss, logits.device)
            add("classifier", opt.lambda_classifier * L["classifier"](logits, target))
        preds = {}
        for task in self.repr_tasks:
            if task in b:
                preds[task] = G.decode(task, z)
                add(TASK_LOSS_NAMES[task], getattr(opt, f"lambda_{task}") * L["tasks"][task](preds[task].float(), b[task]))
        if "t" in self.tasks:  # auto-encoding through the translation decoder of the batch's own flood state
            cond, _ = self._condition(z, preds)
            add("auto_t", opt.lambda_auto_t * L["auto"]["t"](G.translate(z, flood, cond).float(), x.float()))
        if "a" in self.tasks:
            add("auto_a", opt.lambda_auto_a * L["auto"]["a"](G.adapt(z, style).float(), x.float()))
            fake = G.adapt(z, other(style))
            cycle = G.adapt(G.encode(fake), style)
            gan = L["gan"]["a"]
            add("gan_a", opt.lambda_gan_a * (gan(self.D["a"][other(style)](fake), True, for_discriminator=False)
                                             + gan(self.D["a"][style](cycle), True, for_discriminator=False)))
            add("cycle_a", opt.lambda_cycle_a * L["cycle"]["a"](cycle.float(), x.float()))
        return terms

    def _translation_losses(self, dom, b):
        """Translation-phase terms of one domain's batch: flood <-> no flood and back."""
        opt, G, L = self.opt, self.G, self.losses["G"]
        x = b["x"]
        flood = dom[1]
        terms = []

        def add(name, term):
            self._add(name, term)
            terms.append(term)

        z = G.encode(x)
        cond, preds = self._condition(z)
        fake = G.translate(z, other(flood), cond)
        z_fake = G.encode(fake)
        cond_fake, preds_fake = self._condition(z_fake)
        cycle = G.translate(z_fake, flood, cond_fake)
        gan = L["gan"]["t"]
        add("gan_t", opt.lambda_gan_t * (gan(self.D["t"][other(flood)](fake), True, for_discriminator=False)
                                         + gan(self.D["t"][flood](cycle), True, for_discriminator=False)))
        add("cycle_t", opt.lambda_cycle_t * L["cycle"]["t"](cycle.float(), x.float()))
        detach_fake = opt.matching_grad == "none"
        for name, task, loss in (("sm", "s", L["sm"]), ("dm", "d", L["dm"])):
            if task not in self.tasks or getattr(opt, f"lambda_{name}") <= 0:
                continue
            fake_pred = preds_fake[task].detach() if detach_fake else preds_fake[task]
            mask = self._mask(fake_pred[:, 0] if task == "s" else fake_pred)
            add(name, getattr(opt, f"lambda_{name}") * loss(fake_pred, preds[task], mask))
        return terms

    def _generator_losses(self):
        """Sum of the generator's terms of the current phase over the domains of the batch; fills loss_<name>."""
        repr_total, trans_total = [], []
        for dom, b in self.batch.items():
            if self.phase == "repr":
                repr_total += self._representation_losses(dom, b)
            else:
                trans_total += self._translation_losses(dom, b)
        self.loss_G_repr = sum(repr_total) if repr_total else None
        if "t" in self.tasks:
            self.loss_G_translation = sum(trans_total) if trans_total else None
        return sum(repr_total + trans_total)
