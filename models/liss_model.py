"""LiSS: CycleGAN with lifelong self-supervision (Schmidt et al., 2020, "Towards Lifelong Self-Supervision for
Unpaired Image-to-Image Translation").

Each generator is an encoder shared by the translation decoder and auxiliary self-supervised heads (rotation,
jigsaw, depth, gray; see models/liss). A task schedule, driven by validation metrics at the end of every epoch,
decides which heads train; an exponential moving average of past encoders (the reference encoder) and a
distillation loss keep what earlier tasks taught the encoder. With no auxiliary task this is CycleGAN exactly.
"""
import copy
import itertools
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F

from . import networks
from .base_model import unwrap
from .cycle_gan_model import CycleGANModel
from .liss import (AUX_TASKS, REPR_MODES, SCHEDULES, LissGenerator, RotationDiscriminator, TaskSchedule,
                   build_heads, jigsaw_batch, parse_tasks, rotation_batch, to_gray)

# RAdam of the torch-optimizer package (the paper's optimizer); plain 'radam' would resolve to torch.optim's.
DEFAULT_OPTIMIZER = 'torch_optimizer.radam'
LAMBDAS = {'rotation': 'lambda_R', 'jigsaw': 'lambda_J', 'depth': 'lambda_D', 'gray': 'lambda_G'}
THRESHOLDS = {'rotation': 'rotation_acc_threshold', 'jigsaw': 'jigsaw_acc_threshold',
              'depth': 'depth_loss_threshold', 'gray': 'gray_loss_threshold', 'identity': 'i_loss_threshold'}
LEARNING_RATES = {'rotation': 'lr_rotation', 'jigsaw': 'lr_jigsaw', 'depth': 'lr_depth', 'gray': 'lr_gray'}


