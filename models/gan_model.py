"""Unconditional GANs, Ganzo's "standard game": a generator maps noise to images, a discriminator tells them
from real ones.

    python train.py --model gan --dataroot datasets/synthetic_shapes --name dcgan_shapes --crop_size 32
    python test.py  --model gan --name dcgan_shapes --num_samples 64

Families (--netG/--netD): fc, dcgan, Ganzo's conv, resnet (Gulrajani et al. 2017) and Ganzo's good, see
models/gan/architectures.py; plugins add their own with models.gan.register_generator / register_discriminator /
register_noise / register_hook.
Objectives (--gan_mode): vanilla (non-saturating), lsgan, hinge, wgan (Arjovsky's critic, weights clipped to
+-clip_weights, RMSprop lr 5e-5) and wgangp (gradient penalty, Adam lr 1e-4 betas (0, 0.9)).

The game: every loader batch is one discriminator step on fresh real images; after --d_iters of them the
generator takes --g_iters steps (--discriminator_hook / --generator_hook run once per such turn). The critic
count carries over from one epoch to the next; --max_batches_per_epoch counts generator turns, as in Ganzo.
Counters are part of the training state, so a resumed run is bit-identical.
--condition class makes it class-conditional (models/gan/conditional.py). See docs/unconditional.md.
"""
import copy
import math
import os
import warnings

import torch

from metrics.registry import get_metric, parse_metrics
from metrics.results import unpaired_metrics_message
from util import util
from util.errors import OptionError
from . import networks
from .base_model import BaseModel
from .networks import objectives
from .gan import (AUTO_NORM_D, DEFAULT_LAYERS, DISCRIMINATORS, FIXED_DEPTH, GENERATORS, HOOKS, NO_DROPOUT, NOISES,
                  ZOO_INIT, LabelTrickGANLoss, check_good_size, check_image_size)
from .gan.conditional import ConditionalGenerator, ProjectionDiscriminator

# test.py: the results page's grid shows the first samples only, so memory and the grid's size do not grow with
# --num_samples (every sample is still written to its own file as it is generated)
GRID_SAMPLES = 64
GAN_ARCHITECTURE = ('crop_size', 'output_nc', 'nz', 'noise', 'n_layers_G', 'dropout_G', 'dropout_D', 'norm_D',
                    'condition', 'n_classes')


def _set_help(parser, dest, text):
    for action in parser._actions:
        if action.dest == dest:
            action.help = text


def _has_option(parser, flag):
    return any(flag in action.option_strings for action in parser._actions)


