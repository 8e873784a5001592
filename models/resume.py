"""Resuming a training run with the options it is resumed with.

The rule: on ``--continue_train`` every learning rate is recomputed from the *current* options at the resumed
position (the number of scheduler steps the run had taken), the optimizer moments and every other training
state come from the checkpoint, and one line lists each schedule option that differs from the saved run and
what that changes. Every rate option follows it: --lr and the ones a model declares in ``rate_options``
(--lr_G, --lr_D, LiSS's --lr_<task>), since each parameter group is rescaled by how much its rate as built from
the options changed. Another --optimizer is refused before anything is written when its state does not convert
(adam <-> sgd, rmsprop), and carried over with the new optimizer's settings when it does (adam <-> adamw). With unchanged options the result is bit-identical to the uninterrupted run; a run
extended from ``--n_epochs 1 --n_epochs_decay 0`` to ``--n_epochs 2 --n_epochs_decay 1`` continues exactly
like a run started with the extended options.

The schedule state lives here, below models/checkpoint.py, which saves it (:func:`schedule_of`) and restores it
(:func:`restore_schedules`); the checks made on the run folder before a run writes anything are in
training/run_folder.py.
"""
import os
import warnings

import yaml

from util.errors import OptionError

# What train.py's one resume line compares between the saved run and the current options (plus the model's
# rate_options).
SCHEDULE_OPTIONS = ('n_epochs', 'n_epochs_decay', 'lr', 'lr_policy', 'batch_size', 'beta1', 'optimizer')
# Saved alongside them: what the position and the schedule also depend on.
POSITION_OPTIONS = ('epoch_count', 'lr_decay_iters', 'world_size')


def schedule_of(opt, rate_options=()):
    """The schedule options of ``opt`` as saved in a training state (``state['schedule']``), with the model's
    ``rate_options``."""
    keys = SCHEDULE_OPTIONS + POSITION_OPTIONS + tuple(k for k in rate_options if k not in SCHEDULE_OPTIONS)
    return {k: getattr(opt, k) for k in keys if hasattr(opt, k)}


def saved_schedule(state, save_dir):
    """The schedule options of the run that wrote ``state``; states older than this field fall back on the run
    folder's train_opt.yaml (read before this run rewrites it), then on nothing (every option counts as kept)."""
    if isinstance(state.get('schedule'), dict):
        return dict(state['schedule'])
    path = os.path.join(save_dir, 'train_opt.yaml')
    try:
        with open(path) as f:
            saved = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {k: saved[k] for k in SCHEDULE_OPTIONS + POSITION_OPTIONS if k in saved}


def epoch_samples(state, saved):
    """Images of the current epoch this process had consumed when ``state`` was saved."""
    if 'epoch_samples' in state:
        return int(state['epoch_samples'])
    return int(state.get('epoch_iter', 0)) * int(saved.get('batch_size', 1))


def _hyperparameters(group):
    return set(group) - {'params', 'lr', 'initial_lr'}


def optimizer_changed(state, i, optimizer):
    """Whether optimizer ``i`` of ``state`` was of another class than ``optimizer`` (None: not recorded)."""
    types = state.get('optimizer_types')
    return None if not types or i >= len(types) else types[i] != type(optimizer).__name__


def check_optimizers(model, state, saved):
    """Refuse, before anything is written, a resume whose optimizers cannot take the saved optimizer states
    (another --optimizer whose state has other fields: adam vs sgd or rmsprop); one of the same kind (adam vs
    adamw) is carried over by models/checkpoint.py: load_training_state and reported by :func:`describe_changes`."""
    opt = model.opt
    for i, (optimizer, saved_state) in enumerate(zip(model.optimizers, state.get('optimizers') or [])):
        saved_groups = saved_state.get('param_groups') or [{}]
        if optimizer_changed(state, i, optimizer) is False or \
                _hyperparameters(saved_groups[0]) == _hyperparameters(optimizer.param_groups[0]):
            continue
        types = state.get('optimizer_types') or []
        was = saved.get('optimizer')
        trained = (f'--optimizer {was}' if was else 'another optimizer') + (f' ({types[i]})' if i < len(types) else '')
        raise OptionError(f"the checkpoint was trained with {trained}, whose state does not fit this run's --optimizer "
                          f"{opt.optimizer} ({type(optimizer).__name__}); resume with "
                          f"{f'--optimizer {was}' if was else 'the optimizer it was trained with'}, or train with "
                          f"--optimizer {opt.optimizer} from scratch (--overwrite or another --name)")


def _fmt(value):
    return f'{value:g}' if isinstance(value, float) else str(value)


