"""BaseModel: the contract every model of the zoo implements, and the machinery they share.

A model defines its networks (``self.net<Name>``), losses (``self.loss_<name>``), visuals and optimizers,
and implements ``set_input``, ``forward`` and ``optimize_parameters``. BaseModel provides device placement,
mixed precision, channels_last and compilation, learning-rate schedules, and the checkpoint methods (exact-resume
training state, atomic network files, checks that a checkpoint matches the options), whose file format lives in
models/checkpoint.py.
"""
import contextlib
import os
import re
from abc import ABC, abstractmethod
from collections import OrderedDict

import torch

from util import cpu_memory, distributed
from util.distributed import unwrap
from util.errors import CheckpointError, OptionError  # noqa: F401 (CheckpointError re-exported)
from . import checkpoint, networks
from .checkpoint import ARCHITECTURE_OPTIONS, TRAINING_STATE_FORMAT  # noqa: F401 (re-exported)
from .dense_step import register_dense_step
from .networks import objectives


class BaseModel(ABC):
    """Abstract base of all models; see models/pix2pix_model.py for a complete small example."""

    # Which --gan_mode values the model takes (a family of models/networks/objectives.py)
    objective_family = objectives.IMAGE_TO_IMAGE

    # test.py: results-page rows for the first page_rows images only (None: every image); every image is still
    # written to its file. Models that make thousands of samples cap it so that the page stays small.
    page_rows = None

    def __init__(self, opt):
        self.opt = opt
        self.gpu_ids = opt.gpu_ids
        self.isTrain = opt.isTrain
        self.device = opt.device
        self.save_dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.loss_names = []
        self.model_names = []
        self.visual_names = []
        self.optimizers = []
        self.schedulers = []
        self.image_paths = []
        self.image_pools = OrderedDict()
        self.metric = None  # what the plateau policy steps on (train.py sets it each epoch; None: no step)
        self.eval_dataset = None  # a held-out split handed over by train.py (see eval_dataset_spec)
        self.amp_dtype = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[getattr(opt, 'amp', 'none')]
        self.scaler = torch.amp.GradScaler('cuda', enabled=self.amp_dtype == torch.float16)
        if getattr(opt, 'keep_cpu_memory', False):
            cpu_memory.keep_freed_memory()  # process-wide (util/cpu_memory.py)
        if self.device.type == 'cuda' and opt.preprocess != 'none':
            torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels

    @staticmethod
    def modify_commandline_options(parser, is_train):
        """Add model-specific options and change the defaults of shared ones."""
        return parser

    @classmethod
    def check_options(cls, opt):
        """The model's option checks, all in this one hook: raise util.errors.OptionError with one line that says
        what to change, and fill values derived from several options. Called on the parsed options before anything
        is built or written (train.py, test.py and the tools); a subclass extends its parent's checks with
        ``super().check_options(opt)``. Here: --gan_mode is one the model takes."""
        if opt.isTrain and getattr(opt, 'gan_mode', None) is not None:
            objectives.accepted(opt.gan_mode, cls.objective_family, opt.model)

    def check_training_data(self, dataset):
        """Checks of the training data against the options that need the dataset itself (e.g. class labels
        within --n_classes), made by train.py before the run writes anything; ``dataset`` is the dataset mode.
        No-op here."""

    @abstractmethod
    def set_input(self, input):
        """Unpack a batch from the data loader (and move it to the device with :meth:`to_device`)."""

    @abstractmethod
    def forward(self):
        """Run the networks; called by optimize_parameters and test."""

    @abstractmethod
    def optimize_parameters(self):
        """Compute losses and gradients and update the networks for one batch."""

    def set_input_pair(self, input):
        """Take real_A / real_B (swapped by --direction BtoA) and the input paths from an {A, B} batch."""
        AtoB = self.opt.direction == 'AtoB'
        self.real_A = self.to_device(input['A' if AtoB else 'B'])
        self.real_B = self.to_device(input['B' if AtoB else 'A'])
        self.image_paths = input['A_paths' if AtoB else 'B_paths']

    # ------------------------------------------------------------------ devices and precision

    def to_device(self, tensor):
        """Move an input tensor to the model's device (and memory format)."""
        tensor = tensor.to(self.device, non_blocking=True)
        if getattr(self.opt, 'channels_last', False) and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def autocast(self):
        """Mixed-precision context for forward passes (a no-op with --amp none)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def cast_cache(self):
        """Scope of one training step for mixed precision: the casts of trained weights that the autocast regions
        inside it make are cached until it ends (an optimizer step clears them), so a network called several
        times in a step has its weights cast once. Code between the regions runs in full precision as without
        it. A no-op with --amp none."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        # an outer, disabled autocast: regions nested in it do not clear the cast cache when they end, it does
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=False)

    def backward(self, loss, **kwargs):
        """Backward pass through the gradient scaler (fp16) or plainly."""
        self.scaler.scale(loss).backward(**kwargs)

    def step(self, optimizer):
        """Optimizer step through the gradient scaler (skipped by fp16 when gradients overflowed)."""
        self.scaler.step(optimizer)
        self._stepped = True
        if self.amp_dtype is not None:
            torch.clear_autocast_cache()  # the weights changed: no cast made before the step may be reused

    def train_step(self):
        """One training iteration: the model's optimize_parameters, then the gradient scaler's update (only
        after an optimizer stepped: iterations that only accumulate gradients leave the scale alone)."""
        self._stepped = False
        distributed.sync_buffers(getattr(self, 'net' + name) for name in self.model_names)
        self.optimize_parameters()
        if self.scaler.is_enabled() and self._stepped:
            self.scaler.update()

    def make_optimizer(self, params, lr=None, beta1=None, beta2=None):
        """An optimizer of the kind chosen by --optimizer (adam by default) with the options' lr and betas (or
        the given ones)."""
        opt = self.opt
        optimizer = networks.make_optimizer(params, name=opt.optimizer, lr=opt.lr if lr is None else lr,
                                            beta1=opt.beta1 if beta1 is None else beta1,
                                            beta2=opt.beta2 if beta2 is None else beta2,
                                            lookahead=opt.lookahead, fused=getattr(opt, 'fused_optimizer', False))
        # NHWC weights updated in place, without contiguous copies; gradients and moments in their weight's layout
        return register_dense_step(optimizer)

    def make_pool(self, name):
        """An ImagePool of --pool_size whose state is part of the training checkpoint."""
        from util.image_pool import ImagePool
        rank_offset = 1000003 * getattr(self.opt, 'rank', 0)  # each rank picks its own history images
        pool = ImagePool(self.opt.pool_size, seed=int(self.opt.seed) + len(self.image_pools) + rank_offset)
        self.image_pools[name] = pool
        return pool

    def networks(self):
        """(name, module) for every network in model_names."""
        return [(name, getattr(self, 'net' + name)) for name in self.model_names]

    def _place_networks(self):
        channels_last = getattr(self.opt, 'channels_last', False)
        for name, net in self.networks():
            net.to(self.device)
            if channels_last:
                net.to(memory_format=torch.channels_last)
        self.wrap_networks()
        if getattr(self.opt, 'compile', False):
            from torch import _dynamo  # a plain `import torch._dynamo` here would make `torch` a local name
            _dynamo.config.suppress_errors = True  # fall back to eager (with a warning) where compilation fails
            for name, net in self.networks():
                setattr(self, 'net' + name, torch.compile(net))

    # Options that set a learning rate besides --lr (e.g. --lr_G): saved with the training state and reported when a
    # resume changes them (models/resume.py recomputes every rate from the current options either way).
    rate_options = ('lr',)

    # Models whose updates call sub-networks (encoders, heads) directly, past DistributedDataParallel's gradient
    # synchronisation, set this to False: torchrun then stops with a clear error instead of letting replicas drift.
    supports_distributed = True

    def wrap_networks(self):
        """Under torchrun, wrap every trained network in DistributedDataParallel (util/distributed.py); a frozen
        network called through its wrapper runs plainly, so D-then-G updates need no find_unused_parameters."""
        if not (self.isTrain and distributed.is_distributed()):
            return
        if not self.supports_distributed:
            raise ValueError(f'--model {self.opt.model} trains in one process only (its update calls sub-networks '
                             f'directly, which DistributedDataParallel would not synchronise); run train.py '
                             f'without torchrun')
        for name, net in self.networks():
            if distributed.is_trained(net):
                setattr(self, 'net' + name, distributed.wrap_network(net, self.opt))

    # ------------------------------------------------------------------ setup, test, schedules

    def setup(self, opt):
        """Place the networks, create schedulers, load weights for testing and print the networks."""
        if self.isTrain:
            self.schedulers = [self.make_scheduler(optimizer) for optimizer in self.optimizers]
            # each parameter group's learning rate as built from the options: saved with the training state, so a
            # resume with other rate options (--lr, --lr_G, ...) rescales every group by what its options changed
            self.built_lrs = [[group.get('initial_lr', group['lr']) for group in optimizer.param_groups]
                              for optimizer in self.optimizers]
        if not self.isTrain:
            self.load_networks(self.checkpoint_label(opt))
        self._place_networks()
        self.check_crop_size()
        if getattr(opt, 'rank', 0) == 0:
            self.print_networks(opt.verbose)

    def make_scheduler(self, optimizer):
        """The --lr_policy scheduler of one optimizer, made by setup and again by a resume that recomputes the
        schedule from the current options (models/resume.py); models with their own schedule override it."""
        return networks.get_scheduler(optimizer, self.opt)

    def check_crop_size(self):
        """An OptionError when --crop_size cannot pass through the --netG U-Net (it would fail in the first forward
        pass with a torch error); called by setup, so a run that cannot work stops before writing anything."""
        opt = self.opt
        unet = re.match(r'^unet_(\d+)$', str(getattr(opt, 'netG', '')))
        if unet is None or getattr(opt, 'preprocess', 'none') == 'none' or opt.crop_size % int(unet.group(1)) == 0:
            return
        size = int(unet.group(1))
        fits = opt.crop_size & -opt.crop_size  # the largest power of two dividing the crop
        raise OptionError(f'--netG unet_{size} halves the image {size.bit_length() - 1} times, so it needs '
                          f'--crop_size {size} or a multiple of it, not {opt.crop_size}; for {opt.crop_size} px '
                          f'crops use --netG unet_{fits}')

    @staticmethod
    def checkpoint_label(opt):
        return f'iter_{opt.load_iter}' if opt.load_iter > 0 else str(opt.epoch)

    def eval(self):
        for _, net in self.networks():
            net.eval()

    def train(self):
        for _, net in self.networks():
            net.train()

    def test(self):
        """Forward pass without gradients, used by test.py."""
        with torch.inference_mode(), self.autocast():
            self.forward()
            self.compute_visuals()

    def compute_visuals(self):
        """Compute extra images to show (called after the forward pass at test time)."""

    def test_metrics(self):
        """Numbers the model measured itself over the test run (e.g. sample diversity); test.py prints them and
        adds them to metrics.json and the results page. Models that draw several samples override this."""
        return {}

    def add_to_results_page(self, webpage):
        """Add model-specific content (e.g. a grid of samples) to test.py's results page and return the names of
        the image files it wrote into the page's image folder; none here."""
        return []

    def get_image_paths(self):
        return self.image_paths

    def end_of_epoch(self, epoch, visualizer):
        """Hook called by train.py after each epoch's last batch (validation, task schedules...); no-op here.

        ``visualizer`` offers print_current_metrics(epoch, metrics) and log_message(text) for what it reports.
        """

    def after_train_step(self, epoch, total_iters, images_per_step, visualizer):
        """Hook called by train.py after every training step (``total_iters`` images seen so far, all ranks
        together), e.g. for held-out evaluations that drive a task schedule; no-op here."""

    def final_epoch(self, next_epoch, planned):
        """Last epoch to train, asked by train.py before each epoch (``planned`` = n_epochs + n_epochs_decay);
        models whose schedule depends on training progress may extend or end it."""
        return planned

    def eval_dataset_spec(self):
        """Keyword arguments of ``data.create_eval_dataset`` (phase, n, test_preprocess) for a held-out split the
        model scores itself during training (LiSS's validation), or None. Models build no loaders: train.py
        builds this one and hands it to :meth:`set_eval_dataset`."""
        return None

    def set_eval_dataset(self, dataset):
        """Receive the held-out loader described by :meth:`eval_dataset_spec`."""
        self.eval_dataset = dataset

    def update_learning_rate(self):
        """Step every scheduler once (at the end of an epoch) and report the new learning rate."""
        old_lr = self.optimizers[0].param_groups[0]['lr']
        for scheduler in self.schedulers:
            if self.opt.lr_policy == 'plateau':
                if self.metric is not None:  # no new measurement this epoch: the plateau counters wait
                    scheduler.step(self.metric)
            else:
                scheduler.step()
        lr = self.optimizers[0].param_groups[0]['lr']
        if getattr(self.opt, 'rank', 0) == 0:
            print(f'learning rate {old_lr:.7f} -> {lr:.7f}')
        return lr

    def get_current_visuals(self):
        """OrderedDict of visual name -> image batch (float, in [-1, 1])."""
        visual_ret = OrderedDict()
        for name in self.visual_names:
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                visual_ret[name] = value.detach().float()
        return visual_ret

    def aggregated_loss_names(self):
        """Names of losses that already sum up the others, logged alone at --log_level 1; None lets the
        visualizer sum the losses per network instead."""
        return None

    def get_current_losses(self):
        """OrderedDict of loss name -> float for the last iteration."""
        errors_ret = OrderedDict()
        for name in self.loss_names:
            value = getattr(self, 'loss_' + name, None)
            if value is not None:
                errors_ret[name] = float(value.detach()) if torch.is_tensor(value) else float(value)
        return errors_ret

    # ------------------------------------------------------------------ checkpoints (format: models/checkpoint.py)

    def network_path(self, label, name):
        return checkpoint.network_path(self.save_dir, label, name)

    def save_networks(self, label):
        """Save every network as ``<label>_net_<name>.pth`` (plain state_dict, classic key names)."""
        for name, net in self.networks():
            checkpoint.save_network(net, self.network_path(label, name))

    def network_files(self, label):
        """The files :meth:`save_networks` writes for ``label`` (models that save more add theirs)."""
        return [self.network_path(label, name) for name in self.model_names]

    def available_labels(self):
        """Checkpoint labels saved for this experiment (epochs, iter_N, latest)."""
        return checkpoint.available_labels(self.save_dir)

    def load_networks(self, label):
        """Load ``<label>_net_<name>.pth`` into every network, after checking the architecture options."""
        self.check_architecture(self.saved_architecture(), 'the training options in ' + self.save_dir)
        for name, net in self.networks():
            path = self.network_path(label, name)
            state_dict = checkpoint.read_network(path, self.save_dir, self.device,
                                                 verbose=getattr(self.opt, 'rank', 0) == 0)
            self.load_network_state(unwrap(net), state_dict, path)

    def load_network_state(self, net, state_dict, path):
        """load_state_dict with a short explanation instead of a long key diff when it does not fit."""
        checkpoint.load_network_state(net, state_dict, path, self.opt)

    def saved_architecture(self):
        """Architecture options recorded by the training run (train_opt.yaml), or {} for foreign weights."""
        return checkpoint.saved_architecture(self.save_dir, self.architecture_options())

    def architecture_options(self):
        """Options that shape the saved networks; models with more add theirs here."""
        return ARCHITECTURE_OPTIONS

    def check_architecture(self, saved, source):
        """Raise CheckpointError naming the first option whose value differs from the saved one."""
        checkpoint.check_architecture(self.opt, self.architecture_options(), saved, source)

    # ------------------------------------------------------------------ exact-resume training state

    def state_dict_extra(self):
        """Model-specific training state (schedules, EMA networks, phases...) to save for exact resume."""
        return {}

    def load_state_dict_extra(self, state):
        """Restore what :meth:`state_dict_extra` returned."""

    def training_state_path(self, label):
        return checkpoint.training_state_path(self.save_dir, label)

    def save_training_state(self, label, epoch, epoch_iter, total_iters, epoch_samples=None):
        """Save everything needed to continue training exactly: networks, optimizers, schedulers, gradient
        scaler, image pools, RNG states and counters, in one atomically written file.

        Distributed runs: every rank must call this (it is collective); rank 0 writes the file.
        """
        checkpoint.save_training_state(self, self.training_state_path(label), epoch, epoch_iter, total_iters,
                                       epoch_samples)

    def load_training_state(self, label, state=None):
        """Restore a training state saved by :meth:`save_training_state`; returns (epoch, epoch_iter, total_iters).

        Call after :meth:`setup`. ``state``: the file's content when already read. Learning rates are recomputed
        from the current options at the saved position (models/resume.py); RNG states are restored last, so
        the run continues as if never stopped.
        """
        return checkpoint.load_training_state(self, self.training_state_path(label), state)

    # ------------------------------------------------------------------ misc

    def print_networks(self, verbose):
        print('---------- Networks initialized -------------')
        for name, net in self.networks():
            num_params = sum(p.numel() for p in net.parameters())
            if verbose:
                print(net)
            print(f'[Network {name}] Total number of parameters : {num_params / 1e6:.3f} M')
        print('-----------------------------------------------')

    def set_requires_grad(self, nets, requires_grad=False):
        """Freeze or unfreeze networks (avoids computing gradients for a discriminator while updating G)."""
        if not isinstance(nets, (list, tuple)):
            nets = [nets]
        for net in nets:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad

    def discriminator_loss(self, netD, real, fake):
        """D loss 0.5 * (L(D(real), real) + L(D(fake), fake)), plus the gradient penalty for WGAN-GP.

        Returns (total, real term, fake term); the fake input is detached so G gets no gradient from it.
        """
        return networks.discriminator_loss(self.criterionGAN, netD, real, fake, self.opt.lambda_gp, self.autocast)

