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
after G in both phases. Networks, losses and ExtraAdam live in models/omnigan/; docs/omnigan.md lists where
this differs from the published code.
"""
from collections import OrderedDict

import numpy as np
import torch
from torch.optim import lr_scheduler

from . import networks
from .base_model import BaseModel, unwrap
from .omnigan import DOMAINS, DomainClassifier, OmniDiscriminator, OmniGenerator, parameter_report, parse_tasks
from .omnigan.discriminators import NETD_CHOICES
from .omnigan.generator import TASK_ACTIVATIONS
from .omnigan.losses import (CLASSIFIER_CHOICES, RECON_CHOICES, WATER_CHOICES, build_losses, d_update_plan,
                             fooling_target, other)
from .omnigan.optim import ExtraAdam
from util import distributed
from util.errors import OptionError

TASK_LOSS_NAMES = {"d": "task_d", "h": "task_h", "s": "task_s", "w": "task_w"}
# what a comet --log_level shows: 1 the aggregated losses, 2 every loss
AGGREGATED_LOSSES = ("G", "G_repr", "G_translation", "D", "C")
PHASES = ("repr", "translation")


def deeplab_layers(opt):
    """--deeplab_layers as a tuple of 4 integers (OptionError otherwise)."""
    try:
        return tuple(int(n) for n in str(opt.deeplab_layers).split(","))
    except ValueError:
        raise OptionError(f"--deeplab_layers {opt.deeplab_layers!r} must be 4 comma-separated integers") from None


def _segmentation_palette(n_classes):
    """A fixed, well-spread colour per class (seeded so results pages are comparable across runs)."""
    rng = np.random.RandomState(1234)
    return torch.from_numpy(rng.randint(0, 256, size=(max(n_classes, 1), 3)).astype(np.float32) / 127.5 - 1.0)


class OmniganModel(BaseModel):
    """See the module docstring; the option help texts describe every knob."""

    # under torchrun: no DistributedDataParallel (the update calls the encoder, decoders and discriminators
    # directly); rank 0's weights are broadcast once and step() averages gradients before every update
    supports_distributed = True
    rate_options = ("lr", "encoder_lr_mult")  # a resume with another multiplier rescales the encoder's rates

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        # published: resize 256 -> random crop 224 -> resize back to 256 (--omni_final_size), ExtraAdam at lr
        # 5e-4 (beta1 0.9 for G, 0.5 for D and C), lr halved every 30 epochs
        parser.set_defaults(dataset_mode="omni", norm="instance", load_size=256, crop_size=224)
        if is_train:
            parser.set_defaults(optimizer="extraadam", lr=0.0005, beta1=0.5, lr_policy="step", lr_decay_iters=30)
        parser.add_argument("--tasks", type=str, default="a,d,h,s,t,w",
                            help="heads to build, among a (adaptation), d (depth), h (height), s (segmentation), "
                                 "t (translation), w (water); t needs at least one of d,h,s,w as its condition")
        parser.add_argument("--omni_encoder", type=str, default="munit", choices=["munit", "deeplabv2"],
                            help="encoder: MUNIT content encoder or DeepLab-v2 ResNet features + resblocks")
        parser.add_argument("--omni_enc_dim", type=int, default=64, help="MUNIT encoder width after the first conv")
        parser.add_argument("--omni_n_downsample", type=int, default=2,
                            help="MUNIT encoder downsamplings (decoders upsample as many times; deeplabv2 uses 3)")
        parser.add_argument("--omni_enc_n_res", type=int, default=4, help="residual blocks at the end of the encoder")
        parser.add_argument("--omni_dec_n_res", type=int, default=4,
                            help="residual blocks at the start of each task / adaptation decoder (published 4)")
        parser.add_argument("--omni_task_activation", type=str, default="tanh", choices=TASK_ACTIVATIONS,
                            help="output activation of the d, h, s decoders: tanh (published) or none (raw "
                                 "outputs); w always outputs logits, a always tanh")
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
        parser.add_argument("--spade_spectral", dest="spade_spectral", action="store_true", default=True,
                            help="spectral normalisation on the SPADE residual block convolutions (default on, "
                                 "as published)")
        parser.add_argument("--no_spade_spectral", dest="spade_spectral", action="store_false",
                            help="turn the SPADE spectral normalisation off")
        parser.add_argument("--spade_kernel_size", type=int, default=3,
                            help="kernel size of the convolutions inside the SPADE layers")
        parser.add_argument("--omni_cls_dim", type=int, default=128, help="width of the domain classifier C")
        parser.add_argument("--omni_val_freq", type=int, default=1,
                            help="every this many epochs, score the generator on the val lists (task and G losses "
                                 "as val_<name>, images of the first batch); 0 turns validation off")
        parser.add_argument("--omni_val_num", type=int, default=50, help="items of the val lists scored")
        parser.add_argument("--omni_netD", type=str, default="patch", choices=NETD_CHOICES,
                            help="discriminators: patch (published single-scale spectral-norm PatchGAN) or "
                                 "multiscale (pix2pixHD, --num_D scales)")
        if is_train:
            parser.add_argument("--lambda_gan_a", type=float, default=1.0, help="weight of the adaptation GAN loss")
            parser.add_argument("--lambda_gan_t", type=float, default=1.0, help="weight of the translation GAN loss")
            parser.add_argument("--lambda_cycle_a", type=float, default=1.0, help="weight of the adaptation cycle loss")
            parser.add_argument("--lambda_cycle_t", type=float, default=1.0, help="weight of the translation cycle loss")
            parser.add_argument("--lambda_auto_a", type=float, default=1.0,
                                help="weight of the adaptation auto-encoding (same-domain reconstruction) loss")
            parser.add_argument("--lambda_auto_t", type=float, default=1.0,
                                help="weight of the translation auto-encoding loss (representation phase)")
            parser.add_argument("--lambda_sm", type=float, default=1.0,
                                help="weight of the semantic matching loss (segmentation of the translation vs the "
                                     "source's)")
            parser.add_argument("--lambda_dm", type=float, default=1.0,
                                help="weight of the depth matching loss (depth of the translation vs the source's)")
            parser.add_argument("--lambda_d", type=float, default=1.0, help="weight of the depth loss")
            parser.add_argument("--lambda_h", type=float, default=1.0, help="weight of the height loss")
            parser.add_argument("--lambda_s", type=float, default=1.0, help="weight of the segmentation loss")
            parser.add_argument("--lambda_w", type=float, default=1.0, help="weight of the water-mask loss")
            parser.add_argument("--lambda_classifier", type=float, default=1.0,
                                help="weight of the generator's loss for fooling the domain classifier (0: off)")
            parser.add_argument("--lambda_C", type=float, default=1.0, help="weight of the domain classifier loss (0: off)")
            parser.add_argument("--cycle_loss", type=str, default="l2", choices=RECON_CHOICES, help="cycle loss")
            parser.add_argument("--auto_loss", type=str, default="l2", choices=RECON_CHOICES, help="auto-encoding loss")
            parser.add_argument("--depth_loss", type=str, default="l2", choices=RECON_CHOICES, help="depth loss")
            parser.add_argument("--height_loss", type=str, default="l2", choices=RECON_CHOICES, help="height loss")
            parser.add_argument("--water_loss", type=str, default="bce", choices=WATER_CHOICES, help="water-mask loss")
            parser.add_argument("--classifier_loss", type=str, default="ce", choices=CLASSIFIER_CHOICES,
                                help="loss of C and of the generator fooling C (ce: C is told the real/sim-swapped "
                                     "domain; l1/l2: the 1/4-filled vector)")
            parser.add_argument("--d_soft_shift", type=float, default=0.2,
                                help="discriminator label smoothing: real targets 1-u, fake targets u, u ~ U(0, "
                                     "this) drawn per loss term (lsgan/vanilla); 0 turns it off")
            parser.add_argument("--d_flip_prob", type=float, default=0.05,
                                help="probability that a discriminator loss term gets the opposite label; 0: off")
            parser.add_argument("--matching_grad", type=str, default="none", choices=["none", "fake"],
                                help="gradient of the sm/dm matching losses: none (published: both sides detached, "
                                     "the terms are only measured) or fake (through the translated image)")
            parser.add_argument("--matching_mask", type=str, default="random", choices=["random", "none"],
                                help="pixels the sm/dm losses count: random (published placeholder: a fresh 0/1 "
                                     "mask per term) or none (every pixel)")
            parser.add_argument("--omni_detach_condition", action="store_true",
                                help="treat the SPADE condition as given (no gradient from the translation losses "
                                     "into the task decoders); published: not detached")
            parser.add_argument("--repr_steps", type=int, default=10000,
                                help="iterations of the representation phase before the translation phase starts "
                                     "(0: translation from the start)")
            parser.add_argument("--repr_epochs", type=int, default=-1,
                                help="if >= 0, switch to translation after this many epochs instead of --repr_steps")
            parser.add_argument("--repr_freeze", action="store_true",
                                help="freeze the encoder during the translation phase (published "
                                     "freeze_representation; the task decoders keep training)")
            parser.add_argument("--encoder_lr_mult", type=float, default=1.0,
                                help="encoder learning rate multiplier in the translation phase (without --repr_freeze)")
            parser.add_argument("--beta1_G", type=float, default=0.9,
                                help="beta1 of the generator's optimizers (D and C use --beta1)")
            parser.add_argument("--lr_gamma", type=float, default=0.5,
                                help="factor of the lr every --lr_decay_iters epochs with --lr_policy step")
        # comet's --log_level (0 none, 1 aggregated, 2 all) is a visualizer option; see aggregated_loss_names
        return parser

    def architecture_options(self):
        return tuple(super().architecture_options()) + (
            "tasks", "omni_encoder", "omni_enc_dim", "omni_n_downsample", "omni_enc_n_res", "omni_dec_n_res",
            "omni_task_activation", "omni_n_classes", "omni_norm", "deeplab_layers", "deeplab_proj_dim",
            "spade_nhidden", "spade_norm", "spade_spectral", "spade_kernel_size", "omni_cls_dim")

    # ------------------------------------------------------------------ construction
    @classmethod
    def check_options(cls, opt):
        super().check_options(opt)
        deeplab_layers(opt)
        if opt.input_nc != 3:
            raise OptionError("omnigan works on RGB images: use --input_nc 3")
        if opt.isTrain and str(opt.optimizer).lower() == "extraadam" and opt.lookahead:
            raise OptionError("--lookahead does not combine with --optimizer extraadam")

    def __init__(self, opt):
        super().__init__(opt)
        self.tasks = parse_tasks(opt.tasks)
        layers = deeplab_layers(opt)
        self.netG = OmniGenerator(
            self.tasks, opt.input_nc, opt.omni_encoder, opt.omni_enc_dim, opt.omni_n_downsample, opt.omni_enc_n_res,
            opt.omni_dec_n_res, opt.omni_n_classes, opt.omni_norm, layers, opt.deeplab_weights, opt.deeplab_proj_dim,
            opt.spade_nhidden, opt.spade_norm, opt.spade_spectral, load_pretrained=False,
            task_activation=opt.omni_task_activation, spade_kernel_size=opt.spade_kernel_size)
        networks.init_net(self.netG, opt.init_type, opt.init_gain)
        if self.isTrain:
            # pretrained weights are only needed to start training; test runs load the trained G
            self.netG.load_pretrained()
        self.model_names = ["G"]
        self.palette = _segmentation_palette(opt.omni_n_classes)
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
                                                           len(DOMAINS)), opt.init_type, opt.init_gain)
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
            return ExtraAdam(params, lr=opt.lr, betas=(beta1, opt.beta2))
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

    # ------------------------------------------------------------------ validation
    def eval_dataset_spec(self):
        """The val lists, scored every --omni_val_freq epochs (data.create_eval_dataset keyword arguments)."""
        if not self.isTrain or self.opt.omni_val_freq <= 0:
            return None
        from data.omni_dataset import find_list
        root = self.opt.omni_lists_dir or self.opt.dataroot
        domains = [d.strip() for d in str(self.opt.omni_domains).split(",") if d.strip()]
        missing = [d for d in domains if find_list(root, d, "val") is None]
        if missing:
            if getattr(self.opt, "rank", 0) == 0:
                print(f"omnigan: no val list for {', '.join(missing)} in {root}: no validation during training "
                      f"(build <domain>_val lists or pass --omni_val_freq 0)")
            return None
        # the training geometry (published resize / crop / resize) with the fixed crops of epoch 0, no flips
        return {"phase": "val", "n": self.opt.omni_val_num, "test_preprocess": False}

    def validate(self):
        """Mean generator losses of the current phase and task losses over the val loader; visuals of batch 1."""
        sums, count, visuals = {}, 0, None
        saved = self.batch, getattr(self, "paths", {}), getattr(self, "image_paths", [])
        for data in self.eval_dataset:
            self.set_input(data)
            self._reset_losses()
            with torch.no_grad(), self.autocast():
                self.loss_G = self._generator_losses()
                for dom, b in self.batch.items():
                    z = self.G.encode(b["x"])
                    for task in self.repr_tasks:
                        if task in b:
                            self._add(f"val_{task}", self.losses["G"]["tasks"][task](
                                self.G.decode(task, z).float(), b[task]))
            values = self.get_current_losses()
            for task in self.repr_tasks:
                value = getattr(self, f"loss_val_{task}", None)
                if value is not None:
                    values[TASK_LOSS_NAMES[task]] = float(value)
                    setattr(self, f"loss_val_{task}", None)
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value
            count += 1
            if visuals is None:
                self.compute_visuals()
                visuals = OrderedDict((f"val_{k}", v) for k, v in self.visuals.items())
        self.batch, self.paths, self.image_paths = saved
        self._reset_losses()
        self.outputs, self.visuals = {}, OrderedDict()
        return {f"val_{k}": v / count for k, v in sums.items()} if count else {}, visuals

    def end_of_epoch(self, epoch, visualizer):
        """Validation on the val lists every --omni_val_freq epochs (losses logged, first batch shown)."""
        if getattr(self, "eval_dataset", None) is None or epoch % max(self.opt.omni_val_freq, 1):
            return
        metrics, visuals = self.validate()
        if metrics:
            visualizer.print_current_metrics(epoch, metrics, split="val")
        if visuals:
            visualizer.display_current_results(visuals, epoch, True)

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
        """Map a head's output to an image in [-1, 1] (segmentation coloured, regression min-max scaled)."""
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

    def _condition(self, z, preds=None):
        """SPADE condition from z (decoding the missing condition tasks); detached with --omni_detach_condition."""
        preds = dict(preds or {})
        for task in self.G.condition_tasks:
            if task not in preds:
                preds[task] = self.G.decode(task, z)
        cond = self.G.condition_from(preds, self.G.condition_tasks)
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