def describe_changes(saved, opt, state, batches_per_epoch=None):
    """One line naming every schedule option that differs from the saved run and what that changes; None
    when none does."""
    changes = []
    differs = lambda k: k in saved and saved[k] != getattr(opt, k, saved[k])  # noqa: E731
    if differs('n_epochs') or differs('n_epochs_decay'):
        old_last = int(saved.get('n_epochs', opt.n_epochs)) + int(saved.get('n_epochs_decay', opt.n_epochs_decay))
        spelled = ', '.join(f'--{k} {_fmt(saved[k])} -> {_fmt(getattr(opt, k))}'
                            for k in ('n_epochs', 'n_epochs_decay') if differs(k))
        decay = ''
        if opt.lr_policy == 'linear':
            first, last = opt.n_epochs + 1, opt.n_epochs + opt.n_epochs_decay
            decay = ('; no decay' if not opt.n_epochs_decay else f'; the linear decay runs in epoch {first}'
                     if first == last else f'; the linear decay runs over epochs {first}-{last}')
        changes.append(f'{spelled} (the run ends after epoch {opt.n_epochs + opt.n_epochs_decay} instead of '
                       f'{old_last}{decay})')
    if differs('lr'):
        changes.append(f'--lr {_fmt(saved["lr"])} -> {_fmt(opt.lr)} (every learning rate x{opt.lr / saved["lr"]:.4g})')
    for key in sorted(k for k in saved if k not in SCHEDULE_OPTIONS + POSITION_OPTIONS and differs(k)):
        old, new = saved[key], getattr(opt, key)
        scale = f' x{new / old:.4g}' if old and new else ''
        changes.append(f'--{key} {_fmt(old)} -> {_fmt(new)} (the learning rate it sets{scale}, from the resumed '
                       f'position on)')
    if differs('optimizer'):
        changes.append(f'--optimizer {saved["optimizer"]} -> {opt.optimizer} (the moment estimates carry over; the '
                       f'other settings are {opt.optimizer}\'s from now on)')
    if differs('lr_policy'):
        changes.append(f'--lr_policy {saved["lr_policy"]} -> {opt.lr_policy} (learning rates follow the {opt.lr_policy} '
                       f'schedule from the resumed epoch on)')
    if differs('batch_size'):
        seen = epoch_samples(state, saved)
        where = f'at image {seen + 1} of the epoch' if seen else 'at the start of the epoch'
        if batches_per_epoch:
            where += f' ({batches_per_epoch} batches per epoch at the new size)'
        changes.append(f'--batch_size {saved["batch_size"]} -> {opt.batch_size} (resumes {where}; the learning rate '
                       f'is not rescaled)')
    if differs('beta1'):
        changes.append(f'--beta1 {_fmt(saved["beta1"])} -> {_fmt(opt.beta1)} (the optimizers\' momentum term from now '
                       f'on; their moment estimates are kept)')
    if not changes:
        return None
    return 'resuming with changed schedule options: ' + '; '.join(changes)


# ---------------------------------------------------------------------------------------------- learning rates

def restore_schedules(model, state, saved, fresh_groups):
    """Recompute every optimizer's learning rate and scheduler from the current options at the resumed position.

    ``fresh_groups``: the param_groups of the optimizers as built from the current options (before the saved
    optimizer states replaced their hyperparameters). The position is the saved scheduler's step count; the base
    learning rates are the saved ones (model-made multipliers included) times, per parameter group, its rate as
    built now / as built by the saved run (``state['built_lrs']``; states without it: --lr / saved --lr).
    """
    opt = model.opt
    lr_ratio = 1.0 if saved.get('lr', opt.lr) == opt.lr else opt.lr / saved['lr']
    built = state.get('built_lrs') or []
    same_policy = saved.get('lr_policy', opt.lr_policy) == opt.lr_policy
    change_beta1 = saved.get('beta1', getattr(opt, 'beta1', None)) != getattr(opt, 'beta1', None)
    default_steps = int(state['epoch']) - int(getattr(opt, 'epoch_count', 1))
    saved_schedulers = state.get('schedulers') or []
    for i, optimizer in enumerate(model.optimizers):
        saved_sched = saved_schedulers[i] if i < len(saved_schedulers) else {}
        ratios = _group_ratios(built[i] if i < len(built) else None, fresh_groups[i] if i < len(fresh_groups) else None,
                               len(optimizer.param_groups), lr_ratio)
        if change_beta1 and i < len(fresh_groups):
            for group, fresh in zip(optimizer.param_groups, fresh_groups[i]):
                if 'betas' in group and 'betas' in fresh:
                    group['betas'] = (fresh['betas'][0], group['betas'][1])
        if i >= len(model.schedulers):
            continue
        if opt.lr_policy == 'plateau':
            scheduler = model.schedulers[i]
            if same_policy and saved_sched:
                scheduler.load_state_dict(saved_sched)
            else:  # a plateau schedule starts here from the (rescaled) base rates
                for group in optimizer.param_groups:
                    group['lr'] = group.get('initial_lr', group['lr'])
            if any(r != 1.0 for r in ratios) or not (same_policy and saved_sched):
                for group, ratio in zip(optimizer.param_groups, ratios):
                    group['lr'] = group['lr'] * ratio
                scheduler._last_lr = [group['lr'] for group in optimizer.param_groups]
            continue
        base = saved_sched.get('base_lrs') or [g.get('initial_lr', g['lr']) for g in optimizer.param_groups]
        base = [b * r if r != 1.0 else b for b, r in zip(base, ratios)]
        for group, lr in zip(optimizer.param_groups, base):
            group['lr'] = group['initial_lr'] = lr
        steps = int(saved_sched.get('last_epoch', default_steps))
        with warnings.catch_warnings():  # stepping a new scheduler before the optimizer steps is intended here
            warnings.simplefilter('ignore')
            scheduler = model.make_scheduler(optimizer)
            for _ in range(max(0, steps)):
                scheduler.step()
        model.schedulers[i] = scheduler


def _group_ratios(saved_built, fresh, n_groups, lr_ratio):
    """Per parameter group: its learning rate as built from the current options / as built by the saved run."""
    if not saved_built or not fresh or len(saved_built) != n_groups or len(fresh) != n_groups:
        return [lr_ratio] * n_groups
    now = [group.get('initial_lr', group['lr']) for group in fresh]
    return [1.0 if new == old else (new / old if old else 1.0) for new, old in zip(now, saved_built)]
