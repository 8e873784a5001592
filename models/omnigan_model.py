"""omnigan: multi-task flood generation, trained as the published omnigan (cc-ai/omnigan@432cfa1).

One encoder feeds task decoders (depth d, segmentation s, height h, water w), adaptation decoders a[r|s]
(real <-> simulated style) and SPADE translation decoders t[f|n] (flooded <-> not flooded) conditioned on the
task predictions. Training sees the four domains rf, rn, sf, sn in every batch (--dataset_mode omni) and runs in
two phases:

* representation, for the first --repr_steps iterations: task losses, the generator fooling the domain
  classifier, auto-encoding through a[own style] and t[own flood state], and the adaptation GAN / cycle losses;
* translation, afterwards: only the translation losses (GAN on the translation and on its cycle
  reconstruction, cycle, semantic and depth matching). The representation losses stop; the encoder keeps
  training through the translation loss unless --repr_freeze freezes it.

D (every head, every iteration, with label smoothing and flipping) and the domain classifier C are updated
after G in both phases. Networks, losses, ExtraAdam, the options, the generator's objective, validation and
visuals live in models/omnigan/; docs/omnigan.md lists where this differs from the published code.
"""
from collections import OrderedDict

import torch
from torch.optim import lr_scheduler

from . import networks
from .base_model import BaseModel, unwrap
from .omnigan import DOMAINS, DomainClassifier, OmniDiscriminator, OmniGenerator, parameter_report, parse_tasks
from .omnigan.losses import build_losses, d_update_plan, other
from .omnigan.objective import TASK_LOSS_NAMES, OmniganObjective
from .omnigan.optim import ExtraAdam
from .omnigan.options import ARCHITECTURE_OPTIONS, add_omnigan_options, deeplab_layers
from .omnigan.options import check_options as check_omnigan_options
from .omnigan.validation import OmniganValidation
from .omnigan.visuals import OmniganVisuals, segmentation_palette
from util import distributed

# what a comet --log_level shows: 1 the aggregated losses, 2 every loss
AGGREGATED_LOSSES = ("G", "G_repr", "G_translation", "D", "C")
PHASES = ("repr", "translation")


