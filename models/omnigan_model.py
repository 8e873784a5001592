"""omnigan: multi-task flood generation.

One encoder feeds task decoders (depth d, segmentation s, height h, water w), adaptation decoders a[r|s]
(real <-> simulated style) and SPADE translation decoders t[f|n] (flooded <-> not flooded) conditioned on the
task predictions. Training sees the four domains rf, rn, sf, sn in every batch (--dataset_mode omni) and runs in
two phases: representation (encoder, task and adaptation decoders, domain classifier) for --repr_epochs epochs,
then translation (translation decoders; the representation is frozen with --repr_freeze, otherwise trained on with
the encoder at --encoder_lr_mult times the learning rate). Networks and losses live in models/omnigan/.
"""
from collections import OrderedDict

import numpy as np
import torch

from . import networks
from .base_model import BaseModel, unwrap
from .omnigan import DOMAINS, DomainClassifier, OmniDiscriminator, OmniGenerator, parameter_report, parse_tasks
from .omnigan.losses import (CLASSIFIER_CHOICES, RECON_CHOICES, WATER_CHOICES, build_losses, d_update_plan,
                             other)

TASK_LOSS_NAMES = {"d": "task_d", "h": "task_h", "s": "task_s", "w": "task_w"}
# what a comet --log_level shows: 1 the aggregated losses, 2 every loss
AGGREGATED_LOSSES = ("G", "G_repr", "G_translation", "D", "C")
PHASES = ("repr", "translation")


def _segmentation_palette(n_classes):
    """A fixed, well-spread colour per class (seeded so results pages are comparable across runs)."""
    rng = np.random.RandomState(1234)
    return torch.from_numpy(rng.randint(0, 256, size=(max(n_classes, 1), 3)).astype(np.float32) / 127.5 - 1.0)


