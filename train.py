"""Train any model of the zoo.

    python train.py --dataroot ./datasets/synthetic_facades --name facades_pix2pix --model pix2pix --direction BtoA

Checkpoints, options, the loss log and the training web page go to ./checkpoints/NAME/. Stop with Ctrl-C
(or SIGTERM, e.g. a SLURM pre-emption) at any time: the state is saved after the current iteration, the run ends
with exit status 130 (SIGINT) or 143 (SIGTERM), and ``--continue_train`` resumes exactly there. One trainer per
run: a second train.py on the same run is refused while the first holds checkpoints/NAME/.train.lock.
The loop itself is training/trainer.py: Trainer.
"""
import os
import signal
import sys

from options.train_options import TrainOptions
from training.run_folder import NothingToTrain
from training.trainer import Trainer
from util import distributed
from util.cli import run_cli
from util.reproducibility import write_run_info
from util.run_lock import RunLock
from util.stop_signals import StopNow, exit_status, signal_name


def main(args=None):
    """Exit status: 0 trained (or nothing left to train), 130/143 stopped by SIGINT/SIGTERM (state saved, or at
    once on a second Ctrl-C), 2 refused (bad options, a run another trainer holds), 1 failed."""
    options = TrainOptions(args)
    opt = options.parse(save=False)  # written below, once the run is checked (a refused run writes nothing)
    with RunLock(os.path.join(opt.checkpoints_dir, opt.name)) as lock:  # held until train() returns or the process dies
        return train(options, opt, args, lock)


def train(options, opt, args, lock):
    """Build the trainer and run it; ``lock`` is taken once the run is accepted. Returns main's exit status."""
    def write_run_files():
        if opt.rank == 0:
            lock.acquire()  # one trainer per run: a second one is refused here, before its first byte
            options.save_options(opt, 'train')
        write_run_info(opt, args)  # git commit, command line, library versions (rank 0)

    try:
        trainer = Trainer(opt, write_run_files)
    except NothingToTrain as done:
        print(str(done), file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        print('interrupted before training started: nothing to save', file=sys.stderr)
        return exit_status(signal.SIGINT)
    finished = None
    try:
        finished = trainer.run()
    except StopNow as stop:
        if trainer.is_main:
            print(f'stopped at once by a second {signal_name(stop.signum)}: nothing saved since the last checkpoint',
                  file=sys.stderr)
        return exit_status(stop.signum)
    finally:
        trainer.visualizer.close()  # final loss plot, pending visdom posts, comet archive
        distributed.cleanup(wait_for_peers=finished is not None)  # after an error, peers may never arrive
    return 0 if finished else exit_status(trainer.stopped_by)


if __name__ == '__main__':
    sys.exit(run_cli(main))
