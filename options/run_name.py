"""--name auto (Ganzo's experiment hash): name a training run by a short hash of the options that change what it
learns (architecture, data, batch size, augmentation, losses, optimizer...), so the same options always give the
same name while runs that would learn differently never share one.

Left out (NOT_HASHED and every display option): how long to train (--n_epochs, --n_epochs_decay), so a finished
run extended with a higher --n_epochs --continue_train finds its folder again; where to write and how to log,
display, save or score it on the side; the flags of one invocation. --seed counts only when given.
"""
import argparse
import hashlib
import json

from visualizers import Visualizer

AUTO = 'auto'
NOT_HASHED = {
    # one invocation: where it writes, how it starts, how many loader workers and which devices it uses
    'name', 'checkpoints_dir', 'config', 'continue_train', 'epoch', 'load_iter', 'overwrite', 'suffix', 'gpu_ids',
    'num_threads', 'verbose', 'keep_cpu_memory', 'auto_resume',
    # how long to train
    'n_epochs', 'n_epochs_decay', 'epoch_count',
    # what is logged, saved and scored along the way
    'print_freq', 'display_freq', 'update_html_freq', 'no_html', 'display_winsize', 'save_latest_freq',
    'save_latest_minutes', 'save_epoch_freq', 'save_by_iter', 'save_best', 'eval_freq', 'eval_phase', 'eval_num',
    'eval_metrics', 'fidelity_weights',
}


def display_options():
    """The options of the Visualizer and its backends (HTML, visdom, comet, tensorboard, W&B...)."""
    parser = Visualizer.modify_commandline_options(argparse.ArgumentParser(add_help=False))
    return {action.dest for action in parser._actions}


def options_hash(options, seed_given, length=8):
    """Short hex digest of the option values that change what a run learns."""
    skip = NOT_HASHED | display_options() | (set() if seed_given else {'seed'})
    relevant = {k: v for k, v in sorted(options.items()) if k not in skip}
    text = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def auto_name(opt, options, seed_given):
    """'<model>_<hash>' for the options of ``opt`` (``options``: its plain dict)."""
    return f'{opt.model}_{options_hash(options, seed_given)}'
