"""The run folder checks and records of train.py, made before a run writes anything: a folder that already holds
checkpoints is only trained again with ``--continue_train`` or ``--overwrite`` (on a terminal the user is asked),
--auto_resume picks between starting and resuming, and a resume is read and checked (:func:`preflight`); a resume
whose schedule is already complete does nothing (:class:`NothingToTrain`). Once the run is accepted,
:func:`cut_history` drops what an abandoned continuation had logged.
"""
import json
import os
import sys

from models import checkpoint, resume
from util import util
from util.errors import OptionError


class NothingToTrain(Exception):
    """A resume whose schedule is already complete: train.py says so, writes nothing and exits with 0."""


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
    saved = resume.saved_schedule(state, save_dir)
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
