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

This module also holds the checks made before a run writes anything (:func:`preflight`): a run folder that
already holds checkpoints is only trained again with ``--continue_train`` or ``--overwrite``, and a resume
whose schedule is already complete does nothing (:class:`NothingToTrain`).
"""
import json
import os
import sys
import warnings

import yaml

from util import util
from util.errors import OptionError
from . import checkpoint

# What train.py's one resume line compares between the saved run and the current options (plus the model's
# rate_options).
SCHEDULE_OPTIONS = ('n_epochs', 'n_epochs_decay', 'lr', 'lr_policy', 'batch_size', 'beta1', 'optimizer')
# Saved alongside them: what the position and the schedule also depend on.
POSITION_OPTIONS = ('epoch_count', 'lr_decay_iters', 'world_size')


class NothingToTrain(Exception):
    """A resume whose schedule is already complete: train.py says so, writes nothing and exits with 0."""


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


# ---------------------------------------------------------------------------------------------- before writing

def run_exists(save_dir):
    """Checkpoint labels already saved in ``save_dir`` (empty for a new run)."""
    return checkpoint.available_labels(save_dir) if os.path.isdir(save_dir) else []


def _ask(question, answers):
    """Read one of ``answers`` (first letters accepted) from the terminal; None on end of input."""
    while True:
        try:
            reply = input(question).strip().lower()
        except EOFError:
            return None
        for answer in answers:
            if reply and answer.startswith(reply):
                return answer


def check_existing_run(opt, interactive=None):
    """A new run (no --continue_train) under a --name that already holds checkpoints is refused, unless
    --overwrite; on an interactive terminal (one process) the user is asked instead."""
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    labels = run_exists(save_dir)
    if opt.continue_train or getattr(opt, 'overwrite', False) or not labels:
        return
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty() and getattr(opt, 'world_size', 1) == 1
    if interactive:
        answer = _ask(f'{save_dir} already holds a run (saved: {", ".join(labels)}). [c]ontinue it, '
                      f'[o]verwrite it, or [a]bort? ', ('continue', 'overwrite', 'abort'))
        if answer == 'continue':
            opt.continue_train = True
            return
        if answer == 'overwrite':
            opt.overwrite = True
            return
    raise OptionError(f"{save_dir} already holds a trained run (saved: {', '.join(labels)}); add --continue_train "
                      f"to resume it, --overwrite to train it again from scratch, or choose another --name")


def choose_auto_resume(opt):
    """--auto_resume: resume from the latest training state when the run folder holds one (as --continue_train
    --epoch latest would), else start a new run. Every process decides from the (shared) run folder, which nobody
    writes before training starts. Returns whether the run resumes."""
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    opt.continue_train = os.path.isfile(checkpoint.training_state_path(save_dir, 'latest'))
    if opt.continue_train:
        opt.epoch, opt.load_iter = 'latest', 0
    return opt.continue_train


def preflight(opt, label):
    """Read the training state to resume and check the schedule before anything is written.

    Returns ``(state, saved_schedule)``. Sets ``opt.epoch_count`` to the resumed run's (the linear schedule
    counts from it). Raises CheckpointError for a missing or unreadable state and NothingToTrain when the
    current options end before the saved position.
    """
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    path = checkpoint.training_state_path(save_dir, label)
    state = checkpoint.read_training_state(path)
    # a checkpoint of other networks is refused first (the model checks again with its own option list)
    checkpoint.check_architecture(opt, tuple(state.get('architecture', {})), state.get('architecture', {}), path)
    saved = saved_schedule(state, save_dir)
    if 'epoch_count' in saved:
        opt.epoch_count = int(saved['epoch_count'])
    last = opt.n_epochs + opt.n_epochs_decay
    if int(state['epoch']) > last:
        raise NothingToTrain(
            f"nothing to train: checkpoint '{label}' is at the end of epoch {int(state['epoch']) - 1} and "
            f"--n_epochs {opt.n_epochs} "
            f"--n_epochs_decay {opt.n_epochs_decay} end at epoch {last}; nothing was written (raise --n_epochs or "
            f"--n_epochs_decay to train further)")
    return state, saved


def _hyperparameters(group):
    return set(group) - {'params', 'lr', 'initial_lr'}


def optimizer_changed(state, i, optimizer):
    """Whether optimizer ``i`` of ``state`` was of another class than ``optimizer`` (None: not recorded)."""
    types = state.get('optimizer_types')
    return None if not types or i >= len(types) else types[i] != type(optimizer).__name__


def check_optimizers(model, state, saved):
    """Refuse, before anything is written, a resume whose optimizers cannot take the saved optimizer states
    (another --optimizer whose state has other fields: adam vs sgd or rmsprop); one of the same kind (adam vs
    adamw) is carried over by checkpoint.load_training_state and reported by :func:`describe_changes`."""
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


# ---------------------------------------------------------------------------------------------- history

def cut_history(save_dir, total_iters, epoch):
    """Drop what an abandoned continuation logged: loss and snapshot records after ``total_iters`` images
    (web/loss_history.jsonl, web/snapshots.jsonl) and held-out evaluations of epochs from ``epoch`` on
    (eval_metrics.jsonl), so resuming from an earlier checkpoint does not leave the plots running backwards.
    Returns how many records were dropped."""
    dropped = 0
    logs = (('web/loss_history.jsonl', 'iters', total_iters), ('web/snapshots.jsonl', 'iters', total_iters),
            ('eval_metrics.jsonl', 'epoch', epoch - 1))
    for name, key, limit in logs:
        path = os.path.join(save_dir, name)
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        keep = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if int(record.get(key, 0)) <= limit:
                keep.append(line if line.endswith('\n') else line + '\n')
        if len(keep) != len(lines):
            dropped += len(lines) - len(keep)
            util.atomic_write_text(path, ''.join(keep))
    return dropped
