"""Options used by train.py only."""
import os

from models.networks import objectives
from training import best_checkpoint
from util import util
from visualizers import Visualizer
from . import run_name
from .base_options import BaseOptions, OptionError

# Saved options a --continue_train does not start from: the run's place, this invocation's devices, and values
# the resume derives itself (the epoch count comes from the checkpoint; --suffix is already part of the name).
NOT_RESUMED = ('name', 'checkpoints_dir', 'gpu_ids', 'epoch_count', 'suffix')


class TrainOptions(BaseOptions):
    is_train = True

    def initialize(self, parser):
        parser = BaseOptions.initialize(self, parser)
        # visualisation and logging
        parser.add_argument('--print_freq', type=int, default=100, help='frequency (iterations) of printing losses on the console and the loss log')
        parser.add_argument('--display_freq', type=int, default=400, help='frequency (iterations) of showing training results')
        parser.add_argument('--update_html_freq', type=int, default=1000, help='frequency (iterations) of saving training results to html')
        parser.add_argument('--no_html', action='store_true',
                            help='do not save intermediate training results to [checkpoints_dir]/[name]/web/')
        parser = Visualizer.modify_commandline_options(parser)  # visdom, comet and HTML page options
        # saving and loading
        parser.add_argument('--save_latest_freq', type=int, default=5000, help='frequency (iterations) of saving the latest training state')
        parser.add_argument('--save_latest_minutes', type=float, default=0,
                            help='also save the latest training state every this many minutes of training (0: off), so '
                                 'a crash or pre-emption loses minutes, not hours; under torchrun the ranks agree on the '
                                 'step to save at')
        parser.add_argument('--save_epoch_freq', type=int, default=5, help='frequency (epochs) of saving checkpoints at the end of epochs')
        parser.add_argument('--save_by_iter', action='store_true',
                            help='also keep the training state of every --save_latest_freq save as iter_<N>')
        parser = best_checkpoint.add_options(parser)  # --save_best
        parser.add_argument('--continue_train', action='store_true',
                            help='resume training exactly where the saved training state (--epoch / --load_iter) stopped')
        parser.add_argument('--auto_resume', action='store_true',
                            help='resume from the latest training state when the run folder holds one, else start a '
                                 'new run: the same command line for the first start and every restart (torchrun '
                                 '--max-restarts, SLURM --requeue)')
        parser.add_argument('--overwrite', action='store_true',
                            help='train again from scratch under a --name that already holds checkpoints (they are '
                                 'replaced as the new run saves its own); without it, or --continue_train, such a '
                                 'run is refused (an interactive terminal asks instead)')
        parser.add_argument('--epoch_count', type=int, default=1,
                            help='the starting epoch count of a new run (resumed runs take it from the checkpoint)')
        parser.add_argument('--phase', type=str, default='train', help='train, val, test, etc')
        # training parameters
        parser.add_argument('--n_epochs', type=int, default=100, help='number of epochs with the initial learning rate')
        parser.add_argument('--n_epochs_decay', type=int, default=100, help='number of epochs to linearly decay learning rate to zero')
        parser.add_argument('--optimizer', type=str, default='adam',
                            help='optimizer: adam or any other torch.optim / torch-optimizer name (adamw, sgd, radam, adabelief, lamb, ...)')
        parser.add_argument('--lookahead', action='store_true', help='wrap the optimizer in Lookahead (torch-optimizer)')
        parser.add_argument('--fused_optimizer', action='store_true',
                            help='use the fused implementation of optimizers that have one (adam, adamw, sgd, ...): '
                                 'one kernel per step instead of a loop over tensors, much faster on CPU')
        parser.add_argument('--beta1', type=float, default=0.5, help='momentum term (beta1) of adam-like optimizers')
        parser.add_argument('--beta2', type=float, default=0.999, help='beta2 of adam-like optimizers')
        parser.add_argument('--lr', type=float, default=0.0002, help='initial learning rate')
        parser.add_argument('--gan_mode', type=str, default='lsgan', choices=objectives.spellings(),
                            help=objectives.gan_mode_help(None))
        parser.add_argument('--lambda_gp', type=float, default=None,
                            help='weight of the WGAN-GP gradient penalty with a Wasserstein --gan_mode (0 disables '
                                 'it); default: ' + objectives.defaults_help('lambda_gp', objectives.IMAGE_TO_IMAGE))
        parser.add_argument('--pool_size', type=int, default=50, help='the size of image buffer that stores previously generated images')
        parser.add_argument('--lr_policy', type=str, default='linear', choices=['linear', 'step', 'plateau', 'cosine'],
                            help='learning rate policy')
        parser.add_argument('--lr_decay_iters', type=int, default=50, help='multiply by a gamma every lr_decay_iters epochs (step policy)')
        # metrics on a held-out split during training (training/periodic_eval.py)
        parser.add_argument('--eval_freq', type=int, default=0,
                            help='every this many epochs, score --eval_num images of --eval_phase with --eval_metrics '
                                 '(logged with the losses, plotted in checkpoints/NAME/eval_metrics.png); 0 disables it')
        parser.add_argument('--eval_phase', type=str, default='val', help='held-out split used by --eval_freq')
        parser.add_argument('--eval_num', type=int, default=50, help='images scored by --eval_freq')
        parser.add_argument('--eval_metrics', type=str, default='psnr,ssim,l1',
                            help='metrics of --eval_freq: any of fid,kid,isc,psnr,ssim,l1 (FID/KID/IS use --fidelity_weights)')
        return parser

    def saved_training_options(self, known):
        """With --continue_train, the options the run of --name saved (train_opt.yaml): the resume starts from them,
        and flags given on the command line (or in --config) are changes, checked and reported like any other.
        Not taken: where the run lives and how this invocation runs (NOT_RESUMED)."""
        if not known.continue_train or known.name == run_name.AUTO:
            return {}
        path = os.path.join(known.checkpoints_dir, known.name, 'train_opt.yaml')
        if not os.path.isfile(path):
            return {}
        saved = util.read_yaml_or_json(path, OptionError, label='') or {}
        return {k: v for k, v in saved.items() if k not in NOT_RESUMED}

    def gather_options(self):
        opt = super().gather_options()
        if getattr(opt, 'lambda_gp', 0) is None:
            opt.lambda_gp = objectives.lookup(opt.gan_mode).lambda_gp
        return opt

    def check(self, opt):
        super().check(opt)
        for key in ('n_epochs', 'n_epochs_decay'):
            if getattr(opt, key) < 0:
                raise OptionError(f'--{key} must be 0 or more, not {getattr(opt, key)}')
        if opt.n_epochs + opt.n_epochs_decay < 1:
            raise OptionError('--n_epochs + --n_epochs_decay must be at least 1 (the number of epochs to train)')
        if opt.continue_train and opt.overwrite:
            raise OptionError('--continue_train resumes the run and --overwrite starts it over: give one of them')
        if opt.auto_resume and (opt.continue_train or opt.overwrite):
            raise OptionError('--auto_resume decides itself whether to resume the latest state: drop '
                              + ('--continue_train' if opt.continue_train else '--overwrite'))
        if opt.save_latest_minutes < 0:
            raise OptionError(f'--save_latest_minutes must be 0 (off) or more, not {opt.save_latest_minutes:g}')
        if opt.continue_train and opt.epoch_count != 1:
            raise OptionError('--epoch_count is read from the checkpoint when resuming; drop it with --continue_train')
        best_checkpoint.parse_criterion(opt.save_best)  # OptionError when malformed
        if opt.dataroot is None:
            raise OptionError('--dataroot is required for training (e.g. --dataroot datasets/synthetic_facades; '
                              'make one with python datasets/make_synthetic_dataset.py)')
