"""LiSS: CycleGAN with lifelong self-supervision (Schmidt et al., 2020, "Towards Lifelong Self-Supervision for
Unpaired Image-to-Image Translation").

Each generator is an encoder shared by the translation decoder and auxiliary self-supervised heads (rotation,
jigsaw, depth, gray; see models/liss). A task schedule, driven by metrics on the held-out split (the whole test
split by default) at the first iteration and every --display_freq images, decides which heads train; an
exponential moving average of past encoders (the reference encoder) and a distillation loss keep what earlier
tasks taught the encoder. The linear learning-rate decay counts only epochs in which translation trains, and
training goes on until it is done. With no auxiliary task this is CycleGAN exactly.

The options are in models/liss/options.py, the held-out scoring in models/liss/validation.py, the added
discriminators (gray, rotation heads) in models/liss/discriminators.py and multi-process training (torchrun)
in models/liss/replicas.py.
"""
import itertools
from collections import OrderedDict

import torch
import torch.nn.functional as F

from util import distributed
from . import networks
from .base_model import unwrap
from .cycle_gan_model import CycleGANModel
from .liss import (LissGenerator, TaskSchedule, build_heads, depth_target, jigsaw_batch, jigsaw_crop_size,
                   parse_tasks, rotation_batch, to_gray)
from .liss import options as liss_options
from .liss import reference
from .liss.discriminators import LissDiscriminators
from .liss.replicas import LissReplicas
from .liss.options import LAMBDAS, LEARNING_RATES, LISS_BLOCKS, LISS_NETG, THRESHOLDS
from .liss.validation import LissValidation


