"""Options shared by training and testing, and the parsing machinery.

Option values come from, in increasing priority: the parser defaults, the defaults a model or dataset mode
sets in ``modify_commandline_options``, the options saved by the training run (test only), a ``--config``
YAML/JSON file, and the command line.
"""
import argparse
import os
import sys

import torch
import yaml

import data
import models
from models import networks
from models.checkpoint import ARCHITECTURE_OPTIONS  # what a checkpoint contains (test.py takes these from training)
from util import util
from util.errors import OptionError
from util.registry import load_plugins
from . import fast, run_name

# Options that describe one run rather than the trained model: never taken from the saved training options.
RUN_OPTIONS = ('name', 'checkpoints_dir', 'gpu_ids', 'config', 'phase', 'epoch', 'load_iter', 'batch_size',
               'serial_batches', 'no_flip', 'num_threads', 'results_dir', 'num_test', 'eval', 'verbose', 'suffix',
               'display_id', 'max_dataset_size', 'continue_train', 'seed', 'load_size')


# Flags that describe one invocation (how to start), not the run: never written to train_opt.yaml, so that file is
# always a valid --config for the same run.
INVOCATION_OPTIONS = ('continue_train', 'auto_resume', 'epoch', 'load_iter', 'overwrite', 'config')

_TRUE, _FALSE = ('true', 'yes', 'on', '1'), ('false', 'no', 'off', '0')


def add_negations(parser):
    """Give every on/off flag an off form, so that the command line can undo a --config or saved value:
    ``--no_<flag>`` (``--no_serial_batches``), or the positive name for flags already spelled ``no_<x>``
    (``--flip`` undoes ``--no_flip``) where no option of that name exists."""
    for action in list(parser._actions):
        if not isinstance(action, argparse._StoreTrueAction):
            continue
        dest = action.dest
        flag = '--' + (dest[3:] if dest.startswith('no_') else 'no_' + dest)
        if flag in parser._option_string_actions:
            flag = '--no_' + dest
            if flag in parser._option_string_actions:
                continue
        parser.add_argument(flag, dest=dest, action='store_false', default=argparse.SUPPRESS,
                            help=f'turn --{dest} off (undoes a --config or saved value)')
    return parser


def typed_config_value(action, key, value, source):
    """A --config value converted and checked like the same value on the command line."""
    where = f'{source}: {key}'
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise OptionError(f'{where} must be true or false, not {value!r}')
    if value is None:
        if action.default is None:
            return None
        raise OptionError(f'{where} is null; give a value (the default is {action.default})')
    value = _config_value(value)
    convert = action.type or str
    kind = {int: 'an integer', float: 'a number', str: 'a string'}.get(convert, getattr(convert, '__name__', 'value'))
    if isinstance(value, bool) or (convert is int and isinstance(value, float)):
        raise OptionError(f'{where} must be {kind}, not {value!r}')
    try:
        converted = convert(value if isinstance(value, str) else str(value))
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        raise OptionError(f'{where} must be {kind}, not {value!r}') from None
    if action.choices is not None and converted not in action.choices:
        raise OptionError(f"{where}: invalid choice {converted!r} (choose from {', '.join(map(str, action.choices))})")
    return converted


def int_or_inf(value):
    """argparse type for counts where 'inf' means no limit."""
    if str(value).lower() == 'inf':
        return float('inf')
    return int(value)


def load_config_file(path):
    """Read a flat mapping of option name -> value from a YAML or JSON file."""
    if not os.path.isfile(path):
        raise OptionError(f"--config {path}: no such file")
    values = util.read_yaml_or_json(path, OptionError, label='--config ')
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise OptionError(f"--config {path} must contain a mapping of option names to values")
    return {str(k).replace('-', '_'): v for k, v in values.items()}


def _config_value(value):
    """Lists in a config file become the comma-separated strings the command line would give."""
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return value