class LissModel(CycleGANModel):
    """CycleGAN + auxiliary heads + task schedule + reference encoder (see the module docstring).

    Extension points used: build_generator (multi-head generators), generator_parameters (per-task learning
    rates), generator_loss (auxiliary, identity, distillation and D-rotation terms), discriminator_loss
    (SSGAN rotation term) and optimize_parameters (skips the GAN updates while translation does not train).
    """

    supports_distributed = False  # the auxiliary heads call netG.encoder directly

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(no_dropout=True, dataset_mode='unaligned_depth')
        # these shape the saved networks, so test.py needs them too (it takes them from the training run)
        parser.add_argument('--auxiliary_tasks', type=str, default='rotation, gray, depth, jigsaw',
                            help=f"comma-separated self-supervised tasks among {', '.join(AUX_TASKS)}; "
                                 f"'' for none (then the model is CycleGAN)")
        parser.add_argument('--jigsaw_grid', type=int, default=3, help='the jigsaw puzzle has grid x grid tiles')
        parser.add_argument('--jigsaw_permutations', type=int, default=64,
                            help='size of the fixed set of tile permutations the jigsaw head classifies')
        parser.add_argument('--jigsaw_seed', type=int, default=0, help='seed drawing the jigsaw permutation set')
        parser.add_argument('--D_rotation', action='store_true', default=False,
                            help='use rotation self-supervision in discriminators when translating (SSGAN)')
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
        parser.add_argument('--lambda_DR', type=float, default=1.0,
                            help='weight for rotation loss in discriminator (see SSGAN minimax)')
        parser.add_argument('--lambda_distillation', type=float, default=5.0,
                            help='weight for distillation loss (when distillation is active: liss schedule, '
                                 'or --repr_mode distillation)')
        parser.add_argument('--lambda_I', type=float, default=0.5,
                            help='identity mapping weight, relative to the cycle weights as in CycleGAN; also '
                                 'the weight of the identity task of the representational schedule')
        parser.add_argument('--task_schedule', type=str, default='parallel', choices=SCHEDULES,
                            help='parallel: all tasks always; sequential: one auxiliary task after the other, then '
                                 'translation; additional: tasks added one by one, then translation; liss: '
                                 'sequential with distillation; representational: auxiliary tasks + identity, '
                                 'then translation')
        parser.add_argument('--rotation_acc_threshold', type=float, default=0.2,
                            help='validation rotation accuracy at or above which the rotation phase ends')
        parser.add_argument('--jigsaw_acc_threshold', type=float, default=0.2,
                            help='validation jigsaw accuracy at or above which the jigsaw phase ends')
        parser.add_argument('--depth_loss_threshold', type=float, default=0.5,
                            help='validation depth loss at or below which the depth phase ends')
        parser.add_argument('--gray_loss_threshold', type=float, default=0.5,
                            help='validation gray loss at or below which the gray phase ends')
        parser.add_argument('--i_loss_threshold', type=float, default=0.5,
                            help='validation identity loss at or below which pre-training ends (representational only)')
        parser.add_argument('--lr_rotation', type=float, default=0, help='learning rate of the rotation head (0: --lr)')
        parser.add_argument('--lr_depth', type=float, default=0, help='learning rate of the depth head (0: --lr)')
        parser.add_argument('--lr_gray', type=float, default=0, help='learning rate of the gray head (0: --lr)')
        parser.add_argument('--lr_jigsaw', type=float, default=0, help='learning rate of the jigsaw head (0: --lr)')
        parser.add_argument('--encoder_merge_ratio', type=float, default=1.0,
                            help='Exp. moving average coefficient at each phase switch: ref = a * new + (1 - a) * old')
        parser.add_argument('--repr_mode', type=str, default='freeze', choices=REPR_MODES,
                            help='when translation starts after auxiliary-only phases: freeze the encoder, let '
                                 'gradients flow, or flow with a distillation loss to the reference encoder')
        parser.add_argument('--depth_loss', type=str, default='l1', choices=['l1', 'l2'], help='depth regression loss')
        parser.add_argument('--val_phase', type=str, default='val',
                            help='split (DATAROOT/<val_phase>A, B) scored at the end of every epoch to drive the '
                                 'task schedule; the train split is used (with a warning) when it does not exist')
        parser.add_argument('--max_val_size', type=int, default=50, help='at most this many validation items per epoch')
        return parser

    def __init__(self, opt):
        self.aux_tasks = parse_tasks(opt.auxiliary_tasks)
        if opt.isTrain:
            # CycleGAN's generator objective reads these names
            opt.lambda_A, opt.lambda_B, opt.lambda_identity = opt.lambda_CA, opt.lambda_CB, opt.lambda_I
            if not 0.0 <= opt.encoder_merge_ratio <= 1.0:
                raise ValueError(f'--encoder_merge_ratio must be in [0, 1] (got {opt.encoder_merge_ratio})')
        super().__init__(opt)
        self._score_sums, self._score_count = OrderedDict(), 0  # test-time head accuracies (--show_heads)
        for d in ('A', 'B'):
            if 'depth' in self.aux_tasks:
                self.visual_names.append(f'depth_pred_{d}')
            if 'gray' in self.aux_tasks:
                self.visual_names += [f'gray_{d}', f'colorized_{d}']
        self.ref_encoders = {'A': None, 'B': None}
        if not self.isTrain:
            return
        extra = [f'{t}_{d}' for t in self.aux_tasks for d in 'AB']
        extra += ['identity_A', 'identity_B', 'distillation_A', 'distillation_B']
        if opt.D_rotation:
            extra += ['DR_A', 'DR_B', 'G_DR_A', 'G_DR_B']
            self.netD_A = RotationDiscriminator(self.netD_A)
            self.netD_B = RotationDiscriminator(self.netD_B)
            networks.init_net(self.netD_A.rotation_head, opt.init_type, opt.init_gain)
            networks.init_net(self.netD_B.rotation_head, opt.init_type, opt.init_gain)
            self.optimizer_D = self.make_optimizer(itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()))
            self.optimizers = [self.optimizer_G, self.optimizer_D]
        self.loss_names += extra
        self.criterionCE = torch.nn.CrossEntropyLoss()
        thresholds = {task: getattr(opt, name) for task, name in THRESHOLDS.items()}
        self.schedule = TaskSchedule(opt.task_schedule, self.aux_tasks, thresholds, opt.repr_mode)
        self.apply_encoder_mode()

    # ------------------------------------------------------------------ networks

    def architecture_options(self):
        return tuple(super().architecture_options()) + ('auxiliary_tasks', 'jigsaw_grid', 'jigsaw_permutations',
                                                        'jigsaw_seed', 'D_rotation')

    def build_generator(self, input_nc, output_nc):
        """CycleGAN's generator (same initialisation draws), split into encoder + decoder, plus the heads."""
        resnet = super().build_generator(input_nc, output_nc)
        return LissGenerator(resnet, build_heads(self.aux_tasks, input_nc, self.opt))

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
        """Freeze or unfreeze the encoders according to the current phase (--repr_mode freeze)."""
        frozen = self.schedule.freeze_encoder
        for net in (self.netG_A, self.netG_B):
            for p in unwrap(net).encoder.parameters():
                p.requires_grad_(not frozen)

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

    # ------------------------------------------------------------------ schedule

    def should_compute(self, task):
        """Whether ``task`` trains now (always True at test time, where every head is available)."""
        if not self.isTrain:
            return task == 'translation' or task in self.aux_tasks
        return self.schedule.should_compute(task)

    def update_task_schedule(self, metrics, epoch=None):
        """Move to the next phase when the validation ``metrics`` cross the thresholds; returns the log line or None.

        At each switch the reference encoder takes the current encoder in (EMA) and the encoders are frozen or
        unfrozen for the new phase.
        """
        record = self.schedule.update(metrics, epoch)
        if record is None:
            return None
        self.update_ref_encoder()
        self.apply_encoder_mode()
        return self.schedule.describe(record)

    def end_of_epoch(self, epoch, visualizer):
        """Score every task on the validation split, log the metrics and update the task schedule."""
        if not self.isTrain:
            return
        metrics = self.validate()
        metrics['phase'] = float(self.schedule.phase)
        visualizer.print_current_metrics(epoch, metrics, split=self.val_split())
        message = self.update_task_schedule(metrics, epoch)
        if message:
            visualizer.log_message(message)

    # ------------------------------------------------------------------ data

    def set_input(self, input):
        super().set_input(input)
        AtoB = self.opt.direction == 'AtoB'
        self.depth_A = self.depth_B = None
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
        return {'phase': phase, 'n': self.opt.max_val_size, 'test_preprocess': False}

    def validation_loader(self):
        if self.eval_dataset is None:
            raise RuntimeError('LissModel.validate needs its validation split: hand it over with '
                               'model.set_eval_dataset(data.create_eval_dataset(opt, **model.eval_dataset_spec())), '
                               'as train.py does')
        self.eval_dataset.set_epoch(0)
        return self.eval_dataset

    # ------------------------------------------------------------------ losses

    def _reset_losses(self):
        for name in self.loss_names:
            setattr(self, 'loss_' + name, None)

    def task_losses(self, d, net, real):
        """Training losses of the auxiliary / identity / distillation tasks active now, for one domain."""
        opt, total = self.opt, 0.0
        encoder, heads = net.encoder, net.heads
        need_features = any(self.should_compute(t) for t in ('depth', 'identity')) or self.schedule.distill
        with self.autocast():
            features = encoder(real) if need_features else None
            if self.should_compute('rotation'):
                x, y = rotation_batch(real)
                loss = self.criterionCE(heads['rotation'](encoder(x)).float(), y) * opt.lambda_R
                setattr(self, f'loss_rotation_{d}', loss)
                total = total + loss
            if self.should_compute('jigsaw'):
                perms = heads['jigsaw'].permutations
                y = torch.randint(len(perms), (real.shape[0],), device=real.device)
                logits = heads['jigsaw'](encoder(jigsaw_batch(real, perms, y)))
                loss = self.criterionCE(logits.float(), y) * opt.lambda_J
                setattr(self, f'loss_jigsaw_{d}', loss)
                total = total + loss
            if self.should_compute('depth'):
                loss = self.depth_error(heads['depth'](features), getattr(self, f'depth_{d}')) * opt.lambda_D
                setattr(self, f'loss_depth_{d}', loss)
                total = total + loss
            if self.should_compute('gray'):
                colour = heads['gray'](encoder(to_gray(real)))
                loss = F.l1_loss(colour.float(), real.float()) * opt.lambda_G
                setattr(self, f'loss_gray_{d}', loss)
                total = total + loss
            if self.should_compute('identity'):
                loss = F.l1_loss(net.decoder(features).float(), real.float()) * opt.lambda_I
                setattr(self, f'loss_identity_{d}', loss)
                total = total + loss
            ref = self.ref_encoders[d]
            if self.schedule.distill and ref is not None:
                with torch.no_grad():
                    target = ref(real)
                loss = F.mse_loss(features.float(), target.float()) * opt.lambda_distillation
                setattr(self, f'loss_distillation_{d}', loss)
                total = total + loss
        return total

    def depth_error(self, prediction, target):
        if self.opt.depth_loss == 'l2':
            return F.mse_loss(prediction.float(), target.float())
        return F.l1_loss(prediction.float(), target.float())

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
            if self.opt.D_rotation:
                for d, netD, fake in (('A', self.netD_A, self.fake_B), ('B', self.netD_B, self.fake_A)):
                    x, y = rotation_batch(fake)
                    with self.autocast():
                        logits = unwrap(netD).rotation_logits(x)
                    loss = self.criterionCE(logits.float(), y) * self.opt.lambda_DR
                    setattr(self, f'loss_G_DR_{d}', loss)
                    total = total + loss
        for d, net, real in self.generators():
            total = total + self.task_losses(d, net, real)
        return total

    def discriminator_loss(self, netD, real, fake):
        """CycleGAN's D loss plus, with --D_rotation, the rotation classification of real images."""
        total, loss_real, loss_fake = super().discriminator_loss(netD, real, fake)
        if self.opt.D_rotation:
            x, y = rotation_batch(real)
            with self.autocast():
                logits = unwrap(netD).rotation_logits(x)
            loss = self.criterionCE(logits.float(), y) * self.opt.lambda_DR
            setattr(self, 'loss_DR_' + ('A' if netD is self.netD_A else 'B'), loss)
            total = total + loss
        return total, loss_real, loss_fake

    def optimize_parameters(self):
        self._reset_losses()
        if self.should_compute('translation'):
            super().optimize_parameters()
            return
        # auxiliary-only phases: no translation, so neither adversarial loss nor discriminator update
        self.optimizer_G.zero_grad(set_to_none=True)
        self.loss_G = self.generator_loss()
        self.backward(self.loss_G)
        self.step(self.optimizer_G)

    # ------------------------------------------------------------------ validation and test-time heads

    @torch.no_grad()
    def validate(self):
        """Mean validation metrics of every task (active or not, to watch forgetting) and of the translation."""
        was_training = [net.training for _, net in self.networks()]
        self.eval()
        sums, count = OrderedDict(), 0
        perm_rng = torch.Generator().manual_seed(int(self.opt.seed))  # same jigsaw draws every epoch
        try:
            for data in self.validation_loader():
                self.set_input(data)
                n = self.real_A.shape[0]
                for key, value in self.batch_metrics(perm_rng).items():
                    sums[key] = sums.get(key, 0.0) + value * n
                count += n
        finally:
            for (_, net), mode in zip(self.networks(), was_training):
                net.train(mode)
        metrics = OrderedDict((k, v / max(count, 1)) for k, v in sums.items())
        # the schedule gates on the mean of both domains
        for name in ('rotation_acc', 'rotation_loss', 'jigsaw_acc', 'jigsaw_loss', 'depth_loss', 'gray_loss',
                     'identity_loss', 'cycle_loss'):
            if f'{name}_A' in metrics:
                metrics[name] = 0.5 * (metrics[f'{name}_A'] + metrics[f'{name}_B'])
        return metrics

    def batch_metrics(self, perm_rng=None):
        """Unweighted per-batch metrics for every task on the current input (no gradients)."""
        out = OrderedDict()
        with self.autocast():
            fake_B, fake_A = self.netG_A(self.real_A), self.netG_B(self.real_B)
            out['cycle_loss_A'] = float(F.l1_loss(self.netG_B(fake_B).float(), self.real_A.float()))
            out['cycle_loss_B'] = float(F.l1_loss(self.netG_A(fake_A).float(), self.real_B.float()))
            for d, net, real in self.generators():
                features = net.encoder(real)
                out[f'identity_loss_{d}'] = float(F.l1_loss(net.decoder(features).float(), real.float()))
                if 'rotation' in self.aux_tasks:
                    x, y = rotation_batch(real)
                    logits = net.heads['rotation'](net.encoder(x)).float()
                    out[f'rotation_loss_{d}'] = float(F.cross_entropy(logits, y))
                    out[f'rotation_acc_{d}'] = float((logits.argmax(1) == y).float().mean())
                if 'jigsaw' in self.aux_tasks:
                    perms = net.heads['jigsaw'].permutations
                    y = torch.randint(len(perms), (real.shape[0],), generator=perm_rng).to(real.device)
                    logits = net.heads['jigsaw'](net.encoder(jigsaw_batch(real, perms, y))).float()
                    out[f'jigsaw_loss_{d}'] = float(F.cross_entropy(logits, y))
                    out[f'jigsaw_acc_{d}'] = float((logits.argmax(1) == y).float().mean())
                if 'depth' in self.aux_tasks and getattr(self, f'depth_{d}', None) is not None:
                    out[f'depth_loss_{d}'] = float(self.depth_error(net.heads['depth'](features), getattr(self, f'depth_{d}')))
                if 'gray' in self.aux_tasks:
                    colour = net.heads['gray'](net.encoder(to_gray(real)))
                    out[f'gray_loss_{d}'] = float(F.l1_loss(colour.float(), real.float()))
        return out

    def compute_visuals(self):
        """Head predictions as images (depth map, gray input and its colourisation) and rotation/jigsaw scores."""
        if self.isTrain or not getattr(self.opt, 'show_heads', False):
            return
        rng = torch.Generator().manual_seed(int(self.opt.seed) + self._score_count)
        with self.autocast():
            for d, net, real in self.generators():
                if 'depth' in self.aux_tasks:
                    setattr(self, f'depth_pred_{d}', net.heads['depth'](net.encoder(real)))
                if 'gray' in self.aux_tasks:
                    gray = to_gray(real)
                    setattr(self, f'gray_{d}', gray)
                    setattr(self, f'colorized_{d}', net.heads['gray'](net.encoder(gray)))
                if 'rotation' in self.aux_tasks:
                    x, y = rotation_batch(real)
                    logits = net.heads['rotation'](net.encoder(x))
                    self._add_score(f'rotation_acc_{d}', (logits.argmax(1) == y).float())
                if 'jigsaw' in self.aux_tasks:
                    perms = net.heads['jigsaw'].permutations
                    y = torch.randint(len(perms), (real.shape[0],), generator=rng).to(real.device)
                    logits = net.heads['jigsaw'](net.encoder(jigsaw_batch(real, perms, y)))
                    self._add_score(f'jigsaw_acc_{d}', (logits.argmax(1) == y).float())
        self._score_count += 1

    def _add_score(self, name, hits):
        total, count = self._score_sums.get(name, (0.0, 0))
        self._score_sums[name] = (total + float(hits.sum()), count + hits.numel())

    def test_metrics(self):
        """Mean rotation / jigsaw accuracy of the heads over the test run (--show_heads), for test.py's report."""
        return OrderedDict((name, total / max(count, 1)) for name, (total, count) in self._score_sums.items())

    # ------------------------------------------------------------------ exact resume

    def state_dict_extra(self):
        state = {'schedule': self.schedule.state_dict()}
        for d in ('A', 'B'):
            ref = self.ref_encoders[d]
            state[f'ref_encoder_{d}'] = None if ref is None else {k: v.detach().cpu() for k, v in ref.state_dict().items()}
        return state

    def load_state_dict_extra(self, state):
        self.schedule.load_state_dict(state['schedule'])
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