class LissModel(LissValidation, LissDiscriminators, LissReplicas, CycleGANModel):
    """CycleGAN + auxiliary heads + task schedule + reference encoder (see the module docstring).

    Extension points used: build_generator (multi-head generators), generator_parameters (per-task learning
    rates), forward (encodes once, so distillation reuses the features), generator_loss (auxiliary, identity,
    distillation and D-rotation terms), discriminator_loss (SSGAN rotation term), optimize_parameters (D updates
    only for what trains now), after_train_step (held-out evaluation and schedule), update_learning_rate and
    final_epoch (decay counted in translation epochs).
    """

    modify_commandline_options = staticmethod(liss_options.modify_commandline_options)
    rate_options = ('lr',) + tuple(LEARNING_RATES.values())  # the task heads' own rates (generator_parameters)

    @classmethod
    def check_options(cls, opt):
        liss_options.check_options(opt)
        if opt.isTrain:  # CycleGAN's generator objective (and its checks) read these names
            opt.lambda_A, opt.lambda_B, opt.lambda_identity = opt.lambda_CA, opt.lambda_CB, opt.lambda_I
        super().check_options(opt)

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
        self._held_rotation = self._rotation_source = None  # see update_task_schedule
        if not self.isTrain:
            return
        extra = [f'{t}_{d}' for t in self.aux_tasks for d in 'AB']
        extra += ['identity_A', 'identity_B', 'distillation_A', 'distillation_B']
        self.loss_names += extra + self.build_discriminators()
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
        for d, net in (('A', self.netG_A), ('B', self.netG_B)):
            if self.ref_encoders[d] is None:
                self.ref_encoders[d] = reference.frozen_copy(unwrap(net).encoder)
            else:
                reference.merge(self.ref_encoders[d], unwrap(net).encoder, float(self.opt.encoder_merge_ratio))
        distributed.broadcast_from_rank0([m for m in self.ref_encoders.values() if m is not None])

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
        A sequential/liss switch leaves the published task iterator past the task that stopped, so the next
        set_input skips the inputs of that task and those before it: with --D_rotation (--switch_inputs
        published) the next step's rotation terms use the current input's images (the last held-out batch).
        """
        record = self.schedule.update(metrics, step)
        if record is None:
            return None
        if self.schedule.kind == 'liss' or self.schedule.distill:
            self.update_ref_encoder()
        self.apply_encoder_mode()
        skipped = self.aux_tasks[:record['from_phase'] + 1] if self.schedule.kind in ('sequential', 'liss') else []
        if self.opt.D_rotation and self.opt.switch_inputs == 'published' and 'rotation' in skipped:
            self._held_rotation = {'A': self.real_A, 'B': self.real_B}
        message = self.schedule.describe(record)
        if visualizer is not None:
            stopped = set(record['from_tasks'].split(',')) - set(record['to_tasks'].split(','))
            started = set(record['to_tasks'].split(',')) - set(record['from_tasks'].split(','))
            visualizer.log_parameters({f'schedule_{kind}_{task}': record['step']
                                       for kind, tasks in (('stop', stopped), ('start', started))
                                       for task in sorted(tasks)})
            visualizer.log_text(message, step=record['step'])
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
        """Remember the epoch (for the lr decay) and track each generator parameter group's learning rate."""
        self._epoch = epoch
        if self.isTrain and visualizer is not None:
            lrs = {f"lr_{g.get('name', i)}": g['lr'] for i, g in enumerate(self.optimizer_G.param_groups)}
            visualizer.plot_current_metrics(epoch, lrs)

    def update_learning_rate(self):
        """Published linear decay: after --n_epochs, each epoch in which translation trained counts one decay
        epoch, and lr = initial lr x (1 - decay epochs / (n_epochs_decay + 1)) for every parameter group.
        Other --lr_policy values, and runs without auxiliary task (CycleGAN), use the common schedulers."""
        if not (self.isTrain and self.aux_tasks and self.opt.lr_policy == 'linear'):
            return super().update_learning_rate()
        old = self.optimizers[0].param_groups[0]['lr']
        if self._epoch > self.opt.n_epochs and self.should_compute('translation'):
            self.decay_epochs += 1
        total = self.opt.n_epochs_decay + 1
        factor = max(0.0, 1.0 - self.decay_epochs / total)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group['lr'] = group.setdefault('initial_lr', group['lr']) * factor
        lr = self.optimizers[0].param_groups[0]['lr']
        if getattr(self.opt, 'rank', 0) == 0:
            print(f'learning rate {old:.7f} -> {lr:.7f} ({self.decay_epochs} of {total} translation epochs after '
                  f'--n_epochs: --n_epochs_decay + 1, as published)')
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
        self._rotation_source, self._held_rotation = self._held_rotation, None  # see update_task_schedule
        if 'depth' in self.aux_tasks:
            key_A, key_B = ('A_depth', 'B_depth') if AtoB else ('B_depth', 'A_depth')
            if key_A in input and key_B in input:
                self.depth_A, self.depth_B = self.to_device(input[key_A]), self.to_device(input[key_B])
            elif self.isTrain:
                raise ValueError('the depth task needs depth maps: use --dataset_mode unaligned_depth (depth maps '
                                 'in <phase>A/depths and <phase>B/depths) or drop depth from --auxiliary_tasks')

    # ------------------------------------------------------------------ heads and losses

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
                total = self.add_rotation_generator_loss(total)
        for d, net, real in self.generators():
            total = total + self.task_losses(d, net, real)
        return total

    def optimize_parameters(self):
        """G step over the active tasks, then one D step for the discriminators of what trained (translation
        discriminators, except during representational-traduction pre-training; gray discriminators)."""
        self._reset_losses()
        self._gray_colour, self._features = {}, {}
        translation = self.should_compute('translation')
        if translation:
            with self.autocast():
                self.forward()
        self.set_requires_grad(self.discriminators(), False)
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

    # ------------------------------------------------------------------ exact resume

    def state_dict_extra(self):
        state = {'schedule': self.schedule.state_dict(), 'decay_epochs': self.decay_epochs}
        for d in ('A', 'B'):
            state[f'ref_encoder_{d}'] = reference.state_of(self.ref_encoders[d])
        if self._held_rotation is not None:  # a switch just happened (see update_task_schedule)
            state['held_rotation'] = {d: x.detach().cpu() for d, x in self._held_rotation.items()}
        return state

    def load_state_dict_extra(self, state):
        self.schedule.load_state_dict(state['schedule'])
        self.decay_epochs = int(state.get('decay_epochs', 0))
        for d, net in (('A', self.netG_A), ('B', self.netG_B)):
            saved = state.get(f'ref_encoder_{d}')
            self.ref_encoders[d] = None if saved is None else reference.frozen_copy(unwrap(net).encoder, saved)
        held = state.get('held_rotation')
        self._held_rotation = None if held is None else {d: self.to_device(x) for d, x in held.items()}
        self.apply_encoder_mode()