class OmniganModel(OmniganObjective, OmniganValidation, OmniganVisuals, BaseModel):
    """See the module docstring; the option help texts (models/omnigan/options.py) describe every knob."""

    # under torchrun: no DistributedDataParallel (the update calls the encoder, decoders and discriminators
    # directly); rank 0's weights are broadcast once and step() averages gradients before every update
    supports_distributed = True
    rate_options = ("lr", "encoder_lr_mult")  # a resume with another multiplier rescales the encoder's rates

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        return add_omnigan_options(parser, is_train)

    @classmethod
    def check_options(cls, opt):
        check_omnigan_options(opt)
        super().check_options(opt)  # the --gan_mode check of every image-to-image model

    def architecture_options(self):
        return tuple(super().architecture_options()) + ARCHITECTURE_OPTIONS

    # ------------------------------------------------------------------ construction
    def __init__(self, opt):
        super().__init__(opt)
        self.tasks = parse_tasks(opt.tasks)
        layers = deeplab_layers(opt)
        self.netG = OmniGenerator(
            self.tasks, opt.input_nc, opt.omni_encoder, opt.omni_enc_dim, opt.omni_n_downsample, opt.omni_enc_n_res,
            opt.omni_dec_n_res, opt.omni_n_classes, opt.omni_norm, layers, opt.deeplab_weights, opt.deeplab_proj_dim,
            opt.spade_nhidden, opt.spade_norm, opt.spade_spectral, load_pretrained=False,
            task_activation=opt.omni_task_activation, spade_kernel_size=opt.spade_kernel_size,
            activation=opt.omni_activation, enc_conv_norm=opt.omni_enc_norm, condition=opt.omni_condition,
            shared_translation=opt.omni_translation == "shared")
        for decoder in self.netG.decoders.values():  # published: the encoder keeps torch's initialisation
            networks.init_net(decoder, opt.init_type, opt.init_gain)
        if self.isTrain:
            # pretrained weights are only needed to start training; test runs load the trained G
            self.netG.load_pretrained()
        self.model_names = ["G"]
        self.palette = segmentation_palette(opt.omni_n_classes)
        self.batch, self.outputs, self.visuals = {}, {}, OrderedDict()
        self.d_update_order = []
        self.phase = "repr"
        self.total_steps = 0
        self.epochs_done = int(getattr(opt, "epoch_count", 1)) - 1
        self.encoder_lr_scaled = False
        self.encoder_lr_factor = 1.0  # the multiplier the encoder's learning rates carry now
        self.netD = self.netC = None
        self.adversarial = [h for h in ("a", "t") if h in self.tasks]
        if self.isTrain:
            self.repr_tasks = [t for t in ("d", "h", "s", "w") if t in self.tasks]
            if self.adversarial:
                self.netD = networks.init_net(OmniDiscriminator(self.tasks, opt.output_nc, opt.ndf, opt.n_layers_D,
                                                                opt.num_D, opt.norm, opt.omni_netD),
                                              opt.init_type, opt.init_gain)
                self.model_names.append("D")
            self.netC = networks.init_net(DomainClassifier(self.netG.encoder.output_dim, opt.omni_cls_dim,
                                                           len(DOMAINS), opt.omni_classifier),
                                          opt.init_type, opt.init_gain)
            self.model_names.append("C")
            self.losses = build_losses(opt.gan_mode, opt.cycle_loss, opt.auto_loss, opt.depth_loss, opt.height_loss,
                                       opt.water_loss, opt.classifier_loss, opt.d_soft_shift, opt.d_flip_prob)
            self.criterionGAN = self.losses["D"].to(self.device)
            enc_params = [p for p in self.netG.encoder.parameters() if p.requires_grad]
            dec_params = [p for k, d in self.netG.decoders.items() if k != "t" for p in d.parameters()]
            self.optimizer_E = self._optimizer(enc_params, opt.beta1_G)
            self.optimizers = [self.optimizer_E]
            self.optimizer_G = self._optimizer(dec_params, opt.beta1_G) if dec_params else None
            self.optimizer_T = (self._optimizer(self.netG.decoders["t"].parameters(), opt.beta1_G)
                                if "t" in self.tasks else None)
            self.optimizer_D = self._optimizer(self.netD.parameters(), opt.beta1) if self.netD is not None else None
            self.optimizer_C = self._optimizer(self.netC.parameters(), opt.beta1)
            self.optimizers += [o for o in (self.optimizer_G, self.optimizer_T, self.optimizer_D, self.optimizer_C)
                                if o is not None]
            self.loss_names = self._all_loss_names()
            self.aggregated_losses = [n for n in AGGREGATED_LOSSES if n in self.loss_names]
            if self._translation_due():
                self._enter_phase("translation")
        if getattr(opt, "rank", 0) == 0:
            print(parameter_report(self.netG, self.netD, self.netC))

    def _optimizer(self, params, beta1):
        """--optimizer extraadam builds models.omnigan.optim.ExtraAdam; anything else goes to make_optimizer."""
        opt = self.opt
        if str(opt.optimizer).lower() == "extraadam":
            return ExtraAdam(params, lr=opt.lr, betas=(beta1, opt.beta2), idle=opt.extraadam_idle)
        return self.make_optimizer(params, beta1=beta1)

    def make_scheduler(self, optimizer):
        if self.opt.lr_policy == "step":
            # published StepLR(step_size 30, gamma 0.5); the shared scheduler's step policy uses gamma 0.1
            return lr_scheduler.StepLR(optimizer, step_size=self.opt.lr_decay_iters, gamma=self.opt.lr_gamma)
        return super().make_scheduler(optimizer)

    # ------------------------------------------------------------------ multi-process training
    def wrap_networks(self):
        """Under torchrun every rank starts from rank 0's parameters and buffers (spectral-norm vectors too)."""
        if self.isTrain:
            distributed.broadcast_from_rank0([net for _, net in self.networks()])

    def step(self, optimizer):
        """Average the gradients over ranks, then step: the replicas stay identical.

        Every rank builds the same graph (same tasks, domains and label keys), so the same parameters hold
        gradients everywhere; random draws (label flips, matching masks) only change the values averaged.
        """
        distributed.average_gradients(optimizer)
        super().step(optimizer)

    def save_training_state(self, label, epoch, epoch_iter, total_iters, epoch_samples=None):
        """Check that every rank is in the same phase after the same number of steps, then save (the base class
        checks the parameters)."""
        if distributed.is_distributed():
            states = distributed.all_gather_objects((self.phase, self.total_steps, self.epochs_done))
            if any(s != states[0] for s in states[1:]):
                raise distributed.ReplicaMismatchError(
                    "omnigan phases differ between ranks: " + "; ".join(
                        f"rank {r}: {p} after {n} steps, {e} epochs" for r, (p, n, e) in enumerate(states)))
        return super().save_training_state(label, epoch, epoch_iter, total_iters, epoch_samples)

    def _all_loss_names(self):
        names = list(AGGREGATED_LOSSES)
        if "t" not in self.tasks:
            names.remove("G_translation")
        if "a" in self.tasks:
            names += ["gan_a", "cycle_a", "auto_a", "D_a"]
        if "t" in self.tasks:
            names += ["gan_t", "cycle_t", "auto_t", "D_t"]
            names += [n for n, task in (("sm", "s"), ("dm", "d")) if task in self.tasks]
        names += [TASK_LOSS_NAMES[t] for t in self.repr_tasks]
        names.append("classifier")
        if self.netD is None:
            names.remove("D")
        return names

    # the update calls sub-networks (encoder, one decoder, one discriminator) directly, which the plain
    # modules under a torch.compile wrapper provide
    @property
    def G(self):
        return unwrap(self.netG)

    @property
    def D(self):
        return unwrap(self.netD)

    @property
    def C(self):
        return unwrap(self.netC)

    # ------------------------------------------------------------------ phases
    def _translation_due(self):
        """Whether the representation phase is over: --repr_epochs epochs when set, else --repr_steps steps."""
        if "t" not in self.tasks or self.phase == "translation":
            return False
        if self.opt.repr_epochs >= 0:
            return self.epochs_done >= self.opt.repr_epochs
        return self.total_steps >= self.opt.repr_steps

    def _enter_phase(self, phase, restoring=False):
        """Switch to `phase`; entering translation freezes the encoder (--repr_freeze) or scales its lr.

        When restoring a checkpoint the optimizers and schedulers already carry the scaled lr, so only the
        freezing is re-applied (load_state_dict_extra rescales the lr when --encoder_lr_mult changed).
        """
        if phase not in PHASES:
            raise ValueError(f"unknown omnigan phase {phase!r}")
        self.phase = phase
        if phase != "translation":
            return
        if self.opt.repr_freeze:
            for p in self.G.encoder.parameters():
                p.requires_grad_(False)
        elif self.opt.encoder_lr_mult != 1.0 and not self.encoder_lr_scaled and not restoring:
            self._scale_encoder_lr(self.opt.encoder_lr_mult)
        if getattr(self.opt, "rank", 0) == 0 and not restoring:
            how = ("frozen" if self.opt.repr_freeze else "trainable" if self.opt.encoder_lr_mult == 1.0
                   else f"trainable at {self.opt.encoder_lr_mult}x lr")
            print(f"omnigan: translation phase starts after {self.total_steps} iterations (encoder {how})")

    def _scale_encoder_lr(self, factor):
        """Multiply the encoder's learning rates (optimizer groups and scheduler base rates) by ``factor``."""
        for group in self.optimizer_E.param_groups:
            group["lr"] *= factor
            if "initial_lr" in group:
                group["initial_lr"] *= factor
        for scheduler in self.schedulers:
            if getattr(scheduler, "optimizer", None) is self.optimizer_E and hasattr(scheduler, "base_lrs"):
                scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
        self.encoder_lr_factor *= factor
        self.encoder_lr_scaled = self.encoder_lr_factor != 1.0

    def update_learning_rate(self):
        lr = super().update_learning_rate()
        self.epochs_done += 1
        if self._translation_due():
            self._enter_phase("translation")
        return lr

    def state_dict_extra(self):
        return {"phase": self.phase, "epochs_done": self.epochs_done, "total_steps": self.total_steps,
                "encoder_lr_scaled": self.encoder_lr_scaled, "encoder_lr_factor": self.encoder_lr_factor}

    def load_state_dict_extra(self, state):
        self.epochs_done = int(state.get("epochs_done", self.epochs_done))
        self.total_steps = int(state.get("total_steps", 0))
        self.encoder_lr_scaled = bool(state.get("encoder_lr_scaled", False))
        self.encoder_lr_factor = float(state.get("encoder_lr_factor", self.opt.encoder_lr_mult if
                                                 self.encoder_lr_scaled else 1.0))
        self.phase = "repr"
        # re-applies freezing; a scaled encoder lr came back with the optimizer and scheduler states
        self._enter_phase(state.get("phase", "repr"), restoring=True)
        if self.isTrain and self.phase == "translation" and not self.opt.repr_freeze and \
                self.encoder_lr_factor != self.opt.encoder_lr_mult:  # resumed with another --encoder_lr_mult
            self._scale_encoder_lr(self.opt.encoder_lr_mult / self.encoder_lr_factor)

    # ------------------------------------------------------------------ data
    def set_input(self, input):
        if not isinstance(input, dict) or not any(d in input for d in DOMAINS):
            raise ValueError("omnigan expects multi-domain batches {rf|rn|sf|sn: {data, paths, domain, mode}}: "
                             "use --dataset_mode omni")
        self.batch, self.paths = {}, {}
        for dom in DOMAINS:
            if dom in input:
                self.batch[dom] = {k: self.to_device(v) for k, v in input[dom]["data"].items()}
                self.paths[dom] = input[dom]["paths"]
        first = next(iter(self.batch))
        self.image_paths = list(self.paths[first]["x"])
        self.outputs = {}

    # ------------------------------------------------------------------ inference
    def forward(self):
        """Every head on every domain of the batch (self.outputs[domain] = OmniGenerator output dict)."""
        with self.autocast():
            self.outputs = {dom: self.netG(b["x"]) for dom, b in self.batch.items()}

    def aggregated_loss_names(self):
        """At comet --log_level 1 only the totals G, G_repr, G_translation, D, C are logged."""
        return self.aggregated_losses

    # ------------------------------------------------------------------ training
    def _reset_losses(self):
        for name in self.loss_names:
            setattr(self, "loss_" + name, None)

    def _add(self, name, value):
        current = getattr(self, "loss_" + name, None)
        setattr(self, "loss_" + name, value if current is None else current + value)

    def step_G(self):
        """Generator update (encoder, decoders) on the terms of the current phase; D and C are frozen for it."""
        self.set_requires_grad([self.netD, self.netC], False)
        g_optimizers = [o for o in (self.optimizer_E, self.optimizer_G, self.optimizer_T) if o is not None]
        for o in g_optimizers:
            o.zero_grad(set_to_none=True)
        with self.autocast():
            self.loss_G = self._generator_losses()
        if torch.is_tensor(self.loss_G) and self.loss_G.requires_grad:
            self.backward(self.loss_G)
        for o in g_optimizers:
            # every optimizer steps every iteration (parameters without a gradient are left alone), so
            # ExtraAdam's extrapolation / update alternation stays in step across them
            self.step(o)

    def _fakes_for_d(self):
        """Adaptations and translations of every domain's images, without gradient, for the D update."""
        G, fakes = self.G, {"a": {}, "t": {}}
        with torch.no_grad(), self.autocast():
            for dom, b in self.batch.items():
                z = G.encode(b["x"])
                if "a" in self.tasks:
                    fakes["a"][dom] = G.adapt(z, other(dom[0]))
                if "t" in self.tasks:
                    fakes["t"][dom] = G.translate(z, other(dom[1]), G.condition(z))
        return fakes

    def step_D(self):
        """Discriminator update of every head over the multi-domain batch, in the order of d_update_plan."""
        if self.netD is None:
            return
        heads = self.adversarial
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        fakes = self._fakes_for_d()
        self.d_update_order = d_update_plan(list(self.batch), heads)
        gan = self.losses["D"]
        totals = {h: [] for h in heads}
        pairs = {}
        for head, target, kind, dom in self.d_update_order:
            netD = self.D[head][target]
            image = self.batch[dom]["x"] if kind == "real" else fakes[head][dom]
            with self.autocast():
                pred = netD(image)
            totals[head].append(gan(pred, kind == "real", for_discriminator=True))
            pairs.setdefault((head, target), {"real": [], "fake": []})[kind].append(image)
        for (head, target), images in pairs.items():  # WGAN-GP (None for other objectives): one real/fake pair each
            for real, fake in zip(images["real"], images["fake"]):
                penalty = networks.wgan_gp_term(gan, self.D[head][target], real, fake, self.opt.lambda_gp)
                if penalty is not None:
                    totals[head].append(penalty)
        for head in heads:
            setattr(self, f"loss_D_{head}", sum(totals[head]))
        self.loss_D = sum(sum(t) for t in totals.values())
        self.backward(self.loss_D)
        self.step(self.optimizer_D)

    def step_C(self):
        """Domain classifier update on detached encoder features (every iteration, as published)."""
        self.optimizer_C.zero_grad(set_to_none=True)
        if self.opt.lambda_C <= 0:
            self.optimizer_C.step()  # no gradients: changes nothing, keeps its scheduler from warning
            return
        self.set_requires_grad(self.netC, True)
        total = []
        for dom, b in self.batch.items():
            with torch.no_grad(), self.autocast():
                z = self.G.encode(b["x"])
            with self.autocast():
                logits = self.C(z.detach())
            target = torch.full((logits.shape[0],), DOMAINS.index(dom), dtype=torch.long, device=logits.device)
            total.append(self.opt.lambda_C * self.losses["C"](logits, target))
        self.loss_C = sum(total)
        self.backward(self.loss_C)
        self.step(self.optimizer_C)

    def optimize_parameters(self):
        """One iteration: G, then D (order of the design notes), then C; the phase switch after --repr_steps."""
        self._reset_losses()
        self.outputs, self.visuals = {}, OrderedDict()
        self.step_G()
        self.step_D()
        self.step_C()
        self.total_steps += 1
        if self.opt.repr_epochs < 0 and self._translation_due():
            self._enter_phase("translation")
