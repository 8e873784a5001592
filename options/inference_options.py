"""Options of a trained run for the tools that only run its generators (app.py, tools/export.py).

Like test.py they read checkpoints/NAME/train_opt.yaml, so architecture options need not be repeated; unlike
test.py they need no --dataroot and write nothing into the checkpoint folder.
"""
import os

from .base_options import OptionError
from .test_options import TestOptions


def trained_runs(checkpoints_dir):
    """Names of the runs under ``checkpoints_dir`` that recorded their training options."""
    if not os.path.isdir(checkpoints_dir):
        return []
    return sorted(d for d in os.listdir(checkpoints_dir)
                  if os.path.isfile(os.path.join(checkpoints_dir, d, 'train_opt.yaml')))


def check_run_exists(name, checkpoints_dir):
    """Raise OptionError (one line, listing the runs there) when ``name`` has neither options nor weights."""
    folder = os.path.join(checkpoints_dir, name)
    has_weights = os.path.isdir(folder) and any(f.endswith('.pth') for f in os.listdir(folder))
    if os.path.isfile(os.path.join(folder, 'train_opt.yaml')) or has_weights:
        return
    runs = trained_runs(checkpoints_dir)
    listing = f"runs there: {', '.join(runs)}" if runs else 'no trained runs there'
    raise OptionError(f"no run '{name}' in {checkpoints_dir} (no train_opt.yaml and no weights in {folder}); "
                      f"{listing}; check --name and --checkpoints_dir")


class InferenceOptions(TestOptions):
    """TestOptions without the --dataroot requirement and without writing test_opt.txt/yaml."""

    def gather_options(self):
        parser = self.initialize(self._new_parser(add_help=False))
        known, _ = parser.parse_known_args(self.args)
        check_run_exists(known.name, known.checkpoints_dir)
        return super().gather_options()

    def check(self, opt):
        self.check_trained_model(opt)
        super(TestOptions, self).check(opt)
        if 'load_size' not in self._given_on_command_line(self.parser):
            opt.load_size = opt.crop_size

    def save_options(self, opt, phase):
        return f'run {opt.name}: --model {opt.model} --netG {getattr(opt, "netG", "?")} (options of ' \
               f'{os.path.join(opt.checkpoints_dir, opt.name, "train_opt.yaml")})'


def load_trained_model(args):
    """Parse ``args`` as InferenceOptions and return (opt, model) with the run's weights loaded for inference.

    The model is in eval mode only with --eval (as in test.py); a missing run or a checkpoint that does not fit
    raises OptionError / CheckpointError with a one-line message.
    """
    from models import create_model  # options are parsed before models are built (as in test.py)
    opt = InferenceOptions(args).parse()
    opt.serial_batches = True
    opt.no_flip = True
    model = create_model(opt)
    model.setup(opt)
    if opt.eval:
        model.eval()
    return opt, model
