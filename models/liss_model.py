"""LiSS: CycleGAN with lifelong self-supervision (Schmidt et al., 2020, "Towards Lifelong Self-Supervision for
Unpaired Image-to-Image Translation").

Each generator is an encoder shared by the translation decoder and auxiliary self-supervised heads (rotation,
jigsaw, depth, gray; see models/liss). A task schedule, driven by metrics on the held-out split (the whole test
split by default) at the first iteration and every --display_freq images, decides which heads train; an
exponential moving average of past encoders (the reference encoder) and a distillation loss keep what earlier
tasks taught the encoder. The linear learning-rate decay counts only epochs in which translation trains, and
training goes on until it is done. With no auxiliary task this is CycleGAN exactly.

Multi-process (torchrun): every rank builds identical networks (same seed, then a broadcast from rank 0),
gradients are averaged explicitly before each optimizer step (the heads and encoders are called directly,
past any DistributedDataParallel wrapper), held-out metrics are summed over ranks before any schedule
decision, and reference encoders and schedule states are compared across ranks at every save.
"""
import copy
import itertools
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F

from util import distributed
from util.errors import OptionError
from . import networks
from .base_model import unwrap
from .cycle_gan_model import CycleGANModel
from .liss import (AUX_TASKS, REPR_MODES, ROTATION_CLASSES, SCHEDULES, LissGenerator, RotationDiscriminator,
                   TaskSchedule, build_heads, depth_target, jigsaw_batch, jigsaw_crop_size, parse_tasks,
                   rotation_batch, to_gray)

# RAdam of the torch-optimizer package (the paper's optimizer); plain 'radam' would resolve to torch.optim's.
DEFAULT_OPTIMIZER = 'torch_optimizer.radam'
LAMBDAS = {'rotation': 'lambda_R', 'jigsaw': 'lambda_J', 'depth': 'lambda_D', 'gray': 'lambda_G'}
THRESHOLDS = {'rotation': 'rotation_acc_threshold', 'jigsaw': 'jigsaw_acc_threshold',
              'depth': 'depth_loss_threshold', 'gray': 'gray_loss_threshold', 'identity': 'i_loss_threshold'}
LEARNING_RATES = {'rotation': 'lr_rotation', 'jigsaw': 'lr_jigsaw', 'depth': 'lr_depth', 'gray': 'lr_gray'}
LISS_NETG = 'liss'  # resnet_6blocks split 3 / 3, heads with 3 residual blocks (the published --netG liss)
LISS_BLOCKS = 6


