"""Checkpoint files of the zoo: what they contain, how they are written and read, and the errors that say
what to change when one does not fit.

Two kinds of file live in ``checkpoints/NAME/``:

- ``<label>_net_<name>.pth``: one network's plain ``state_dict`` (CPU tensors, the classic key names, so
  published CycleGAN/pix2pix weights load unchanged);
- ``<label>_train_state.pth``: everything needed to continue training exactly (format
  :data:`TRAINING_STATE_FORMAT`): networks, optimizers, schedulers, gradient scaler, image pools, RNG states
  per rank, counters and the model's own extra state.

Both are written atomically (a temporary file renamed into place), so a crash never leaves half a file.
BaseModel's checkpoint methods delegate here; the functions that need a model use only its public
attributes (``networks()``, ``optimizers``, ``schedulers``, ``scaler``, ``image_pools``, ``opt``...).
"""
import glob
import os
import re

import torch
import torch.nn as nn

from util import distributed, util
from util.distributed import unwrap
from util.errors import CheckpointError
from . import resume

# Options describing what a checkpoint contains: test.py takes them from the training run even when testing
# with a different model (e.g. --model test on a cycle_gan run).
ARCHITECTURE_OPTIONS = ('input_nc', 'output_nc', 'ngf', 'ndf', 'netG', 'netD', 'n_layers_D', 'norm',
                        'no_dropout', 'dropout_rate', 'init_type', 'init_gain', 'num_D')

TRAINING_STATE_FORMAT = 1


# ---------------------------------------------------------------------------------------------- file names

def network_path(save_dir, label, name):
    return os.path.join(save_dir, f'{label}_net_{name}.pth')


def training_state_path(save_dir, label):
    return os.path.join(save_dir, f'{label}_train_state.pth')


def available_labels(save_dir):
    """Checkpoint labels saved in ``save_dir`` (epochs in order, then iter_N, latest...)."""
    labels = set()
    for path in glob.glob(os.path.join(save_dir, '*_net_*.pth')) + \
            glob.glob(os.path.join(save_dir, '*_train_state.pth')):
        match = re.match(r'(.+?)_(net_.+|train_state)\.pth$', os.path.basename(path))
        if match:
            labels.add(match.group(1))
    return sorted(labels, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


# ---------------------------------------------------------------------------------------------- networks

def save_network(net, path):
    """Write one network's state_dict (unwrapped from DDP/compile, on the CPU) atomically."""
    state = {k: v.detach().cpu() for k, v in unwrap(net).state_dict().items()}
    util.atomic_torch_save(state, path)


def read_network(path, save_dir, device, verbose=True):
    """The state_dict saved at ``path``; CheckpointError listing the saved labels when there is none."""
    if not os.path.isfile(path):
        available = ', '.join(available_labels(save_dir)) or 'none'
        raise CheckpointError(f"no checkpoint '{path}' (saved labels for this experiment: {available}); "
                              f"check --name, --checkpoints_dir and --epoch")
    if verbose:
        print(f'loading the model from {path}')
    return safe_load(path, device)


def safe_load(path, map_location='cpu'):
    """torch.load of tensors only: a truncated or corrupt file, or one holding pickled Python objects (code that
    loading would run), is a one-line CheckpointError naming the file."""
    import pickle
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"'{path}' holds pickled Python objects, not only tensors, and this project refuses to "
                              f"run code from checkpoints (torch: {first}); save a plain state_dict") from exc
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"'{path}' is not a readable checkpoint (truncated or corrupt: {first}); "
                              f"use another --epoch / --load_iter or save it again") from exc


def load_network_state(net, state_dict, path, opt):
    """load_state_dict with a short explanation instead of a long key diff when it does not fit."""
    state_dict = drop_instance_norm_stats(net, state_dict)
    own = net.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [f'{k}: checkpoint {list(state_dict[k].shape)} vs model {list(own[k].shape)}'
                  for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing keys (e.g. {missing[0]})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected keys (e.g. {unexpected[0]})')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatches (e.g. {mismatched[0]})')
        arch = ' '.join(f'--{k} {getattr(opt, k)}' for k in ARCHITECTURE_OPTIONS if hasattr(opt, k))
        raise CheckpointError(f"'{path}' does not fit the network built from {arch}: {'; '.join(parts)}. "
                              f"Pass the options it was trained with.")
    net.load_state_dict(state_dict)


def drop_instance_norm_stats(net, state_dict):
    """Old published weights carry running stats for InstanceNorm layers that track none: drop them."""
    own = net.state_dict()
    dropped = {}
    for key, value in state_dict.items():
        if key not in own and key.rsplit('.', 1)[-1] in ('running_mean', 'running_var', 'num_batches_tracked'):
            module_name = key.rsplit('.', 1)[0]
            module = dict(net.named_modules()).get(module_name)
            if isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats:
                continue
        dropped[key] = value
    return dropped


# ---------------------------------------------------------------------------------------------- architecture

def saved_architecture(save_dir, keys):
    """Architecture options ``keys`` recorded by the training run (train_opt.yaml), or {} for foreign weights."""
    import yaml
    path = os.path.join(save_dir, 'train_opt.yaml')
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        saved = yaml.safe_load(f) or {}
    return {k: saved[k] for k in keys if k in saved}