class OmniganModel(BaseModel):
    """See the module docstring; the option help texts describe every knob."""

    supports_distributed = False  # the update calls the generator's encoder and decoders directly

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(dataset_mode="omni", norm="instance", load_size=286, crop_size=256)
        parser.add_argument("--tasks", type=str, default="a,d,h,s,t,w",
                            help="heads to build, among a (adaptation), d (depth), h (height), s (segmentation), "
                                 "t (translation), w (water); t needs at least one of d,h,s,w as its condition")
        parser.add_argument("--omni_encoder", type=str, default="munit", choices=["munit", "deeplabv2"],
                            help="encoder: MUNIT content encoder or DeepLab-v2 ResNet features + resblocks")
        parser.add_argument("--omni_enc_dim", type=int, default=64, help="MUNIT encoder width after the first conv")
        parser.add_argument("--omni_n_downsample", type=int, default=2,
                            help="MUNIT encoder downsamplings (decoders upsample as many times; deeplabv2 uses 3)")
        parser.add_argument("--omni_enc_n_res", type=int, default=4, help="residual blocks at the end of the encoder")
        parser.add_argument("--omni_dec_n_res", type=int, default=1, help="residual blocks at the start of each decoder")
        parser.add_argument("--omni_n_classes", type=int, default=19, help="segmentation classes (label 255 is ignored)")
        parser.add_argument("--omni_norm", type=str, default="in", choices=["in", "bn", "ln", "none"],
                            help="normalisation in the encoder and decoder residual blocks")
        parser.add_argument("--deeplab_weights", type=str, default="",
                            help="local file with DeepLab-v2 ResNet weights for --omni_encoder deeplabv2 "
                                 "(empty: random initialisation)")
        parser.add_argument("--deeplab_layers", type=str, default="3,4,23,3",
                            help="bottleneck blocks per ResNet stage of the DeepLab-v2 encoder (ResNet-101: 3,4,23,3)")
        parser.add_argument("--deeplab_proj_dim", type=int, default=512,
                            help="channels the 2048 DeepLab-v2 features are projected to before the resblocks")
        parser.add_argument("--spade_nhidden", type=int, default=128, help="hidden channels of each SPADE layer")
        parser.add_argument("--spade_norm", type=str, default="instance", choices=["instance", "batch"],
                            help="parameter-free normalisation inside SPADE")
        parser.add_argument("--spade_spectral", action="store_true",
                            help="spectral normalisation on the SPADE residual block convolutions")
        parser.add_argument("--omni_cls_dim", type=int, default=128, help="width of the domain classifier C")
        if is_train:
            parser.add_argument("--lambda_gan_a", type=float, default=1.0, help="weight of the adaptation GAN loss")
            parser.add_argument("--lambda_gan_t", type=float, default=1.0, help="weight of the translation GAN loss")
            parser.add_argument("--lambda_cycle_a", type=float, default=10.0, help="weight of the adaptation cycle loss")
            parser.add_argument("--lambda_cycle_t", type=float, default=10.0, help="weight of the translation cycle loss")
            parser.add_argument("--lambda_auto_a", type=float, default=10.0,
                                help="weight of the adaptation auto-encoding (same-domain reconstruction) loss")
            parser.add_argument("--lambda_auto_t", type=float, default=10.0,
                                help="weight of the translation auto-encoding loss")
            parser.add_argument("--lambda_d", type=float, default=1.0, help="weight of the depth loss")
            parser.add_argument("--lambda_h", type=float, default=1.0, help="weight of the height loss")
            parser.add_argument("--lambda_s", type=float, default=1.0, help="weight of the segmentation loss")
            parser.add_argument("--lambda_w", type=float, default=1.0, help="weight of the water-mask loss")
            parser.add_argument("--lambda_classifier", type=float, default=0.1,
                                help="weight of the generator's loss for fooling the domain classifier (0: off)")
            parser.add_argument("--lambda_C", type=float, default=1.0, help="weight of the domain classifier loss (0: off)")
            parser.add_argument("--cycle_loss", type=str, default="l1", choices=RECON_CHOICES, help="cycle loss")
            parser.add_argument("--auto_loss", type=str, default="l1", choices=RECON_CHOICES, help="auto-encoding loss")
            parser.add_argument("--depth_loss", type=str, default="l1", choices=RECON_CHOICES, help="depth loss")
            parser.add_argument("--height_loss", type=str, default="l1", choices=RECON_CHOICES, help="height loss")
            parser.add_argument("--water_loss", type=str, default="bce", choices=WATER_CHOICES, help="water-mask loss")
            parser.add_argument("--classifier_loss", type=str, default="ce", choices=CLASSIFIER_CHOICES,
                                help="loss of C and of the generator fooling C")
            parser.add_argument("--repr_epochs", type=int, default=50,
                                help="epochs of the representation phase before the translation phase starts "
                                     "(0: translation from the start)")
            parser.add_argument("--repr_freeze", action="store_true",
                                help="freeze the encoder and task decoders during the translation phase")
            parser.add_argument("--encoder_lr_mult", type=float, default=0.1,
                                help="encoder learning rate multiplier in the translation phase (without --repr_freeze)")
        # comet's --log_level (0 none, 1 aggregated, 2 all) is a visualizer option; see aggregated_loss_names
        return parser

    def architecture_options(self):
        return tuple(super().architecture_options()) + (
            "tasks", "omni_encoder", "omni_enc_dim", "omni_n_downsample", "omni_enc_n_res", "omni_dec_n_res",
            "omni_n_classes", "omni_norm", "deeplab_layers", "deeplab_proj_dim", "spade_nhidden", "spade_norm",
            "spade_spectral", "omni_cls_dim")

    # ------------------------------------------------------------------ construction
    def __init__(self, opt):
        super().__init__(opt)
        self.tasks = parse_tasks(opt.tasks)
        try:
            layers = tuple(int(n) for n in str(opt.deeplab_layers).split(","))
        except ValueError:
            raise ValueError(f"--deeplab_layers {opt.deeplab_layers!r} must be 4 comma-separated integers") from None
        if opt.input_nc != 3:
            raise ValueError("omnigan works on RGB images: use --input_nc 3")
        self.netG = OmniGenerator(
            self.tasks, opt.input_nc, opt.omni_encoder, opt.omni_enc_dim, opt.omni_n_downsample, opt.omni_enc_n_res,
            opt.omni_dec_n_res, opt.omni_n_classes, opt.omni_norm, layers, opt.deeplab_weights, opt.deeplab_proj_dim,
            opt.spade_nhidden, opt.spade_norm, opt.spade_spectral, load_pretrained=False)
        networks.init_net(self.netG, opt.init_type, opt.init_gain)
        if self.isTrain:
            # pretrained weights are only needed to start training; test runs load the trained G
            self.netG.load_pretrained()
        self.model_names = ["G"]
        self.palette = _segmentation_palette(opt.omni_n_classes)
        self.batch, self.outputs, self.visuals = {}, {}, OrderedDict()
        self.d_update_order = []
        self.phase = "repr"
        self.epochs_done = int(getattr(opt, "epoch_count", 1)) - 1
        self.encoder_lr_scaled = False
        self.netD = self.netC = None
        adversarial = [h for h in ("a", "t") if h in self.tasks]
        if self.isTrain:
            self.repr_tasks = [t for t in ("d", "h", "s", "w") if t in self.tasks]
            if adversarial:
                self.netD = networks.init_net(OmniDiscriminator(self.tasks, opt.output_nc, opt.ndf, opt.n_layers_D,
                                                                opt.num_D, opt.norm), opt.init_type, opt.init_gain)
                self.model_names.append("D")
            self.netC = networks.init_net(DomainClassifier(self.netG.encoder.output_dim, opt.omni_cls_dim,
                                                           len(DOMAINS)), opt.init_type, opt.init_gain)
            self.model_names.append("C")
            self.losses = build_losses(opt.gan_mode, opt.cycle_loss, opt.auto_loss, opt.depth_loss, opt.height_loss,
                                       opt.water_loss, opt.classifier_loss)
            self.criterionGAN = self.losses["D"].to(self.device)
            enc_params = [p for p in self.netG.encoder.parameters() if p.requires_grad]
            dec_params = [p for k, d in self.netG.decoders.items() if k != "t" for p in d.parameters()]
            self.optimizer_E = self.make_optimizer(enc_params)
            self.optimizers = [self.optimizer_E]
            self.optimizer_G = self.make_optimizer(dec_params) if dec_params else None
            self.optimizer_T = self.make_optimizer(self.netG.decoders["t"].parameters()) if "t" in self.tasks else None
            self.optimizer_D = self.make_optimizer(self.netD.parameters()) if self.netD is not None else None
            self.optimizer_C = self.make_optimizer(self.netC.parameters())
            self.optimizers += [o for o in (self.optimizer_G, self.optimizer_T, self.optimizer_D, self.optimizer_C)
                                if o is not None]
            self.loss_names = self._all_loss_names()
            self.aggregated_losses = [n for n in AGGREGATED_LOSSES if n in self.loss_names]
            if "t" in self.tasks and self.epochs_done >= opt.repr_epochs:
                self._enter_phase("translation")
        if getattr(opt, "rank", 0) == 0:
            print(parameter_report(self.netG, self.netD, self.netC))

    def _all_loss_names(self):
        names = list(AGGREGATED_LOSSES)
        if "t" not in self.tasks:
            names.remove("G_translation")
        if "a" in self.tasks:
            names += ["gan_a", "cycle_a", "auto_a", "D_a"]
        if "t" in self.tasks:
            names += ["gan_t", "cycle_t", "auto_t", "D_t"]
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
    def _enter_phase(self, phase, restoring=False):
        """Switch to `phase`; entering translation freezes the representation or lowers the encoder lr.

        When restoring a checkpoint the optimizers and schedulers already carry the lowered lr, so only the
        freezing is re-applied.
        """
        if phase not in PHASES:
            raise ValueError(f"unknown omnigan phase {phase!r}")
        self.phase = phase
        if phase != "translation":
            return
        if self.opt.repr_freeze:
            for name, module in [("encoder", self.G.encoder)] + [(k, d) for k, d in self.G.decoders.items()
                                                                    if k != "t"]:
                for p in module.parameters():
                    p.requires_grad_(False)
        elif not self.encoder_lr_scaled and not restoring:
            factor = self.opt.encoder_lr_mult
            for group in self.optimizer_E.param_groups:
                group["lr"] *= factor
                if "initial_lr" in group:
                    group["initial_lr"] *= factor
            for scheduler in self.schedulers:
                if getattr(scheduler, "optimizer", None) is self.optimizer_E and hasattr(scheduler, "base_lrs"):
                    scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
            self.encoder_lr_scaled = True
        if getattr(self.opt, "rank", 0) == 0 and not restoring:
            how = "frozen" if self.opt.repr_freeze else f"trainable at {self.opt.encoder_lr_mult}x lr"
            print(f"omnigan: translation phase starts (representation {how})")

    @property
    def train_repr(self):
        """Whether the representation (encoder, task and adaptation decoders, C) is trained in this phase."""
        return self.phase == "repr" or not self.opt.repr_freeze

    def active_heads(self):
        """Adversarial heads trained now: a while the representation trains, t in the translation phase."""
        heads = []
        if "a" in self.tasks and self.train_repr:
            heads.append("a")
        if "t" in self.tasks and self.phase == "translation":
            heads.append("t")
        return heads

    def update_learning_rate(self):
        lr = super().update_learning_rate()
        self.epochs_done += 1
        if self.phase == "repr" and "t" in self.tasks and self.epochs_done >= self.opt.repr_epochs:
            self._enter_phase("translation")
        return lr

    def state_dict_extra(self):
        return {"phase": self.phase, "epochs_done": self.epochs_done, "encoder_lr_scaled": self.encoder_lr_scaled}

    def load_state_dict_extra(self, state):
        self.epochs_done = int(state.get("epochs_done", self.epochs_done))
        self.encoder_lr_scaled = bool(state.get("encoder_lr_scaled", False))
        self.phase = "repr"
        # re-applies freezing; the scaled encoder lr came back with the optimizer and scheduler states
        self._enter_phase(state.get("phase", "repr"), restoring=True)

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

    def compute_visuals(self):
        if not self.outputs:
            with torch.no_grad():
                self.forward()
        vis = OrderedDict()
        for dom, out in self.outputs.items():
            vis[f"{dom}_x"] = self.batch[dom]["x"]
            for task in ("d", "h", "s", "w"):
                if task in out:
                    vis[f"{dom}_{task}"] = self._visual(task, out[task])
            for head in ("a", "t"):
                for target, img in out.get(head, {}).items():
                    vis[f"{dom}_{head}_{target}"] = img
        self.visuals = OrderedDict((k, v.detach().float()) for k, v in vis.items())

    def _visual(self, task, pred):
        """Map a head's raw output to an image in [-1, 1] (segmentation coloured, regression min-max scaled)."""
        pred = pred.detach().float()
        if task == "s":
            labels = pred.argmax(dim=1)
            return self.palette.to(pred.device)[labels].permute(0, 3, 1, 2)
        if task == "w":
            return pred.sigmoid() * 2 - 1
        lo = pred.amin(dim=(1, 2, 3), keepdim=True)
        hi = pred.amax(dim=(1, 2, 3), keepdim=True)
        return (pred - lo) / (hi - lo).clamp_min(1e-8) * 2 - 1

    def get_current_visuals(self):
        if not self.visuals:
            self.compute_visuals()
        return OrderedDict(self.visuals)

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

    def _generator_losses(self):
        """Sum of the generator's loss terms over the domains of the batch; fills loss_<name> and self.fakes."""
        opt, G, L = self.opt, self.G, self.losses["G"]
        heads = self.active_heads()
        self.fakes = {"a": {}, "t": {}}
        repr_total, trans_total = [], []
        uniform = None
        for dom, b in self.batch.items():
            x = b["x"]
            style, flood = dom[0], dom[1]
            with torch.set_grad_enabled(self.train_repr):
                z = G.encode(x)
            preds = {}
            if self.train_repr:
                for task in self.repr_tasks:
                    if task not in b and "t" not in heads:
                        continue  # no label here and no translation condition to build: skip the decoder
                    preds[task] = G.decode(task, z)
                    if task in b:
                        weight = getattr(opt, f"lambda_{task}")
                        term = weight * L["tasks"][task](preds[task].float(), b[task])
                        self._add(TASK_LOSS_NAMES[task], term)
                        repr_total.append(term)
                if "a" in heads:
                    auto = opt.lambda_auto_a * L["auto"]["a"](G.adapt(z, style).float(), x.float())
                    fake = G.adapt(z, other(style))
                    self.fakes["a"][dom] = fake
                    gan = opt.lambda_gan_a * L["gan"]["a"](self.D["a"][other(style)](fake), True,
                                                           for_discriminator=False)
                    cycle = opt.lambda_cycle_a * L["cycle"]["a"](G.adapt(G.encode(fake), style).float(), x.float())
                    for name, term in (("auto_a", auto), ("gan_a", gan), ("cycle_a", cycle)):
                        self._add(name, term)
                        repr_total.append(term)
                if opt.lambda_classifier > 0:
                    logits = self.C(z)
                    if uniform is None:
                        uniform = torch.full_like(logits, 1.0 / logits.shape[1], dtype=torch.float32)
                    term = opt.lambda_classifier * L["classifier"](logits, uniform[: logits.shape[0]])
                    self._add("classifier", term)
                    repr_total.append(term)
            if "t" in heads:
                # the condition is treated as given: task decoders learn from their own labels only
                with torch.no_grad():
                    cond = G.condition(z, preds).detach()
                auto = opt.lambda_auto_t * L["auto"]["t"](G.translate(z, flood, cond).float(), x.float())
                fake = G.translate(z, other(flood), cond)
                self.fakes["t"][dom] = fake
                gan = opt.lambda_gan_t * L["gan"]["t"](self.D["t"][other(flood)](fake), True,
                                                       for_discriminator=False)
                z_fake = G.encode(fake)
                with torch.no_grad():
                    cond_fake = G.condition(z_fake.detach()).detach()
                cycle = opt.lambda_cycle_t * L["cycle"]["t"](G.translate(z_fake, flood, cond_fake).float(), x.float())
                for name, term in (("auto_t", auto), ("gan_t", gan), ("cycle_t", cycle)):
                    self._add(name, term)
                    trans_total.append(term)
        self.loss_G_repr = sum(repr_total) if repr_total else None
        if "t" in self.tasks:
            self.loss_G_translation = sum(trans_total) if trans_total else None
        return sum(repr_total + trans_total)

    def step_G(self):
        """Generator update: encoder / task / adaptation decoders while the representation trains,
        translation decoders in the translation phase. D and C are frozen for this step."""
        self.set_requires_grad([self.netD, self.netC], False)
        g_optimizers = [self.optimizer_E, self.optimizer_G, self.optimizer_T]
        for o in g_optimizers:
            if o is not None:
                o.zero_grad(set_to_none=True)
        with self.autocast():
            self.loss_G = self._generator_losses()
        if torch.is_tensor(self.loss_G) and self.loss_G.requires_grad:
            self.backward(self.loss_G)
        stepped = [self.optimizer_E, self.optimizer_G] if self.train_repr else []
        if self.phase == "translation":
            stepped.append(self.optimizer_T)
        for o in g_optimizers:
            if o is None:
                continue
            if o in stepped:
                self.step(o)
            else:
                # an optimizer idle in this phase: none of its parameters has a gradient, so this changes
                # nothing; it only tells its scheduler the optimizer ran (no "scheduler before step" warning)
                o.step()

    def step_D(self):
        """Discriminator update over the multi-domain batch in the order of losses.d_update_plan."""
        if self.netD is None:
            return
        heads = self.active_heads()
        if not heads:
            return
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.d_update_order = d_update_plan(list(self.batch), heads)
        gan = self.losses["D"]
        totals = {h: [] for h in heads}
        pairs = {}
        for head, target, kind, dom in self.d_update_order:
            netD = self.D[head][target]
            image = self.batch[dom]["x"] if kind == "real" else self.fakes[head][dom].detach()
            with self.autocast():
                pred = netD(image)
            totals[head].append(0.5 * gan(pred, kind == "real", for_discriminator=True))
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
        """Domain classifier update on detached encoder features (only while the representation trains)."""
        if not self.train_repr or self.opt.lambda_C <= 0:
            self.optimizer_C.zero_grad(set_to_none=True)
            self.optimizer_C.step()  # no gradients: changes nothing, keeps its scheduler from warning
            return
        self.set_requires_grad(self.netC, True)
        self.optimizer_C.zero_grad(set_to_none=True)
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
        """One iteration: G, then D (order of the design notes), then C."""
        self._reset_losses()
        self.outputs, self.visuals = {}, OrderedDict()
        self.step_G()
        self.step_D()
        self.step_C()