class LissModel(CycleGANModel):
    """CycleGAN + auxiliary heads + task schedule + reference encoder (see the module docstring).

    Extension points used: build_generator (multi-head generators), generator_parameters (per-task learning
    rates), forward (encodes once, so distillation reuses the features), generator_loss (auxiliary, identity,
    distillation and D-rotation terms), discriminator_loss (SSGAN rotation term), optimize_parameters (D updates
    only for what trains now), after_train_step (held-out evaluation and schedule), update_learning_rate and
    final_epoch (decay counted in translation epochs).
    """

    supports_distributed = True  # explicitly: see wrap_networks and step
    rate_options = ('lr',) + tuple(LEARNING_RATES.values())  # the task heads' own rates (generator_parameters)

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(no_dropout=True, dataset_mode='unaligned_depth', netG=LISS_NETG)
        # these shape the saved networks, so test.py needs them too (it takes them from the training run)
        parser.add_argument('--auxiliary_tasks', type=str, default='rotation, gray, depth, jigsaw',
                            help=f"comma-separated self-supervised tasks among {', '.join(AUX_TASKS)}; "
                                 f"'' for none (then the model is CycleGAN)")
        parser.add_argument('--task_order', type=str, default='sorted', choices=['sorted', 'given'],
                            help='order of the tasks in sequential schedules: sorted = the published priority '
                                 'rotation < jigsaw < depth < gray; given = as written in --auxiliary_tasks')
        parser.add_argument('--jigsaw_grid', type=int, default=3, help='the jigsaw puzzle has grid x grid tiles')
        parser.add_argument('--jigsaw_set', type=str, default='published', choices=['published', 'seeded'],
                            help="tile permutations the jigsaw head classifies: 'published' = the paper's fixed "
                                 "64 permutations of a 3x3 grid; 'seeded' = --jigsaw_permutations drawn with "
                                 "--jigsaw_seed (any grid)")
        parser.add_argument('--jigsaw_permutations', type=int, default=64,
                            help='size of the fixed set of tile permutations (64 for --jigsaw_set published)')
        parser.add_argument('--jigsaw_seed', type=int, default=0, help='seed drawing a --jigsaw_set seeded set')
        parser.add_argument('--jigsaw_crop', type=int, default=222,
                            help='side of the random square crop the puzzle is cut from (published: 222 px of 256 '
                                 'px images); 0 = 222/256 of --crop_size, for small images')
        parser.add_argument('--D_rotation', action='store_true', default=False,
                            help='use rotation self-supervision in discriminators when translating (SSGAN: 4 '
                                 'rotations of real images + a 5th class for generated ones)')
        parser.add_argument('--depth_target', type=str, default='log', choices=['log', 'linear'],
                            help='depth head target: log = (log(1 / (d/255)) - 2) / 2 as published; '
                                 'linear = the 8-bit map scaled to [-1, 1]')
        if not is_train:
            parser.add_argument('--show_heads', action='store_true',
                                help='also write each head\'s predictions (depth map, colourised gray, rotation '
                                     'and jigsaw accuracy) to the results page')
            return parser
        parser.set_defaults(optimizer=DEFAULT_OPTIMIZER)
        parser.add_argument('--lambda_CA', type=float, default=10.0, help='weight for cycle loss (A -> B -> A)')
        parser.add_argument('--lambda_CB', type=float, default=10.0, help='weight for cycle loss (B -> A -> B)')
        parser.add_argument('--lambda_DA', type=float, default=1.0,
                            help='weight of the adversarial loss of G_A (A -> B, judged by D_A)')
        parser.add_argument('--lambda_DB', type=float, default=1.0,
                            help='weight of the adversarial loss of G_B (B -> A, judged by D_B)')
        parser.add_argument('--lambda_R', type=float, default=1.0, help='weight for rotation')
        parser.add_argument('--lambda_J', type=float, default=1.0, help='weight for jigsaw')
        parser.add_argument('--lambda_D', type=float, default=1.0, help='weight for depth')
        parser.add_argument('--lambda_G', type=float, default=1.0, help='weight for gray')
        parser.add_argument('--lambda_gray_gan', type=float, default=0.1,
                            help='share of the adversarial term in the gray loss: (1 - w) L1 + w GAN against the '
                                 'gray discriminators (published 0.1; 0 = L1 only, no gray discriminators)')
        parser.add_argument('--lambda_DR', type=float, default=1.0,
                            help='weight of the generators\' |CE(fake rotations) - CE(real rotations)| under '
                                 '--D_rotation (the discriminators\' rotation terms have weight 1, as published)')
        parser.add_argument('--D_rotation_domain', type=str, default='published', choices=['published', 'judged'],
                            help='images whose rotations D_A classifies: published = domain A (real and '
                                 'generated A, while D_A judges B images); judged = the domain D_A judges (B)')
        parser.add_argument('--lambda_distillation', type=float, default=5.0,
                            help='weight for distillation loss (liss schedule, or representational schedules '
                                 'with --repr_mode distillation/continual)')
        parser.add_argument('--distillation_loss', type=str, default='l1', choices=['l1', 'l2'],
                            help='distance between encoder and reference-encoder features (published: l1)')
        parser.add_argument('--lambda_I', type=float, default=0.5,
                            help='identity mapping weight, relative to the cycle weights as in CycleGAN; also '
                                 'the weight of the identity task of the representational schedule')
        parser.add_argument('--task_schedule', type=str, default='parallel', choices=SCHEDULES,
                            help='parallel: all tasks always; sequential: one auxiliary task after the other, then '
                                 'translation; additional: tasks added one by one, then translation; liss: '
                                 'sequential with distillation; representational: auxiliary tasks + identity, '
                                 'then translation; representational-traduction: auxiliary tasks + translation '
                                 'through frozen decoders, then translation')
        parser.add_argument('--rotation_acc_threshold', type=float, default=0.2,
                            help='held-out rotation accuracy that both domains must exceed to end the rotation phase')
        parser.add_argument('--jigsaw_acc_threshold', type=float, default=0.2,
                            help='held-out jigsaw accuracy that both domains must exceed to end the jigsaw phase')
        parser.add_argument('--depth_loss_threshold', type=float, default=0.5,
                            help='held-out depth loss that both domains must go below to end the depth phase')
        parser.add_argument('--gray_loss_threshold', type=float, default=0.5,
                            help='held-out gray loss that both domains must go below to end the gray phase')
        parser.add_argument('--i_loss_threshold', type=float, default=0.5,
                            help='held-out identity loss that both domains must go below to end pre-training '
                                 '(representational only)')
        parser.add_argument('--lr_rotation', type=float, default=0, help='learning rate of the rotation head (0: --lr)')
        parser.add_argument('--lr_depth', type=float, default=0, help='learning rate of the depth head (0: --lr)')
        parser.add_argument('--lr_gray', type=float, default=0, help='learning rate of the gray head (0: --lr)')
        parser.add_argument('--lr_jigsaw', type=float, default=0, help='learning rate of the jigsaw head (0: --lr)')
        parser.add_argument('--encoder_merge_ratio', type=float, default=1.0,
                            help='Exp. moving average coefficient at each phase switch: ref = a * new + (1 - a) * old')
        parser.add_argument('--repr_mode', type=str, default='freeze', choices=REPR_MODES,
                            help='representational schedules only, once translation starts: freeze the encoder, '
                                 'let gradients flow, or flow with a distillation loss to the reference encoder '
                                 '(distillation, also called continual)')
        parser.add_argument('--depth_loss', type=str, default='l1', choices=['l1', 'l2'], help='depth regression loss')
        parser.add_argument('--val_phase', type=str, default='test',
                            help='held-out split (DATAROOT/<val_phase>A, B) scored to drive the task schedule '
                                 '(published: test); the train split is used (with a warning) when it does not exist')
        parser.add_argument('--max_val_size', type=int, default=0,
                            help='score at most this many held-out items (0: the whole split, as published)')
        parser.add_argument('--max_epochs', type=int, default=0,
                            help='stop after this many epochs even if the schedule has not reached translation or '
                                 'the lr decay is not done (0: no limit, as published, where training runs until '
                                 'n_epochs_decay + 1 epochs of translation)')
        parser.add_argument('--schedule_freq', type=int, default=0,
                            help='score the held-out split and update the task schedule at the first iteration and '
                                 'every this many images (0: every --display_freq images, as published)')
        return parser

    @classmethod
    def check_options(cls, opt):
        if opt.isTrain:
            # CycleGAN's generator objective (and its checks) read these names
            opt.lambda_A, opt.lambda_B, opt.lambda_identity = opt.lambda_CA, opt.lambda_CB, opt.lambda_I
            if not 0.0 <= opt.encoder_merge_ratio <= 1.0:
                raise OptionError(f'--encoder_merge_ratio must be in [0, 1] (got {opt.encoder_merge_ratio})')
            if not 0.0 <= opt.lambda_gray_gan <= 1.0:
                raise OptionError(f'--lambda_gray_gan must be in [0, 1] (got {opt.lambda_gray_gan})')
        super().check_options(opt)
        if 'jigsaw' in parse_tasks(opt.auxiliary_tasks, getattr(opt, 'task_order', 'sorted')):
            jigsaw_crop_size(opt)  # a crop that does not fit is an option error

    def __init__(self, opt):
        self.aux_tasks = parse_tasks(opt.auxiliary_tasks, getattr(opt, 'task_order', 'sorted'))
        super().__init__(opt)
        self._score_sums, self._score_count = OrderedDict(), 0  # test-time head accuracies (--show_heads)
        for d in ('A', 'B'):
            if 'depth' in self.aux_tasks:
                self.visual_names.append(f'depth_pred_{d}')
            if 'gray' in self.aux_tasks:
                self.visual_names += [f'gray_{d}', f'colorized_{d}']
        self.ref_encoders = {'A': None, 'B': None}
        self._features = {}
        if not self.isTrain:
            return
        extra = [f'{t}_{d}' for t in self.aux_tasks for d in 'AB']
        extra += ['identity_A', 'identity_B', 'distillation_A', 'distillation_B']
        norm_layer = networks.get_norm_layer(opt.norm)
        if opt.D_rotation:
            extra += ['DR_A', 'DR_B', 'G_DR_A', 'G_DR_B']
            self.netD_A = RotationDiscriminator(self.netD_A, opt.output_nc, opt.crop_size, norm_layer)
            self.netD_B = RotationDiscriminator(self.netD_B, opt.input_nc, opt.crop_size, norm_layer)
            networks.init_net(self.netD_A.rotation_head, opt.init_type, opt.init_gain)
            networks.init_net(self.netD_B.rotation_head, opt.init_type, opt.init_gain)
        self.gray_gan = 'gray' in self.aux_tasks and opt.lambda_gray_gan > 0
        if self.gray_gan:  # D_A_gray judges colourised A images, D_B_gray colourised B images (as published)
            self.netD_A_gray = networks.define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                                 opt.init_type, opt.init_gain, opt=opt)
            self.netD_B_gray = networks.define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                                 opt.init_type, opt.init_gain, opt=opt)
            if opt.D_rotation:  # published: every LiSS discriminator has the rotation head, the gray ones too
                self.netD_A_gray = RotationDiscriminator(self.netD_A_gray, opt.input_nc, opt.crop_size, norm_layer)
                self.netD_B_gray = RotationDiscriminator(self.netD_B_gray, opt.output_nc, opt.crop_size, norm_layer)
                networks.init_net(self.netD_A_gray.rotation_head, opt.init_type, opt.init_gain)
                networks.init_net(self.netD_B_gray.rotation_head, opt.init_type, opt.init_gain)
            self.model_names += ['D_A_gray', 'D_B_gray']
            extra += ['D_A_gray', 'D_B_gray']
        if opt.D_rotation or self.gray_gan:
            self.optimizer_D = self.make_optimizer(itertools.chain(*[net.parameters() for net in self.discriminators()]))
            self.optimizers = [self.optimizer_G, self.optimizer_D]
        self.loss_names += extra
        self.criterionCE = torch.nn.CrossEntropyLoss()
        thresholds = {task: getattr(opt, name) for task, name in THRESHOLDS.items()}
        self.schedule = TaskSchedule(opt.task_schedule, self.aux_tasks, thresholds, opt.repr_mode)
        self.decay_epochs = 0  # epochs of linear lr decay done (counted only while translation trains)
        self._epoch = opt.epoch_count
        self.last_metrics = None
        self.apply_encoder_mode()

    # ------------------------------------------------------------------ networks

    def architecture_options(self):
        extra = ('auxiliary_tasks', 'jigsaw_grid', 'jigsaw_set', 'jigsaw_permutations', 'jigsaw_seed', 'jigsaw_crop',
                 'D_rotation')
        if {'rotation', 'jigsaw'} & set(self.aux_tasks):
            extra += ('crop_size',)  # the classifier heads' linear layers are sized for it
        return tuple(super().architecture_options()) + extra

    def build_generator(self, input_nc, output_nc):
        """CycleGAN's generator (same initialisation draws), split into encoder + decoder, plus the heads.

        --netG liss: resnet_6blocks with 3 blocks in the encoder and 3 opening the decoder, depth and gray heads;
        --netG resnet_<n>blocks: all blocks in the encoder, heads without residual blocks.
        """
        opt = self.opt
        liss = opt.netG == LISS_NETG
        name = f'resnet_{LISS_BLOCKS}blocks' if liss else opt.netG
        resnet = networks.define_G(input_nc, output_nc, opt.ngf, name, opt.norm, not opt.no_dropout,
                                   opt.init_type, opt.init_gain, dropout_rate=opt.dropout_rate)
        if not isinstance(resnet, networks.ResnetGenerator):
            raise ValueError(f"--model liss needs --netG liss or resnet_<n>blocks (an encoder and decoder around "
                             f"residual blocks), not '{opt.netG}'")
        half = LISS_BLOCKS // 2 if liss else None
        heads = build_heads(self.aux_tasks, input_nc, opt, n_blocks=half or 0)
        return LissGenerator(resnet, heads, n_encoder_blocks=half)

    def discriminators(self):
        names = ['D_A', 'D_B'] + (['D_A_gray', 'D_B_gray'] if getattr(self, 'gray_gan', False) else [])
        return [getattr(self, 'net' + n) for n in names]

    def generator_parameters(self):
        """One parameter group for both encoders + decoders, one per task head (with its --lr_<task> if set)."""
        nets = [unwrap(self.netG_A), unwrap(self.netG_B)]
        groups = [{'params': [p for net in nets for p in itertools.chain(net.encoder.parameters(),
                                                                          net.decoder.parameters())],
                   'name': 'translation'}]
        for task in self.aux_tasks:
            group = {'params': [p for net in nets for p in net.heads[task].parameters()], 'name': task}
            lr = getattr(self.opt, LEARNING_RATES[task], 0)
            if lr and lr > 0:
                group['lr'] = lr
            groups.append(group)
        return groups

    def generators(self):
        """(domain, generator module, its real images)."""
        return (('A', unwrap(self.netG_A), self.real_A), ('B', unwrap(self.netG_B), self.real_B))

    def apply_encoder_mode(self):
        """(Un)freeze encoders and decoders for the current phase: representational schedules with --repr_mode
        freeze stop the encoders once translation starts; representational-traduction pre-training trains
        translation through frozen decoders."""
        for net in (self.netG_A, self.netG_B):
            for p in unwrap(net).encoder.parameters():
                p.requires_grad_(not self.schedule.freeze_encoder)
            for p in unwrap(net).decoder.parameters():
                p.requires_grad_(not self.schedule.frozen_decoders)

    def update_ref_encoder(self):
        """ref = a * encoder + (1 - a) * ref (a = --encoder_merge_ratio); the first time ref = encoder."""
        a = float(self.opt.encoder_merge_ratio)
        for d, net in (('A', self.netG_A), ('B', self.netG_B)):
            encoder = unwrap(net).encoder
            ref = self.ref_encoders[d]
            if ref is None:
                ref = copy.deepcopy(encoder).eval()
                for p in ref.parameters():
                    p.requires_grad_(False)
                self.ref_encoders[d] = ref
                continue
            with torch.no_grad():
                for r, p in zip(ref.parameters(), encoder.parameters()):
                    r.mul_(1.0 - a).add_(p.detach(), alpha=a)
                for r, b in zip(ref.buffers(), encoder.buffers()):
                    if r.is_floating_point():
                        r.mul_(1.0 - a).add_(b, alpha=a)
                    else:
                        r.copy_(b)
        distributed.broadcast_from_rank0([m for m in self.ref_encoders.values() if m is not None])

    # ------------------------------------------------------------------ multi-process training

    def wrap_networks(self):
        """Under torchrun: no DistributedDataParallel (encoders and heads are called directly); rank 0's
        weights are broadcast once, and :meth:`step` averages gradients before every update."""
        if not (self.isTrain and distributed.is_distributed()):
            return
        if getattr(self.opt, 'norm', None) == 'syncbatch':
            for name, net in self.networks():
                setattr(self, 'net' + name, distributed.convert_sync_batchnorm(net))
        distributed.broadcast_from_rank0([net for _, net in self.networks()])

    def step(self, optimizer):
        """Average the gradients over ranks, then step: replicas stay identical."""
        distributed.average_gradients(optimizer)
        super().step(optimizer)

    def save_training_state(self, label, epoch, epoch_iter, total_iters, epoch_samples=None):
        """Check that every rank holds the same schedule and reference encoders (the networks are checked by
        the base class), then save."""
        if distributed.is_distributed():
            refs = [(d, m) for d, m in self.ref_encoders.items() if m is not None]
            mine = (self.schedule.state_dict(), self.decay_epochs, distributed.parameter_digest(refs) if refs else None)
            states = distributed.all_gather_objects(mine)
            if any(s != states[0] for s in states[1:]):
                raise distributed.ReplicaMismatchError(
                    'the LiSS task schedule or reference encoders differ between ranks: '
                    + '; '.join(f'rank {r}: phase {s[0]["phase"]}, decay {s[1]}, ref {str(s[2])[:12]}'
                                for r, s in enumerate(states)))
        return super().save_training_state(label, epoch, epoch_iter, total_iters, epoch_samples)

    # ------------------------------------------------------------------ schedule

    def should_compute(self, task):
        """Whether ``task`` trains now (always True at test time, where every head is available)."""
        if not self.isTrain:
            return task == 'translation' or task in self.aux_tasks
        return self.schedule.should_compute(task)

    def update_task_schedule(self, metrics, step=None, visualizer=None):
        """Move to the next phase when the held-out ``metrics`` cross the thresholds (both domains, strictly);
        returns the log line or None.

        At each switch of the liss schedule (and when representational schedules start distilling) the
        reference encoder takes the current encoder in (EMA); encoders and decoders are then (un)frozen.
        """
        record = self.schedule.update(metrics, step)
        if record is None:
            return None
        if self.schedule.kind == 'liss' or self.schedule.distill:
            self.update_ref_encoder()
        self.apply_encoder_mode()
        message = self.schedule.describe(record)
        experiment = comet_experiment(visualizer)
        if experiment is not None:
            stopped = set(record['from_tasks'].split(',')) - set(record['to_tasks'].split(','))
            started = set(record['to_tasks'].split(',')) - set(record['from_tasks'].split(','))
            for kind, tasks in (('stop', stopped), ('start', started)):
                for task in sorted(tasks):
                    experiment.log_parameter(f'schedule_{kind}_{task}', record['step'])
            experiment.log_text(message)
        return message

    def after_train_step(self, epoch, total_iters, images_per_step, visualizer=None):
        """Hook called by train.py after each step: at the first iteration and every --schedule_freq (default
        --display_freq) images, score the held-out split, log it and update the task schedule (as published)."""
        if not self.isTrain or not self.aux_tasks:
            return None
        freq = self.opt.schedule_freq or self.opt.display_freq
        first = total_iters - images_per_step == 0
        crossed = freq > 0 and total_iters // freq != (total_iters - images_per_step) // freq
        if not (first or crossed):
            return None
        metrics = self.validate(visualizer, step=total_iters)
        metrics['phase'] = float(self.schedule.phase)
        self.last_metrics = metrics
        if visualizer is not None:
            visualizer.print_current_metrics(epoch, metrics, split=f'{self.val_split()}, {total_iters} images')
        message = self.update_task_schedule(metrics, total_iters, visualizer)
        if message and visualizer is not None:
            visualizer.log_message(message)
        return message

    def end_of_epoch(self, epoch, visualizer):
        """Remember the epoch (for the lr decay) and log each generator parameter group's learning rate."""
        self._epoch = epoch
        if not self.isTrain:
            return
        experiment = comet_experiment(visualizer)
        if experiment is not None:
            lrs = {f"lr_{g.get('name', i)}": g['lr'] for i, g in enumerate(self.optimizer_G.param_groups)}
            experiment.log_metrics(lrs, epoch=epoch)

    def update_learning_rate(self):
        """Published linear decay: after --n_epochs, each epoch in which translation trained counts one decay
        epoch, and lr = initial lr x (1 - decay epochs / (n_epochs_decay + 1)) for every parameter group.
        Other --lr_policy values, and runs without auxiliary task (CycleGAN), use the common schedulers."""
        if not (self.isTrain and self.aux_tasks and self.opt.lr_policy == 'linear'):
            return super().update_learning_rate()
        old = self.optimizers[0].param_groups[0]['lr']
        if self._epoch > self.opt.n_epochs and self.should_compute('translation'):
            self.decay_epochs += 1
        factor = max(0.0, 1.0 - self.decay_epochs / (self.opt.n_epochs_decay + 1))
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group['lr'] = group.setdefault('initial_lr', group['lr']) * factor
        lr = self.optimizers[0].param_groups[0]['lr']
        if getattr(self.opt, 'rank', 0) == 0:
            print(f'learning rate {old:.7f} -> {lr:.7f} ({self.decay_epochs} of {self.opt.n_epochs_decay + 1} '
                  f'decay epochs done)')
        return lr

    def final_epoch(self, next_epoch, planned):
        """Last epoch to train, asked by train.py before each epoch: training continues until the decay epochs
        are done (n_epochs_decay + 1 epochs of translation after --n_epochs, as published)."""
        if not (self.isTrain and self.aux_tasks and self.opt.lr_policy == 'linear'):
            return planned
        total = self.opt.n_epochs_decay + 1
        if self.decay_epochs >= total:
            return next_epoch - 1
        last = max(self.opt.n_epochs + total, next_epoch - 1 + total - self.decay_epochs)
        return min(last, self.opt.max_epochs) if self.opt.max_epochs > 0 else last

    # ------------------------------------------------------------------ data

    def set_input(self, input):
        super().set_input(input)
        AtoB = self.opt.direction == 'AtoB'
        self.depth_A = self.depth_B = None
        self._features = {}
        if 'depth' in self.aux_tasks:
            key_A, key_B = ('A_depth', 'B_depth') if AtoB else ('B_depth', 'A_depth')
            if key_A in input and key_B in input:
                self.depth_A, self.depth_B = self.to_device(input[key_A]), self.to_device(input[key_B])
            elif self.isTrain:
                raise ValueError('the depth task needs depth maps: use --dataset_mode unaligned_depth (depth maps '
                                 'in <phase>A/depths and <phase>B/depths) or drop depth from --auxiliary_tasks')

    def val_split(self):
        phase = self.opt.val_phase
        if all(os.path.isdir(os.path.join(self.opt.dataroot, phase + s)) for s in 'AB'):
            return phase
        return 'train'

    def eval_dataset_spec(self):
        """The validation split driving the task schedule (train.py builds it, every process the same items)."""
        if not self.isTrain:
            return None
        phase = self.val_split()
        if phase != self.opt.val_phase:
            print(f"warning: no {self.opt.val_phase}A/{self.opt.val_phase}B folders in {self.opt.dataroot}: "
                  f"the task schedule is driven by metrics on the train split")
        n = self.opt.max_val_size if self.opt.max_val_size > 0 else float('inf')  # 0: the whole split (published)
        return {'phase': phase, 'n': n, 'test_preprocess': False}

    def validation_loader(self):
        if self.eval_dataset is None:
            raise RuntimeError('LissModel.validate needs its validation split: hand it over with '
                               'model.set_eval_dataset(data.create_eval_dataset(opt, **model.eval_dataset_spec())), '
                               'as train.py does')
        self.eval_dataset.set_epoch(0)
        return self.eval_dataset

    # ------------------------------------------------------------------ heads

    def encode(self, d, net, real):
        """Encoder features of the real images of domain ``d``, computed once per batch."""
        if d not in self._features:
            self._features[d] = net.encoder(real)
        return self._features[d]

    def head_outputs(self, d, net, real, tasks, generator=None):
        """{task: (prediction, target)} of the given heads on the real images of domain ``d``.

        rotation: logits of the 4 rotations; jigsaw: logits of random crops with random permutations
        (``generator`` draws them); depth: predicted map and its target; gray: colourisation and the image.
        """
        out = {}
        if 'rotation' in tasks:
            x, y = rotation_batch(real)
            out['rotation'] = (net.heads['rotation'](net.encoder(x)), y)
        if 'jigsaw' in tasks:
            perms = net.heads['jigsaw'].permutations
            y = torch.randint(len(perms), (real.shape[0],), generator=generator).to(real.device)
            x = jigsaw_batch(real, perms, y, crop=jigsaw_crop_size(self.opt), generator=generator)
            out['jigsaw'] = (net.heads['jigsaw'](net.encoder(x)), y)
        if 'depth' in tasks:  # no target without depth maps (test.py)
            depth = getattr(self, f'depth_{d}', None)
            target = None if depth is None else depth_target(depth, getattr(self.opt, 'depth_target', 'log'))
            out['depth'] = (net.heads['depth'](self.encode(d, net, real)), target)
        if 'gray' in tasks:
            out['gray'] = (net.heads['gray'](net.encoder(to_gray(real))), real)
        return out

    # ------------------------------------------------------------------ losses

    def _reset_losses(self):
        for name in self.loss_names:
            setattr(self, 'loss_' + name, None)

    def forward(self):
        """CycleGAN's forward, encoding each real batch once (distillation and depth reuse the features)."""
        gA, gB = unwrap(self.netG_A), unwrap(self.netG_B)
        self.fake_B = gA.decoder(self.encode('A', gA, self.real_A))
        self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = gB.decoder(self.encode('B', gB, self.real_B))
        self.rec_B = self.netG_A(self.fake_A)

    def gray_discriminator(self, d):
        return getattr(self, f'netD_{d}_gray')

    def gray_loss(self, d, colour, real):
        """(1 - w) L1 + w GAN(D_<d>_gray(colour) is real), w = --lambda_gray_gan (published 0.1)."""
        w = self.opt.lambda_gray_gan if getattr(self, 'gray_gan', False) else 0.0
        loss = F.l1_loss(colour.float(), real.float())
        if w > 0:
            with self.autocast():
                pred = self.gray_discriminator(d)(colour)
            loss = (1.0 - w) * loss + w * self.criterionGAN(pred, True, for_discriminator=False)
        return loss

    def distillation_error(self, features, target):
        if self.opt.distillation_loss == 'l2':
            return F.mse_loss(features.float(), target.float())
        return F.l1_loss(features.float(), target.float())

    def depth_error(self, prediction, target):
        if self.opt.depth_loss == 'l2':
            return F.mse_loss(prediction.float(), target.float())
        return F.l1_loss(prediction.float(), target.float())

    def task_losses(self, d, net, real):
        """Training losses of the auxiliary / identity / distillation tasks active now, for one domain."""
        opt, total = self.opt, 0.0
        tasks = [t for t in self.aux_tasks if self.should_compute(t)]
        self._gray_colour = getattr(self, '_gray_colour', {})
        with self.autocast():
            outputs = self.head_outputs(d, net, real, tasks)
            for task, (prediction, target) in outputs.items():
                if task in ('rotation', 'jigsaw'):
                    loss = self.criterionCE(prediction.float(), target)
                elif task == 'depth':
                    loss = self.depth_error(prediction, target)
                else:
                    self._gray_colour[d] = prediction
                    loss = self.gray_loss(d, prediction, target)
                loss = loss * getattr(opt, LAMBDAS[task])
                setattr(self, f'loss_{task}_{d}', loss)
                total = total + loss
            if self.should_compute('identity'):
                loss = F.l1_loss(net.decoder(self.encode(d, net, real)).float(), real.float()) * opt.lambda_I
                setattr(self, f'loss_identity_{d}', loss)
                total = total + loss
            ref = self.ref_encoders[d]
            if self.schedule.distill and ref is not None:
                with torch.no_grad():
                    target = ref(real)
                loss = self.distillation_error(self.encode(d, net, real), target) * opt.lambda_distillation
                setattr(self, f'loss_distillation_{d}', loss)
                total = total + loss
        return total

    def rotation_pairs(self):
        """(domain label, D, real images, generated images) for the discriminators' rotation task."""
        if self.opt.D_rotation_domain == 'judged':
            return (('A', self.netD_A, self.real_B, self.fake_B), ('B', self.netD_B, self.real_A, self.fake_A))
        return (('A', self.netD_A, self.real_A, self.fake_A), ('B', self.netD_B, self.real_B, self.fake_B))

    def generator_loss(self):
        total = 0.0
        if self.should_compute('translation'):
            total = super().generator_loss()
            # CycleGAN weighs the adversarial terms 1; add the difference only when asked (keeps it exactly CycleGAN)
            for d, name in (('A', 'lambda_DA'), ('B', 'lambda_DB')):
                weight = getattr(self.opt, name)
                if weight != 1.0:
                    loss = getattr(self, f'loss_G_{d}')
                    total = total + (weight - 1.0) * loss
                    setattr(self, f'loss_G_{d}', loss * weight)
            if self.opt.D_rotation:  # published: |CE(D on rotated fakes) - CE(D on rotated reals)|
                for d, netD, real, fake in self.rotation_pairs():
                    x_fake, y = rotation_batch(fake)
                    x_real, _ = rotation_batch(real)
                    with self.autocast():
                        ce_fake = self.criterionCE(unwrap(netD).rotation_logits(x_fake).float(), y)
                        ce_real = self.criterionCE(unwrap(netD).rotation_logits(x_real).float(), y)
                    loss = torch.abs(ce_fake - ce_real) * self.opt.lambda_DR
                    setattr(self, f'loss_G_DR_{d}', loss)
                    total = total + loss
        for d, net, real in self.generators():
            total = total + self.task_losses(d, net, real)
        return total

    def discriminator_loss(self, netD, real, fake):
        """The GAN D loss plus, with --D_rotation, the published rotation terms: CE over the 4 rotations of real
        images, plus CE over those rotations mixed with the current generated images (5th class)."""
        total, loss_real, loss_fake = super().discriminator_loss(netD, real, fake)
        if self.opt.D_rotation and netD in (self.netD_A, self.netD_B):
            d, _, rot_real, rot_fake = next(p for p in self.rotation_pairs() if p[1] is netD)
            x, y = rotation_batch(rot_real)
            with self.autocast():
                logits_real = unwrap(netD).rotation_logits(x).float()
                logits_fake = unwrap(netD).rotation_logits(rot_fake.detach()).float()
            generated = torch.full((rot_fake.shape[0],), ROTATION_CLASSES - 1, device=y.device, dtype=y.dtype)
            loss = (self.criterionCE(logits_real, y)
                    + self.criterionCE(torch.cat([logits_real, logits_fake]), torch.cat([y, generated])))
            setattr(self, f'loss_DR_{d}', loss)
            total = total + loss
        return total, loss_real, loss_fake

    def backward_D_gray(self):
        """Gray discriminators: real images vs the current colourisations (no image pool, as published); with
        --D_rotation they also classify the rotations of the real images (as published)."""
        for d, real in (('A', self.real_A), ('B', self.real_B)):
            netD = self.gray_discriminator(d)
            loss, _, _ = super().discriminator_loss(netD, real, self._gray_colour[d])
            if self.opt.D_rotation:
                x, y = rotation_batch(real)
                with self.autocast():
                    logits = unwrap(netD).rotation_logits(x).float()
                loss = loss + self.criterionCE(logits, y)
            setattr(self, f'loss_D_{d}_gray', loss)
            self.backward(loss)

    def optimize_parameters(self):
        """G step over the active tasks, then one D step for the discriminators of what trained (translation
        discriminators, except during representational-traduction pre-training; gray discriminators)."""
        self._reset_losses()
        self._gray_colour, self._features = {}, {}
        translation = self.should_compute('translation')
        if translation:
            with self.autocast():
                self.forward()
        discriminators = self.discriminators()
        self.set_requires_grad(discriminators, False)
        self.optimizer_G.zero_grad(set_to_none=True)
        self.loss_G = self.generator_loss()
        self.backward(self.loss_G)
        self.step(self.optimizer_G)
        train_translation_D = translation and self.schedule.train_translation_discriminators
        train_gray_D = getattr(self, 'gray_gan', False) and bool(self._gray_colour)
        if not (train_translation_D or train_gray_D):
            return
        self.set_requires_grad([self.netD_A, self.netD_B] if train_translation_D else [], True)
        if train_gray_D:
            self.set_requires_grad([self.netD_A_gray, self.netD_B_gray], True)
        self.optimizer_D.zero_grad(set_to_none=True)
        if train_translation_D:
            self.backward_D_A()
            self.backward_D_B()
        if train_gray_D:
            self.backward_D_gray()
        self.step(self.optimizer_D)

    # ------------------------------------------------------------------ held-out metrics and test-time heads

    @torch.no_grad()
    def validate(self, visualizer=None, step=None):
        """Mean held-out metrics of every task (active or not, to watch forgetting) and of the translation, per
        domain (the schedule needs both to pass) and averaged. Under torchrun each rank scores its share of
        the batches and the sums are all-reduced, so every rank takes the same schedule decisions."""
        was_training = [net.training for _, net in self.networks()]
        self.eval()
        sums, count = OrderedDict(), 0
        confusion = {}
        generator = torch.Generator().manual_seed(int(self.opt.seed))  # same jigsaw draws at every evaluation
        rank, world = distributed.get_rank(), distributed.get_world_size()
        try:
            for i, data in enumerate(self.validation_loader()):
                if i % world != rank:
                    continue
                self.set_input(data)
                n = self.real_A.shape[0]
                values, matrices = self.batch_metrics(generator)
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value * n
                for key, matrix in matrices.items():
                    confusion[key] = confusion.get(key, 0) + matrix
                count += n
        finally:
            for (_, net), mode in zip(self.networks(), was_training):
                net.train(mode)
        sums, count, confusion = self._reduce_over_ranks(sums, count, confusion)
        metrics = OrderedDict((k, v / max(count, 1)) for k, v in sums.items())
        for name in ('rotation_acc', 'rotation_loss', 'jigsaw_acc', 'jigsaw_loss', 'depth_loss', 'gray_loss',
                     'identity_loss', 'cycle_loss'):
            if f'{name}_A' in metrics and f'{name}_B' in metrics:
                metrics[name] = 0.5 * (metrics[f'{name}_A'] + metrics[f'{name}_B'])
        experiment = comet_experiment(visualizer)
        if experiment is not None:
            for key, matrix in confusion.items():
                task, d = key.rsplit('_', 1)
                experiment.log_confusion_matrix(matrix=matrix.long().tolist(), title=f'confusion_{d}_{task}_{step}',
                                                file_name=f'confusion_{d}_{task}_{step}.json', step=step)
        return metrics

    def _reduce_over_ranks(self, sums, count, confusion):
        if not distributed.is_distributed():
            return sums, count, confusion
        keys = sorted(sums)
        agreed = distributed.all_gather_objects(keys)
        if any(k != keys for k in agreed):
            raise distributed.ReplicaMismatchError(f'ranks measured different held-out metrics: {agreed}')
        t = torch.tensor([sums[k] for k in keys] + [float(count)], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        torch.distributed.broadcast(t, src=0)  # bitwise the same numbers everywhere
        values = t.tolist()
        for key in sorted(confusion):
            matrix = confusion[key].to(self.device, torch.float64)
            torch.distributed.all_reduce(matrix)
            confusion[key] = matrix.cpu()
        return OrderedDict(zip(keys, values[:-1])), int(values[-1]), confusion

    def batch_metrics(self, generator=None):
        """Unweighted per-batch metrics of every task on the current input (no gradients), and the rotation /
        jigsaw confusion matrices (rows: truth, columns: prediction)."""
        out, matrices = OrderedDict(), {}
        with self.autocast():
            fake_B, fake_A = self.netG_A(self.real_A), self.netG_B(self.real_B)
            out['cycle_loss_A'] = float(F.l1_loss(self.netG_B(fake_B).float(), self.real_A.float()))
            out['cycle_loss_B'] = float(F.l1_loss(self.netG_A(fake_A).float(), self.real_B.float()))
            for d, net, real in self.generators():
                out[f'identity_loss_{d}'] = float(F.l1_loss(net.decoder(self.encode(d, net, real)).float(),
                                                            real.float()))
                for task, (prediction, target) in self.head_outputs(d, net, real, self.aux_tasks, generator).items():
                    if task in ('rotation', 'jigsaw'):
                        logits = prediction.float()
                        out[f'{task}_loss_{d}'] = float(F.cross_entropy(logits, target))
                        out[f'{task}_acc_{d}'] = float((logits.argmax(1) == target).float().mean())
                        k = logits.shape[1]
                        index = (target * k + logits.argmax(1)).cpu()
                        matrices[f'{task}_{d}'] = torch.bincount(index, minlength=k * k).reshape(k, k)
                    elif task == 'depth':
                        if target is not None:
                            out[f'depth_loss_{d}'] = float(self.depth_error(prediction, target))
                    else:  # the published held-out gray loss is the training one (with its adversarial share)
                        out[f'gray_loss_{d}'] = float(self.gray_loss(d, prediction, target))
        return out, matrices

    def compute_visuals(self):
        """Head predictions as images (depth map, gray input and its colourisation) and rotation/jigsaw scores."""
        if self.isTrain or not getattr(self.opt, 'show_heads', False):
            return
        generator = torch.Generator().manual_seed(int(self.opt.seed) + self._score_count)
        with self.autocast():
            for d, net, real in self.generators():
                for task, (prediction, target) in self.head_outputs(d, net, real, self.aux_tasks, generator).items():
                    if task == 'depth':
                        setattr(self, f'depth_pred_{d}', prediction)
                    elif task == 'gray':
                        setattr(self, f'gray_{d}', to_gray(real))
                        setattr(self, f'colorized_{d}', prediction)
                    else:
                        self._add_score(f'{task}_acc_{d}', (prediction.argmax(1) == target).float())
        self._score_count += 1

    def _add_score(self, name, hits):
        total, count = self._score_sums.get(name, (0.0, 0))
        self._score_sums[name] = (total + float(hits.sum()), count + hits.numel())

    def test_metrics(self):
        """Mean rotation / jigsaw accuracy of the heads over the test run (--show_heads), for test.py's report."""
        return OrderedDict((name, total / max(count, 1)) for name, (total, count) in self._score_sums.items())

    # ------------------------------------------------------------------ exact resume

    def state_dict_extra(self):
        state = {'schedule': self.schedule.state_dict(), 'decay_epochs': self.decay_epochs}
        for d in ('A', 'B'):
            ref = self.ref_encoders[d]
            state[f'ref_encoder_{d}'] = None if ref is None else {k: v.detach().cpu() for k, v in ref.state_dict().items()}
        return state

    def load_state_dict_extra(self, state):
        self.schedule.load_state_dict(state['schedule'])
        self.decay_epochs = int(state.get('decay_epochs', 0))
        for d, net in (('A', self.netG_A), ('B', self.netG_B)):
            saved = state.get(f'ref_encoder_{d}')
            if saved is None:
                self.ref_encoders[d] = None
                continue
            ref = copy.deepcopy(unwrap(net).encoder).eval()
            ref.load_state_dict(saved)
            for p in ref.parameters():
                p.requires_grad_(False)
            self.ref_encoders[d] = ref
        self.apply_encoder_mode()


def comet_experiment(visualizer):
    """The comet_ml experiment of the visualizer's comet backend, or None (no visualizer, comet off)."""
    for backend in getattr(visualizer, 'backends', None) or []:
        if getattr(backend, 'name', '') == 'comet' and getattr(backend, 'experiment', None) is not None:
            return backend.experiment
    return None