class GanModel(BaseModel):
    """Generator G (noise -> image) and discriminator D, trained by --gan_mode; test.py draws --num_samples."""

    objective_family = objectives.GAN
    page_rows = GRID_SAMPLES
    rate_options = ('lr', 'lr_G', 'lr_D')

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        # Ganzo never flips (--flip turns it on); the data modes resize to --crop_size alone (--resize_mode), so
        # --load_size and --preprocess play no part
        parser.set_defaults(netG='dcgan', netD='dcgan', dataset_mode='folder', crop_size=64, load_size=64,
                            n_layers_D=None, no_flip=True, preprocess='none')
        _set_help(parser, 'netG', 'generator of --model gan: fc | dcgan | conv | resnet | good (conv and good: '
                                  'Ganzo\'s own), or one a plugin registered')
        _set_help(parser, 'netD', 'discriminator of --model gan: fc | dcgan | conv | resnet | good (conv and good: '
                                  'Ganzo\'s own), or one a plugin registered')
        _set_help(parser, 'n_layers_D', 'model gan: fc: number of linear layers of D (default 4); dcgan/resnet: '
                                        'extra conv layers / residual blocks of D (default 0); conv/good: 0 (their '
                                        'depth follows --crop_size)')
        _set_help(parser, 'output_nc', 'channels of the generated images: 1 (grey) or 3 (colour)')
        _set_help(parser, 'crop_size', 'side of the images, from 16 to 256, halving down to 4 to 7 pixels (16, 28, '
                                       '32, 64, ...; good: a multiple of 16); data are scaled to it')
        g = parser.add_argument_group('gan')
        g.add_argument('--nz', type=int, default=128,
                       help='size of the latent noise (Ganzo\'s --state-size and its default; DCGAN used 100)')
        g.add_argument('--resize_mode', type=str, default='stretch', choices=['stretch', 'cover_crop'],
                       help='how images reach --crop_size: stretch (both sides to it, bilinear, as Ganzo) or '
                            'cover_crop (short side to it, bicubic, then the centre square, as the DCGAN recipes)')
        g.add_argument('--noise', type=str, default='gaussian',
                       help='latent distribution: gaussian | uniform (in [-1, 1]), or one a plugin registered')
        g.add_argument('--n_layers_G', type=int, default=None,
                       help='fc: number of linear layers of G (default 4); dcgan/resnet: extra conv layers / '
                            'residual blocks of G (default 0); conv/good: 0 (their depth follows --crop_size)')
        g.add_argument('--dropout_G', type=float, default=0.0, help='dropout between generator layers (fc, dcgan)')
        g.add_argument('--dropout_D', type=float, default=0.0,
                       help='dropout between discriminator layers (fc, dcgan)')
        g.add_argument('--norm_D', type=str, default='auto', choices=['auto', 'batch', 'layer', 'none'],
                       help='normalisation in the dcgan/conv/resnet discriminator; auto: batch norm for conv (as '
                            'Ganzo), else layer norm for wgangp (as Gulrajani et al.) and batch norm otherwise; good '
                            'always has element-wise layer norm')
        g.add_argument('--condition', type=str, default='none', choices=['none', 'class'],
                       help='class: class-conditional GAN (one-hot class beside the noise in G, projection '
                            'discriminator); the data mode must give class labels (e.g. folder with class subfolders)')
        g.add_argument('--n_classes', type=int, default=0, help='number of classes for --condition class')
        g.add_argument('--fixed_noise', dest='fixed_noise', action='store_true', default=True,
                       help='training snapshots and test samples come from noise fixed by --noise_seed (default)')
        g.add_argument('--no_fixed_noise', dest='fixed_noise', action='store_false',
                       help='draw new noise for every snapshot grid and test run (from --seed)')
        g.add_argument('--noise_seed', type=int, default=0, help='seed of the fixed noise')
        g.add_argument('--n_fixed', type=int, default=64, help='samples in the snapshot grid shown every --display_freq')
        if not _has_option(parser, '--num_samples'):
            g.add_argument('--num_samples', type=int, default=64,
                           help=f'test.py: number of samples to generate (each saved as it is generated, plus '
                                f'one grid of the first {GRID_SAMPLES})')
        g.add_argument('--truncation', type=float, default=0.0,
                       help='redraw Gaussian noise coordinates beyond +-truncation (truncation trick); 0 disables it')
        if is_train:
            parser.set_defaults(n_epochs=25, n_epochs_decay=0, pool_size=0, batch_size=64, gan_mode='vanilla', optimizer=None,
                                lr=None, beta1=None, beta2=None, display_freq=6400, print_freq=640)
            for action in parser._actions:
                if action.dest == 'gan_mode':
                    action.choices = objectives.spellings(objectives.GAN)
                    action.help = objectives.gan_mode_help(objectives.GAN)
            _set_help(parser, 'optimizer', f'optimizer of G and D (default: {objectives.defaults_help("optimizer")})')
            _set_help(parser, 'lr', f'learning rate (default: {objectives.defaults_help("lr")})')
            _set_help(parser, 'beta1', f'beta1 of adam (default: {objectives.defaults_help("beta1")})')
            _set_help(parser, 'beta2', f'beta2 of adam (default: {objectives.defaults_help("beta2")})')
            g.add_argument('--lr_G', type=float, default=None, help='learning rate of G (default: --lr)')
            g.add_argument('--lr_D', type=float, default=None, help='learning rate of D (default: --lr)')
            g.add_argument('--d_iters', type=int, default=None,
                           help='discriminator steps (each on a new batch) per generator turn (default: '
                                f'{objectives.defaults_help("d_iters")})')
            g.add_argument('--g_iters', type=int, default=1, help='generator steps per generator turn')
            if not _has_option(parser, '--clip_weights'):
                g.add_argument('--clip_weights', type=float, default=None,
                               help='clamp every discriminator parameter to [-c, c] after each D step, 0 = off '
                                    f'(default: {objectives.defaults_help("clip_weights")})')
            g.add_argument('--soft_labels', action='store_true',
                           help='vanilla/lsgan: real targets (D\'s and G\'s, as in Ganzo) drawn in [0.9, 1.0], D\'s '
                                'fake ones in [0.0, 0.1]')
            g.add_argument('--hard_G_labels', action='store_true',
                           help='with --soft_labels: keep the generator\'s targets at 1 (only D\'s are soft)')
            g.add_argument('--noisy_labels', action='store_true',
                           help='vanilla/lsgan: flip D\'s real (and, independently, fake) targets with probability '
                                '--noisy_labels_freq per D step')
            g.add_argument('--noisy_labels_freq', type=float, default=0.1, help='how often --noisy_labels flips')
            g.add_argument('--max_batches_per_epoch', type=int, default=None,
                           help='end each epoch after this many generator turns, i.e. --d_iters times as many '
                                'batches (Ganzo\'s count; default: the whole dataset)')
            g.add_argument('--drop_last', action='store_true', default=True,
                           help='end each epoch before a last batch smaller than --batch_size (as Ganzo\'s loader; '
                                '--no_drop_last keeps it)')
            g.add_argument('--discriminator_hook', type=str, default='none',
                           help='applied to D once per discriminator turn (after its --d_iters steps): none | '
                                'weight_clipper (Ganzo\'s: clamp every layer\'s weight to +-clip_to), or one a '
                                'plugin registered')
            g.add_argument('--generator_hook', type=str, default='none',
                           help='applied to G once per generator turn (after its --g_iters steps): none | '
                                'weight_clipper, or one a plugin registered')
            g.add_argument('--clip_to', type=float, default=0.001,
                           help='bound of the weight_clipper hook (Ganzo\'s --clip-to)')
        else:
            parser.set_defaults(batch_size=16)
        return parser

    @classmethod
    def check_options(cls, opt):
        from data import find_dataset_using_name
        from data.unconditional import UnconditionalDataset
        check_image_size(opt.crop_size)
        if 'good' in (opt.netG, opt.netD):
            check_good_size(opt.crop_size)
        if opt.output_nc not in (1, 3):
            raise OptionError(f'--output_nc {opt.output_nc}: --model gan makes 1 (grey) or 3 (colour) channel images')
        if opt.nz < 1:
            raise OptionError(f'--nz {opt.nz}: the latent size must be at least 1')
        GENERATORS.get(opt.netG)
        DISCRIMINATORS.get(opt.netD)
        NOISES.get(opt.noise)
        if not issubclass(find_dataset_using_name(opt.dataset_mode), UnconditionalDataset):
            raise OptionError(f'--model gan trains on unlabelled images: use --dataset_mode folder, mnist, '
                             f'fashion_mnist, emnist, cifar10, cifar100 or lmdb, not {opt.dataset_mode}')
        if opt.n_layers_G is None:
            opt.n_layers_G = DEFAULT_LAYERS.get(opt.netG, 0)
        if opt.n_layers_D is None:
            opt.n_layers_D = DEFAULT_LAYERS.get(opt.netD, 0)
        for name, family in (('n_layers_G', opt.netG), ('n_layers_D', opt.netD)):
            if getattr(opt, name) < 0:
                raise OptionError(f'--{name} must be >= 0')
            if family in FIXED_DEPTH and getattr(opt, name):
                raise OptionError(f'--{name} {getattr(opt, name)}: the depth of {family} follows --crop_size (as '
                                  f'Ganzo\'s layer count does); set --{name} 0')
        for name, family in (('dropout_G', opt.netG), ('dropout_D', opt.netD)):
            if not 0 <= getattr(opt, name) < 1:
                raise OptionError(f'--{name} must be in [0, 1)')
            if family in NO_DROPOUT and getattr(opt, name):
                raise OptionError(f'--{name}: {family} has no dropout (as in Gulrajani et al. and Ganzo); set '
                                  f'--{name} 0')
        if opt.truncation < 0:
            raise OptionError('--truncation must be >= 0')
        if opt.truncation > 0 and opt.noise != 'gaussian':
            raise OptionError('--truncation applies to --noise gaussian only')
        if opt.n_fixed < 1:
            raise OptionError('--n_fixed must be at least 1')
        if opt.condition == 'class' and opt.n_classes < 2:
            raise OptionError('--condition class needs --n_classes (at least 2: e.g. 10 for mnist and cifar10, the '
                              'number of class subfolders for folder)')
        gan_mode = getattr(opt, 'gan_mode', None)
        if opt.netD == 'good' and opt.norm_D not in ('auto', AUTO_NORM_D['good']):
            raise OptionError(f'--norm_D {opt.norm_D}: --netD good always has element-wise layer norm (as Ganzo); '
                              f'leave --norm_D auto')
        if opt.norm_D == 'auto':
            opt.norm_D = AUTO_NORM_D.get(opt.netD, 'layer' if gan_mode == 'wgangp' else 'batch')
        if not opt.isTrain:
            if opt.num_samples < 1:
                raise OptionError('--num_samples must be at least 1')
            paired = [m for m in parse_metrics(opt.metrics or None) if get_metric(m).kind == 'paired']
            if paired:  # test.py scores the samples against the run's real images (fid, kid, isc) only
                raise OptionError(unpaired_metrics_message(paired))
            return
        for key, value in vars(objectives.accepted(gan_mode, cls.objective_family, opt.model).optimizer).items():
            if getattr(opt, key) is None:
                setattr(opt, key, value)
        opt.lr_G = opt.lr if opt.lr_G is None else opt.lr_G
        opt.lr_D = opt.lr if opt.lr_D is None else opt.lr_D
        if opt.d_iters < 1 or opt.g_iters < 1:
            raise OptionError(f'--d_iters {opt.d_iters} --g_iters {opt.g_iters}: both must be at least 1')
        if opt.clip_weights < 0:
            raise OptionError(f'--clip_weights must be >= 0 (got {opt.clip_weights})')
        if not 0 <= opt.noisy_labels_freq <= 1:
            raise OptionError('--noisy_labels_freq must be in [0, 1]')
        if (opt.soft_labels or opt.noisy_labels) and gan_mode not in ('vanilla', 'lsgan'):
            raise OptionError(f'--soft_labels/--noisy_labels change the targets of --gan_mode vanilla or lsgan; '
                             f'--gan_mode {gan_mode} has none')
        if opt.max_batches_per_epoch is not None and opt.max_batches_per_epoch < 1:
            raise OptionError('--max_batches_per_epoch must be at least 1')
        for name in ('discriminator_hook', 'generator_hook'):
            if getattr(opt, name) != 'none':
                HOOKS.get(getattr(opt, name))
        if opt.clip_to <= 0:
            raise OptionError(f'--clip_to must be > 0 (got {opt.clip_to})')
        if opt.hard_G_labels and not opt.soft_labels:
            raise OptionError('--hard_G_labels keeps the generator\'s targets hard under --soft_labels; add '
                              '--soft_labels or drop it')
        cls.check_metrics(opt)

    @staticmethod
    def check_metrics(opt):
        """Samples have no real counterpart: paired metrics (psnr, ssim, l1) would score them against unrelated
        real images, so --eval_metrics and --save_best metric:X take only the distribution metrics."""
        from metrics.registry import get_metric, metric_names, parse_metrics
        wanted = parse_metrics(opt.eval_metrics) if opt.eval_freq > 0 else []
        kind, _, name = str(opt.save_best).partition(':')
        if kind == 'metric' and name:
            wanted.append(get_metric(name).name)
        paired = [m for m in dict.fromkeys(wanted) if get_metric(m).kind == 'paired']
        if paired:
            raise OptionError(f"--model gan draws samples that have no paired real image, so {', '.join(paired)} would "
                              f"compare unrelated images: use {', '.join(metric_names('fidelity'))} in --eval_metrics "
                              f"and --save_best metric:NAME")

    def __init__(self, opt):
        super().__init__(opt)
        self.conditional = opt.condition == 'class'
        if self.conditional:  # G sees the one-hot class beside the noise; D projects a class embedding
            self.netG = ConditionalGenerator(self._build(GENERATORS, opt.netG, opt, extra_inputs=opt.n_classes),
                                             opt.n_classes)
        else:
            self.netG = self._build(GENERATORS, opt.netG, opt)
        self.noise_fn = NOISES.get(opt.noise)
        self.model_names = ['G']
        self.visual_names = ['fake']
        self.loss_names = []
        self.samples = []  # test.py: the first GRID_SAMPLES samples, for the grid of the results page
        if self.isTrain:
            self.netD = self._build(DISCRIMINATORS, opt.netD, opt)
            if self.conditional:
                self.netD = ProjectionDiscriminator(self.netD, opt.n_classes)
            self.model_names = ['G', 'D']
            self.visual_names = ['real', 'fake', 'grid']
            self.loss_names = ['G', 'D', 'D_real', 'D_fake'] + (['D_gp'] if opt.gan_mode == 'wgangp' else [])
            self.criterionGAN = LabelTrickGANLoss(opt.gan_mode, opt.soft_labels, opt.noisy_labels, opt.noisy_labels_freq,
                                                  soft_G_labels=opt.soft_labels and not opt.hard_G_labels
                                                  ).to(self.device)
            self.hooks = {net: None if getattr(opt, f'{kind}_hook') == 'none' else
                          HOOKS.get(getattr(opt, f'{kind}_hook'))(opt)
                          for net, kind in (('G', 'generator'), ('D', 'discriminator'))}
            self.optimizer_G = self.make_optimizer(self.netG.parameters(), lr=opt.lr_G)
            self.optimizer_D = self.make_optimizer(self.netD.parameters(), lr=opt.lr_D)
            self.optimizers = [self.optimizer_G, self.optimizer_D]
            self.critic_count = 0  # D steps since the last generator turn (carried over from one epoch to the next)
            self.d_steps = 0
            self.g_steps = 0
            self.epoch_g_steps = 0  # generator steps in the current epoch
            self.warned_idle_generator = False
            for name in self.loss_names:
                setattr(self, 'loss_' + name, None)
        self.fixed_z = self.noise_fn(opt.n_fixed, opt.nz, torch.Generator().manual_seed(opt.noise_seed), 'cpu',
                                     opt.truncation)

    @staticmethod
    def _build(table, name, opt, extra_inputs=0):
        if extra_inputs:
            opt = copy.copy(opt)
            opt.nz += extra_inputs
        net = table.get(name)(opt)
        if name in ZOO_INIT:
            networks.init_weights(net, opt.init_type, opt.init_gain)
        return net

    def architecture_options(self):
        return tuple(super().architecture_options()) + GAN_ARCHITECTURE

    def setup(self, opt):
        super().setup(opt)
        if not self.isTrain:
            opt.num_test = opt.num_samples
            opt.aspect_ratio = 1.0

    # ------------------------------------------------------------------ noise and data

    def sample_noise(self, n, generator=None, device=None):
        """``n`` latents: from the global RNG on the model's device, or from ``generator`` (CPU) when given."""
        return self.noise_fn(n, self.opt.nz, generator, device or self.device, self.opt.truncation)

    def indexed_noise(self, indices):
        """Noise of test sample i from (--noise_seed if --fixed_noise else --seed, i): independent of batching."""
        base = self.opt.noise_seed if self.opt.fixed_noise else int(self.opt.seed)
        return torch.cat([self.sample_noise(1, torch.Generator().manual_seed(base * 1000003 + i), 'cpu')
                          for i in indices]).to(self.device)

    def class_labels(self, indices):
        """Classes of generated samples by index (sample i is of class i mod --n_classes)."""
        return torch.as_tensor([int(i) % self.opt.n_classes for i in indices], device=self.device)

    def run_G(self, z, labels=None):
        return self.netG(z, labels) if self.conditional else self.netG(z)

    def run_D(self, images, labels=None):
        return self.netD(images, labels) if self.conditional else self.netD(images)

    def check_training_data(self, dataset):
        if not self.conditional:
            return
        labels = dataset.class_labels()
        if min(labels) < 0 or max(labels) >= self.opt.n_classes:
            raise OptionError(f'--condition class needs class labels in [0, {self.opt.n_classes}) (--n_classes '
                              f'{self.opt.n_classes}); the data have {sorted(labels)} (-1: images outside class '
                              f'subfolders): set --n_classes to the number of classes, or use data with class labels')

    def set_input(self, input):
        self.image_paths = input['A_paths']
        self.labels = None
        if 'A' in input:
            self.real = self.to_device(input['A'])
            self.z_index = None
            if self.conditional:  # within --n_classes (check_training_data)
                self.labels = torch.as_tensor(input['label']).to(self.device)
        else:
            self.real = None
            self.z_index = [int(i) for i in input['z_index']]
            if self.conditional:
                self.labels = self.class_labels(self.z_index)

    def forward(self):
        if self.real is None:
            z = self.indexed_noise(self.z_index)
        else:
            z = self.sample_noise(self.real.shape[0])
        with self.autocast():
            self.fake = self.run_G(z, self.labels)  # conditional: the fakes take the real batch's classes

    # ------------------------------------------------------------------ training

    def step(self, optimizer):
        super().step(optimizer)
        if optimizer is self.optimizer_D:
            self.d_steps += 1
            if self.opt.clip_weights > 0:
                with torch.no_grad():
                    for param in self.netD.parameters():
                        param.clamp_(-self.opt.clip_weights, self.opt.clip_weights)
        elif optimizer is self.optimizer_G:
            self.g_steps += 1
            self.epoch_g_steps += 1

    def backward_D(self, fake):
        """One discriminator step on the current real batch and ``fake`` (detached).

        Not networks.discriminator_loss: the published GAN/WGAN critics sum the real and fake terms (no 0.5), and
        --gan_mode wgan shares the Wasserstein criterion with wgangp but takes no gradient penalty.
        """
        self.criterionGAN.start_discriminator_step()
        fake = fake.detach()
        with self.autocast():
            pred_real = self.run_D(self.real, self.labels)
            pred_fake = self.run_D(fake, self.labels)
        self.loss_D_real = self.criterionGAN(pred_real, True)
        self.loss_D_fake = self.criterionGAN(pred_fake, False)
        self.loss_D = self.loss_D_real + self.loss_D_fake
        if self.opt.gan_mode == 'wgangp':
            critic = (lambda x: self.netD(x, self.labels)) if self.conditional else self.netD
            self.loss_D_gp = networks.gradient_penalty(critic, self.real, fake.to(self.real.dtype),
                                                       lambda_gp=self.opt.lambda_gp)
            self.loss_D = self.loss_D + self.loss_D_gp
        self.backward(self.loss_D)

    def backward_G(self, fake):
        with self.autocast():
            pred = self.run_D(fake, self.labels)
        self.loss_G = self.criterionGAN(pred, True, for_discriminator=False)
        self.backward(self.loss_G)

    def optimize_parameters(self):
        opt = self.opt
        generator_turn = self.critic_count + 1 >= opt.d_iters
        if generator_turn:
            self.forward()  # keeps the graph to G for its first step below
        else:
            with torch.no_grad():
                self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D(self.fake)
        self.step(self.optimizer_D)
        self.critic_count += 1
        if not generator_turn:
            return
        self.critic_count = 0
        self.apply_hook('D')
        self.set_requires_grad(self.netD, False)
        batch = self.real.shape[0]
        for i in range(opt.g_iters):
            if i > 0:
                with self.autocast():
                    self.fake = self.run_G(self.sample_noise(batch), self.labels)
            self.optimizer_G.zero_grad(set_to_none=True)
            self.backward_G(self.fake)
            self.step(self.optimizer_G)
        self.apply_hook('G')

    def apply_hook(self, net):
        """--generator_hook / --discriminator_hook, once per turn of that network."""
        if self.hooks[net] is not None:
            self.hooks[net](getattr(self, 'net' + net))

    def end_of_epoch(self, epoch, visualizer):
        """Say once, in one line, when a whole epoch passed without a generator step (--d_iters spans more than
        an epoch's batches); the loss lines then show G from its last step."""
        if self.epoch_g_steps == 0 and not self.warned_idle_generator:
            self.warned_idle_generator = True
            visualizer.log_message(
                f'warning: epoch {epoch} ended without a generator step (--d_iters {self.opt.d_iters} is more than '
                f'the batches since its last turn); the critic count carries over, so G steps at its next turn, and '
                f'the G loss shown is that of its last step')
        self.epoch_g_steps = 0

    def update_learning_rate(self):
        with warnings.catch_warnings():  # G's scheduler steps before G did when a turn spans the epoch (said above)
            warnings.filterwarnings('ignore', message='Detected call of `lr_scheduler')
            return super().update_learning_rate()

    def state_dict_extra(self):
        return {'critic_count': self.critic_count, 'd_steps': self.d_steps, 'g_steps': self.g_steps,
                'epoch_g_steps': self.epoch_g_steps, 'warned_idle_generator': self.warned_idle_generator}

    def load_state_dict_extra(self, state):
        self.critic_count = int(state.get('critic_count', 0))
        self.d_steps = int(state.get('d_steps', 0))
        self.g_steps = int(state.get('g_steps', 0))
        self.epoch_g_steps = int(state.get('epoch_g_steps', 0))
        self.warned_idle_generator = bool(state.get('warned_idle_generator', False))

    # ------------------------------------------------------------------ snapshots and samples

    @torch.no_grad()
    def snapshot_samples(self):
        """--n_fixed samples of G as it is now (train mode, as during training), from the fixed noise or, with
        --no_fixed_noise, fresh noise; RNG streams and batch-norm statistics are left as they were."""
        if self.opt.fixed_noise:
            z = self.fixed_z
        else:
            z = self.sample_noise(self.opt.n_fixed, torch.Generator().manual_seed(int(self.opt.seed) + self.d_steps),
                                  'cpu')
        rng = util.get_rng_states()
        buffers = [(b, b.detach().clone()) for b in self.netG.buffers()]
        try:
            with self.autocast():
                labels = self.class_labels(range(len(z))) if self.conditional else None
                return self.run_G(z.to(self.device), labels).float()
        finally:
            for buffer, saved in buffers:
                buffer.copy_(saved)
            util.set_rng_states(rng)

    @torch.no_grad()
    def generate_samples(self, n, seed=0, batch_size=64):
        """``n`` samples (CPU, [-1, 1]) of G in its current mode from noise seeded by (--noise_seed, seed + i), for
        --eval_freq metrics; RNG streams and batch-norm statistics are left as they were."""
        rng = util.get_rng_states()
        buffers = [(b, b.detach().clone()) for b in self.netG.buffers()]
        try:
            out = []
            for start in range(0, n, batch_size):
                idx = range(seed + start, seed + min(n, start + batch_size))
                z = torch.cat([self.sample_noise(1, torch.Generator().manual_seed(self.opt.noise_seed * 1000003 + i + 1),
                                                 'cpu') for i in idx]).to(self.device)
                with self.autocast():
                    out.append(self.run_G(z, self.class_labels(idx) if self.conditional else None).float().cpu())
            return torch.cat(out) if out else torch.zeros(0)
        finally:
            for buffer, saved in buffers:
                buffer.copy_(saved)
            util.set_rng_states(rng)

    def compute_visuals(self):
        if self.isTrain:
            self.grid = make_grid(self.snapshot_samples())
        elif self.fake is not None:
            room = min(GRID_SAMPLES, self.opt.num_samples) - len(self.samples)
            if room > 0:  # clone: a view would keep the whole batch alive
                self.samples.extend(self.fake[:room].detach().float().cpu().clone())

    def add_to_results_page(self, webpage):
        """test.py: the first GRID_SAMPLES samples in one grid, under the per-sample table; returns the file
        names written (test.py keeps them when it clears an earlier run's images)."""
        if not self.samples:
            return []
        samples = torch.stack(self.samples)
        name = 'grid.png'
        util.save_image(util.tensor2im(make_grid(samples)), os.path.join(webpage.get_image_dir(), name))
        total = self.opt.num_samples
        shown = f'All {total} samples' if len(samples) == total else f'The first {len(samples)} of {total} samples'
        webpage.add_header(shown)
        if len(samples) < total:
            webpage.add_text(f'every sample is in images/ (sample_0000_fake.png to sample_{total - 1:04d}_fake.png)')
        webpage.add_images([name], [f'{shown.lower()} of {self.opt.name}'], [name],
                           width=min(1024, getattr(self.opt, 'display_winsize', 256) * 2))
        return [name]


def make_grid(images):
    """(N, C, H, W) in [-1, 1] -> (1, C, H', W') grid of about sqrt(N) columns, 2 px borders."""
    import torchvision
    nrow = max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    return torchvision.utils.make_grid(images.detach().float().cpu(), nrow=nrow, padding=2, pad_value=-1.0)[None]