class BaseOptions:
    """Defines the shared options and parses ``args`` (default: sys.argv) into an option namespace."""

    is_train = False

    def __init__(self, args=None):
        self.args = list(sys.argv[1:] if args is None else args)
        self.notes = []  # one-line notes printed to stderr once the options are checked

    def initialize(self, parser):
        # basic parameters
        parser.add_argument('--dataroot', default=None,
                            help='path to images (should have subfolders trainA, trainB, valA, valB, ... or train, val, ...)')
        parser.add_argument('--name', type=str, default='experiment_name',
                            help='name of the experiment; it decides where to store samples and models')
        parser.add_argument('--gpu_ids', type=str, default='0',
                            help='gpu ids: e.g. 0  0,1,2  0,2; use -1 for CPU (CPU is used when no GPU exists)')
        parser.add_argument('--checkpoints_dir', type=str, default='./checkpoints', help='models are saved here')
        parser.add_argument('--config', type=str, default=None,
                            help='YAML or JSON file of option values; flags given on the command line override it')
        parser.add_argument('--seed', type=int, default=None,
                            help='random seed for Python, NumPy, PyTorch and data augmentation; chosen at random '
                                 'and recorded in the options when not given')
        # model parameters
        parser.add_argument('--model', type=str, default='cycle_gan', choices=models.model_names(),
                            help='chooses which model to use')
        parser.add_argument('--input_nc', type=int, default=3, help='# of input image channels: 3 for RGB and 1 for grayscale')
        parser.add_argument('--output_nc', type=int, default=3, help='# of output image channels: 3 for RGB and 1 for grayscale')
        parser.add_argument('--ngf', type=int, default=64, help='# of gen filters in the last conv layer')
        parser.add_argument('--ndf', type=int, default=64, help='# of discrim filters in the first conv layer')
        parser.add_argument('--netD', type=str, default='basic',
                            help='discriminator: basic (70x70 PatchGAN), n_layers (--n_layers_D layers), pixel (1x1 PatchGAN), '
                                 'or another registered discriminator')
        parser.add_argument('--netG', type=str, default='resnet_9blocks',
                            help='generator: resnet_9blocks | resnet_6blocks | resnet_<n>blocks | unet_256 | unet_128 | unet_<size>')
        parser.add_argument('--n_layers_D', type=int, default=3,
                            help='layers of the discriminator for --netD n_layers, and of each scale for multiscale/sesame')
        parser.add_argument('--num_D', type=int, default=2,
                            help='number of scales (PatchGANs on average-pooled inputs) for --netD multiscale and sesame')
        parser.add_argument('--norm', type=str, default='instance', choices=['instance', 'batch', 'syncbatch', 'none'],
                            help='normalization: instance, batch, syncbatch (batch norm synchronised across GPUs) or none')
        parser.add_argument('--init_type', type=str, default='normal', choices=['normal', 'xavier', 'kaiming', 'orthogonal'],
                            help='network initialization')
        parser.add_argument('--init_gain', type=float, default=0.02, help='scaling factor for normal, xavier and orthogonal')
        parser.add_argument('--no_dropout', action='store_true', help='no dropout for the generator')
        parser.add_argument('--dropout_rate', type=float, default=0.5, help='dropout probability in the generator')
        # dataset parameters
        parser.add_argument('--dataset_mode', type=str, default='unaligned', choices=data.dataset_names(),
                            help='chooses how datasets are loaded')
        parser.add_argument('--direction', type=str, default='AtoB', choices=['AtoB', 'BtoA'], help='AtoB or BtoA')
        parser.add_argument('--serial_batches', action='store_true',
                            help='if true, takes images in order to make batches, otherwise takes them randomly')
        parser.add_argument('--num_threads', default=4, type=int, help='# threads (worker processes) for loading data')
        parser.add_argument('--batch_size', type=int, default=1, help='input batch size')
        parser.add_argument('--load_size', type=int, default=286, help='scale images to this size')
        parser.add_argument('--crop_size', type=int, default=256, help='then crop to this size')
        parser.add_argument('--max_dataset_size', type=int_or_inf, default=float('inf'),
                            help='maximum number of samples allowed per dataset; only a subset is loaded if the folder has more')
        parser.add_argument('--preprocess', type=str, default='resize_and_crop',
                            choices=['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'],
                            help='scaling and cropping of images at load time')
        parser.add_argument('--no_flip', action='store_true', help='if specified, do not flip the images for data augmentation')
        parser.add_argument('--skip_bad_images', action='store_true',
                            help='skip (and count) unreadable or corrupt images instead of stopping with their path')
        # additional parameters
        parser.add_argument('--epoch', type=str, default='latest', help='which epoch to load? set to latest to use latest cached model')
        parser.add_argument('--load_iter', type=int, default=0,
                            help='which iteration to load? if load_iter > 0, load models by iter_[load_iter]; otherwise by [epoch]')
        parser.add_argument('--verbose', action='store_true', help='if specified, print more debugging information')
        parser.add_argument('--display_winsize', type=int, default=256,
                            help='display width (pixels) of each image on the training and results web pages')
        parser.add_argument('--fidelity_weights', type=str, default=None,
                            help="local InceptionV3 weights file for FID/KID/IS (test.py --metrics, train.py --eval_freq); "
                                 "default: torch-fidelity's own download")
        parser.add_argument('--suffix', default='', type=str,
                            help='customized suffix: opt.name = opt.name + suffix: e.g., {model}_{netG}_size{load_size}')
        # precision and speed
        parser.add_argument('--amp', type=str, default='none', choices=['none', 'bf16', 'fp16'],
                            help='mixed precision: bf16 (CPU and GPU) or fp16 (CUDA, with a gradient scaler)')
        parser.add_argument('--channels_last', action='store_true', help='use the channels_last memory format for networks and images')
        parser.add_argument('--compile', action='store_true',
                            help='torch.compile the networks (falls back to eager with a warning where compilation fails)')
        parser.add_argument('--fast', action='store_true',
                            help='choose the precision, memory layout and optimizer options measured fastest for this '
                                 'model and device (options/fast.py, docs/speed.md); prints its choice in one line, and '
                                 'any of those options you give yourself wins')
        parser.add_argument('--keep_cpu_memory', action='store_true',
                            help='keep freed memory in the process (glibc malloc thresholds raised) so that the large '
                                 'tensors allocated every step reuse mapped pages instead of page-faulting new ones: '
                                 'faster CPU steps, a resident set that stays at its peak; values unchanged')
        return parser

    # ------------------------------------------------------------------ parsing

    def _new_parser(self, add_help):
        return argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter, add_help=add_help,
                                       description='Image-to-image GAN model zoo')

    def saved_training_options(self, known):
        """Options saved by the training run of --name (used by test.py); empty for training."""
        return {}

    def gather_options(self):
        """Build the parser in two passes: shared options first, then those of the chosen model and dataset."""
        load_plugins()
        parser = self.initialize(self._new_parser(add_help=False))
        known, _ = parser.parse_known_args(self.args)
        config = load_config_file(known.config) if known.config else {}
        saved = self.saved_training_options(known)
        given = self._given_on_command_line(parser)

        def pick(key):
            if key in given:
                return getattr(known, key)
            if key in config:
                return config[key]
            if key in saved:
                return saved[key]
            return parser.get_default(key)

        model_name = pick('model')
        if model_name not in models.model_names():
            parser.error(f"argument --model: invalid choice: '{model_name}' (choose from {', '.join(models.model_names())})")
        if saved and saved.get('model') != model_name:  # e.g. --model test on a pix2pix run: the networks and
            saved = {k: v for k, v in saved.items() if k in ARCHITECTURE_OPTIONS + ('crop_size',)}  # their size

        parser = self.initialize(self._new_parser(add_help=False))
        parser = models.get_option_setter(model_name)(parser, self.is_train)
        known, _ = parser.parse_known_args(self.args)
        # a discriminator's own defaults (e.g. sesame: hinge loss, feature matching, 4 layers), below --config
        # and the command line
        net_d = known.netD if 'netD' in given else config.get('netD', saved.get('netD', known.netD))
        dests = {action.dest for action in parser._actions}
        parser.set_defaults(**{k: v for k, v in networks.discriminator_defaults(net_d).items() if k in dests})
        known, _ = parser.parse_known_args(self.args)
        dataset_name = known.dataset_mode
        if 'dataset_mode' not in given:
            dataset_name = config.get('dataset_mode', saved.get('dataset_mode', dataset_name))
        if dataset_name not in data.dataset_names():
            parser.error(f"argument --dataset_mode: invalid choice: '{dataset_name}' (choose from {', '.join(data.dataset_names())})")
        parser = data.get_option_setter(dataset_name)(parser, self.is_train)
        add_negations(parser)
        parser.add_argument('-h', '--help', action='help', help='show this help message (with the options of --model '
                                                                  'and --dataset_mode) and exit')

        valid = {action.dest for action in parser._actions}
        parser.set_defaults(**{k: v for k, v in saved.items() if k in valid})
        unknown = sorted(set(config) - valid)
        if unknown:
            parser.error(f"--config {known.config}: unknown option(s) {', '.join(unknown)} for --model {model_name}")
        actions = {}
        for action in parser._actions:
            actions.setdefault(action.dest, action)
        parser.set_defaults(**{k: typed_config_value(actions[k], k, v, f'--config {known.config}')
                               for k, v in config.items()})
        parser.set_defaults(model=model_name, dataset_mode=dataset_name)
        self.parser = parser
        self.explicit = self._given_on_command_line(parser) | set(config)  # what --fast must not override
        return parser.parse_args(self.args)

    def _given_on_command_line(self, parser):
        """Destinations of the options spelled out in self.args (so they beat config and saved values)."""
        given = set()
        for action in parser._actions:
            for flag in action.option_strings:
                if any(arg == flag or arg.startswith(flag + '=') for arg in self.args):
                    given.add(action.dest)
        return given

    # ------------------------------------------------------------------ reporting

    def format_options(self, opt):
        lines = ['----------------- Options ---------------']
        for k, v in sorted(vars(opt).items()):
            if k in ('device', 'rank', 'world_size', 'local_rank', 'isTrain'):
                continue
            default = self.parser.get_default(k)
            comment = f'\t[default: {default}]' if v != default else ''
            lines.append(f'{k:>25}: {str(v):<30}{comment}')
        lines.append('----------------- End -------------------')
        return '\n'.join(lines)

    def options_dict(self, opt):
        """The options as plain YAML-serialisable values, without the flags of one invocation (INVOCATION_OPTIONS)."""
        skip = ('device', 'rank', 'world_size', 'local_rank', 'isTrain') + INVOCATION_OPTIONS
        out = {}
        for k, v in sorted(vars(opt).items()):
            if k in skip:
                continue
            if isinstance(v, float) and v == float('inf'):
                v = 'inf'
            out[k] = v
        return out

    def save_options(self, opt, phase):
        """Write <phase>_opt.txt (readable, non-defaults marked) and <phase>_opt.yaml (machine readable)."""
        expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
        util.mkdirs(expr_dir)
        text = self.format_options(opt)
        util.atomic_write_text(os.path.join(expr_dir, f'{phase}_opt.txt'), text + '\n')
        util.atomic_write_text(os.path.join(expr_dir, f'{phase}_opt.yaml'),
                               yaml.safe_dump(self.options_dict(opt), sort_keys=True))
        return text

    # ------------------------------------------------------------------ entry point

    def parse(self, save=True):
        """Parse options, derive the device and seed, and (rank 0) print and save them (``save=False``: print only;
        train.py saves them once the run is checked, see :meth:`save_options`)."""
        opt = self.gather_options()
        opt.isTrain = self.is_train
        if opt.name == run_name.AUTO:
            if not self.is_train:
                raise OptionError('--name auto names training runs; pass the name train.py printed (checkpoints_dir '
                                  'holds one folder per run)')
            opt.name = run_name.auto_name(opt, self.options_dict(opt), seed_given=opt.seed is not None)
            if int(os.environ.get('RANK', 0)) == 0:
                print(f'--name auto: this run is {opt.name} (a hash of its options: the same options reuse the name)')
        if opt.suffix:
            opt.name = opt.name + '_' + opt.suffix.format(**vars(opt))
        opt.rank = int(os.environ.get('RANK', 0))
        opt.local_rank = int(os.environ.get('LOCAL_RANK', 0))
        opt.world_size = int(os.environ.get('WORLD_SIZE', 1))
        self.set_device(opt)
        if opt.fast:
            report = fast.apply(opt, 'train' if self.is_train else 'test', self.explicit)
            if opt.rank == 0:
                self.notes.append(report)
        if opt.seed is None:
            opt.seed = int.from_bytes(os.urandom(4), 'little') % (2 ** 31)
        self.check(opt)
        for note in self.notes:  # once the options are valid (an invalid run prints only its error)
            print(note, file=sys.stderr)
        if opt.rank == 0:
            print(self.save_options(opt, 'train' if self.is_train else 'test') if save else self.format_options(opt))
        self.opt = opt
        return opt

    def set_device(self, opt):
        """Turn --gpu_ids into a list and pick opt.device; without CUDA everything runs on the CPU."""
        try:
            gpu_ids = [int(x) for x in str(opt.gpu_ids).split(',') if x.strip() != '']
        except ValueError:
            raise OptionError(f"--gpu_ids '{opt.gpu_ids}' should be comma-separated integers, or -1 for CPU")
        gpu_ids = [g for g in gpu_ids if g >= 0]
        if gpu_ids and not torch.cuda.is_available():
            if opt.rank == 0 and 'gpu_ids' in self._given_on_command_line(self.parser):  # (the default stays quiet)
                self.notes.append(f'note: no CUDA GPU is available, so this runs on the CPU (--gpu_ids {opt.gpu_ids} '
                                  f'ignored; --gpu_ids -1 says so)')
            gpu_ids = []
        for g in gpu_ids:
            if g >= torch.cuda.device_count():
                raise OptionError(f"--gpu_ids {opt.gpu_ids}: GPU {g} does not exist "
                                  f"({torch.cuda.device_count()} visible); use -1 for CPU")
        if gpu_ids and opt.world_size > 1:
            # one GPU per process: the LOCAL_RANK-th of --gpu_ids when it lists several, else of the visible ones
            local_procs = int(os.environ.get('LOCAL_WORLD_SIZE', 1))
            if len(gpu_ids) > 1 and local_procs > len(gpu_ids):
                raise OptionError(f"--gpu_ids {opt.gpu_ids} lists {len(gpu_ids)} GPUs for {local_procs} processes "
                                  f"on this node; list one per process or set --nproc_per_node {len(gpu_ids)}")
            gpu_ids = [gpu_ids[opt.local_rank % len(gpu_ids)]] if len(gpu_ids) > 1 else [opt.local_rank % torch.cuda.device_count()]
        opt.gpu_ids = gpu_ids
        opt.device = torch.device(f'cuda:{gpu_ids[0]}') if gpu_ids else torch.device('cpu')
        if gpu_ids:
            torch.cuda.set_device(opt.device)

    def check(self, opt):
        """Cross-option checks that argparse cannot express, and values derived from several options."""
        if opt.amp == 'fp16' and opt.device.type != 'cuda':
            raise OptionError('--amp fp16 needs a CUDA GPU; use --amp bf16 on the CPU')
        if opt.batch_size < 1:
            raise OptionError('--batch_size must be at least 1')
        models.find_model_using_name(opt.model).check_options(opt)  # the model's own checks and derived values
        for key in ('load_size', 'crop_size'):
            if getattr(opt, key) < 1:
                raise OptionError(f'--{key} must be at least 1 (pixels), not {getattr(opt, key)}')
        if opt.preprocess in ('resize_and_crop', 'scale_width_and_crop') and opt.crop_size > opt.load_size:
            raise OptionError(f'--crop_size {opt.crop_size} is larger than --load_size {opt.load_size}: images are '
                              f'scaled to --load_size, then cropped; raise --load_size or lower --crop_size')