def check_architecture(opt, keys, saved, source):
    """Raise CheckpointError naming the first option of ``keys`` whose value in ``opt`` differs from ``saved``."""
    for key in keys:
        if key in saved and hasattr(opt, key) and saved[key] != getattr(opt, key):
            raise CheckpointError(f"the checkpoint was trained with --{key} {saved[key]} but this run uses "
                                  f"--{key} {getattr(opt, key)} (from {source}); pass --{key} {saved[key]}")


# ---------------------------------------------------------------------------------------------- training state

def save_training_state(model, path, epoch, epoch_iter, total_iters, epoch_samples=None):
    """Save everything needed to continue training ``model`` exactly, in one atomically written file.

    Distributed runs: every rank must call this (it is collective). Pools and RNG states are per rank and
    are gathered under 'ranks' (checking on the way that all replicas hold identical parameters); rank 0
    writes the file.
    """
    ranks = distributed.gather_rank_states({
        'rng': util.get_rng_states(),
        'pools': {name: pool.state_dict() for name, pool in model.image_pools.items()},
        'param_digest': distributed.parameter_digest(model.networks()) if distributed.is_distributed() else None})
    if ranks is None:
        return
    opt = model.opt
    state = {
        'format': TRAINING_STATE_FORMAT,
        'epoch': epoch, 'epoch_iter': epoch_iter, 'total_iters': total_iters,
        # images of this epoch consumed per process: the resume position whatever --batch_size resumes it
        'epoch_samples': epoch_iter * opt.batch_size if epoch_samples is None else epoch_samples,
        'schedule': resume.schedule_of(opt, model.rate_options),  # what its learning rates were computed from
        'built_lrs': getattr(model, 'built_lrs', None),  # each group's rate as built from those options
        'optimizer_types': [type(o).__name__ for o in model.optimizers],
        'architecture': {k: getattr(opt, k) for k in model.architecture_options() if hasattr(opt, k)},
        'networks': {name: unwrap(net).state_dict() for name, net in model.networks()},
        'optimizers': [o.state_dict() for o in model.optimizers],
        'schedulers': [s.state_dict() for s in model.schedulers],
        'scaler': model.scaler.state_dict(),
        'pools': ranks[0]['pools'],
        'rng': ranks[0]['rng'],
        'ranks': ranks,
        'extra': model.state_dict_extra(),
    }
    util.atomic_torch_save(state, path)


def read_training_state(path):
    """The training state saved at ``path``, checked for its format; CheckpointError when missing or unreadable."""
    if not os.path.isfile(path):
        available = ', '.join(available_labels(os.path.dirname(path))) or 'none'
        raise CheckpointError(f"cannot resume: no training state '{path}' (saved labels: {available}); "
                              f"check --name/--epoch/--load_iter or train without --continue_train")
    state = safe_load(path)
    if not isinstance(state, dict) or state.get('format') != TRAINING_STATE_FORMAT:
        found = state.get('format') if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"'{path}' has training-state format {found}, expected {TRAINING_STATE_FORMAT}")
    return state


def load_training_state(model, path, state=None):
    """Restore a state written by :func:`save_training_state` into ``model``; (epoch, epoch_iter, total_iters).

    ``state``: the file's content when the caller has read it already (:func:`read_training_state`). The
    learning rates and schedulers are recomputed from the model's current options at the saved position
    (models/resume.py). RNG states are restored last, so the run continues as if never stopped.
    """
    if state is None:
        state = read_training_state(path)
    model.check_architecture(state['architecture'], path)
    for name, net in model.networks():
        model.load_network_state(unwrap(net), state['networks'][name], path)
    fresh_groups = [[dict(group, params=None) for group in optimizer.param_groups] for optimizer in model.optimizers]
    for i, (optimizer, saved) in enumerate(zip(model.optimizers, state['optimizers'])):
        optimizer.load_state_dict(saved)
        if resume.optimizer_changed(state, i, optimizer):  # another --optimizer of the same kind (adam -> adamw):
            for group, fresh in zip(optimizer.param_groups, fresh_groups[i]):  # moments kept, its own settings
                group.update({k: v for k, v in fresh.items() if k not in ('params', 'lr', 'initial_lr')})
    resume.restore_schedules(model, state, resume.saved_schedule(state, os.path.dirname(path)), fresh_groups)
    model.scaler.load_state_dict(state['scaler'])
    local, exact = distributed.select_rank_state(state)  # this rank's pools and RNG streams
    if not exact:
        distributed.warn(f"'{path}' was saved by {len(state.get('ranks') or [0])} process(es) and is resumed by "
                         f"{distributed.get_world_size()}: training continues, but not bit-identically")
    for name, pool in model.image_pools.items():
        pool.load_state_dict(local['pools'][name], model.device)
    model.load_state_dict_extra(state['extra'])
    if local['rng'] is not None:
        util.set_rng_states(local['rng'])
    else:
        distributed.seed_rank(int(model.opt.seed) + int(state['total_iters']), distributed.get_rank())
    return state['epoch'], state['epoch_iter'], state['total_iters']
