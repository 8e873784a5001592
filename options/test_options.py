"""Options used by test.py only; architecture options default to those saved by the training run."""
import os

import yaml

import models
from .base_options import BaseOptions, OptionError, RUN_OPTIONS


class TestOptions(BaseOptions):
    __test__ = False  # not a pytest test class

    is_train = False

    def initialize(self, parser):
        parser = BaseOptions.initialize(self, parser)
        parser.add_argument('--results_dir', type=str, default='./results/', help='saves results here.')
        parser.add_argument('--aspect_ratio', type=float, default=1.0, help='aspect ratio of result images')
        parser.add_argument('--phase', type=str, default='test', help='train, val, test, etc')
        parser.add_argument('--eval', action='store_true', help='use eval mode (batch norm statistics, no dropout) during test time')
        parser.add_argument('--num_test', type=int, default=50, help='how many test images to run')
        parser.add_argument('--metrics', type=str, default='',
                            help='comma-separated metrics computed on the written results: fid,kid,isc (torch-fidelity, '
                                 'see --fidelity_weights) and psnr,ssim,l1 (paired); saved to <results>/metrics.json')
        parser.set_defaults(load_size=parser.get_default('crop_size'))
        return parser

    def saved_training_options(self, known):
        """The options of the training run --name, minus those describing a run (see RUN_OPTIONS)."""
        path = os.path.join(known.checkpoints_dir, known.name, 'train_opt.yaml')
        self.trained_model = None  # the --model the run recorded (check_trained_model)
        if not os.path.isfile(path):
            return {}
        with open(path) as f:
            saved = yaml.safe_load(f) or {}
        self.trained_model = saved.get('model')
        return {k: v for k, v in saved.items() if k not in RUN_OPTIONS}

    def check_trained_model(self, opt):
        """One line naming the mismatch when --model is of another family than the run was trained with (its
        networks would be missing or different); --model test and a parent or child class of the run's model
        (pix2pix on a perceptual run) read the run's generators and are allowed."""
        trained = getattr(self, 'trained_model', None)
        if not trained or trained == opt.model or opt.model == 'test':
            return
        try:
            mine, theirs = models.find_model_using_name(opt.model), models.find_model_using_name(trained)
        except (ValueError, ImportError):  # e.g. a plugin model that is not loaded: the checkpoint check decides
            return
        if not (issubclass(mine, theirs) or issubclass(theirs, mine)):
            raise OptionError(f"run '{opt.name}' was trained with --model {trained}, not --model {opt.model}: leave "
                              f"--model out (test.py takes it from the run) or pass --model {trained}")

    def check(self, opt):
        self.check_trained_model(opt)
        if 'load_size' not in self._given_on_command_line(self.parser):
            opt.load_size = opt.crop_size  # test images are resized to the crop size, never randomly cropped
        super().check(opt)
        if opt.num_test < 1:
            raise OptionError(f'--num_test must be at least 1 (the number of test images), not {opt.num_test}')
        if opt.dataroot is None:
            trained = getattr(self, 'trained_model', None)
            if trained and trained != opt.model:  # its data options are the --model trained's, not taken over
                raise OptionError(f'--dataroot is required: run {opt.name} was trained with --model {trained}, whose '
                                  f'data --model {opt.model} does not take over')
            raise OptionError('--dataroot is required (the training run of --name did not record one)')
