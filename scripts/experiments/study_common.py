"""Shared driver of the pix2pix studies in this folder: make the data, train and test each variant, compare.

Every study script defines its variants (a label and the train.py options that make it different) and calls
:func:`run_study`. Runs are named <study>_<label>; checkpoints, results and the comparison report go to the
usual ./checkpoints, ./results and ./comparisons/<study>/ folders (all configurable).

--quick trains tiny networks (ngf/ndf 8, U-Net 64) for 2 epochs on a few images at 64 px: minutes on a CPU,
enough to check the whole pipeline, far too short to rank the variants. Without --quick the runs use the
classic pix2pix sizes for --n_epochs/--n_epochs_decay epochs (defaults 100/100, as the seed study).
"""
import argparse
import os
import shlex
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from util.util import load_script  # noqa: E402

DEFAULT_DATAROOT = os.path.join(ROOT, 'datasets', 'synthetic_paired64')
ALL_METRICS = 'fid,kid,isc,psnr,ssim,l1'


def study_parser(description, default_quick_images=16):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataroot', default=DEFAULT_DATAROOT,
                   help='paired (aligned) dataset; the default synthetic one is generated at --size when missing')
    p.add_argument('--direction', default='BtoA', help='AtoB or BtoA (synthetic pairs are photo|label: BtoA = label -> photo)')
    p.add_argument('--size', type=int, default=64, help='crop size in pixels (images are loaded at 9/8 of it, then cropped)')
    p.add_argument('--quick', action='store_true', help='tiny networks, 2 epochs, few images: a pipeline check on a CPU')
    p.add_argument('--n_epochs', type=int, default=None, help='epochs at the initial learning rate (default 100, quick 2)')
    p.add_argument('--n_epochs_decay', type=int, default=None, help='epochs of linear decay (default 100, quick 0)')
    p.add_argument('--max_dataset_size', type=int, default=None,
                   help=f'training images used (default all, quick {default_quick_images})')
    p.add_argument('--num_test', type=int, default=None, help='test images translated and scored (default 50, quick 16)')
    p.add_argument('--metrics', default=ALL_METRICS, help='metrics of the comparison (test.py --metrics)')
    p.add_argument('--fidelity_weights', default=None,
                   help="local InceptionV3 weights for FID/KID/IS (default: torch-fidelity's download)")
    p.add_argument('--random_fidelity_weights', action='store_true',
                   help='offline demo: generate a randomly initialised Inception weights file and use it; the '
                        'resulting FID/KID/IS only rank these runs against each other and are NOT comparable with '
                        'published numbers')
    p.add_argument('--checkpoints_dir', default='./checkpoints', help='where runs are trained')
    p.add_argument('--results_dir', default='./results', help='where test results are written')
    p.add_argument('--out_dir', default='./comparisons', help='where the comparison report is written')
    p.add_argument('--gpu_ids', default='0', help='GPU ids as in train.py; -1 for the CPU')
    p.add_argument('--seed', type=int, default=0, help='seed of every run (the variants differ only by their options)')
    p.add_argument('--extra', default='', help='more train.py options for every run, e.g. "--netG unet_128"')
    p.add_argument('--reuse', action='store_true', help='skip training/testing runs whose results already exist')
    p.add_argument('--cpu_threads', type=int, default=None,
                   help='torch CPU threads (default: torch\'s choice, 1 with --quick)')
    p.add_argument('--only', default=None, help='comma-separated labels: run only these variants')
    return p


def ensure_dataset(opt):
    """Generate the default synthetic paired dataset when it is asked for and missing."""
    if os.path.isdir(os.path.join(opt.dataroot, 'train')):
        return
    if os.path.abspath(opt.dataroot) != os.path.abspath(DEFAULT_DATAROOT):
        raise FileNotFoundError(f"--dataroot {opt.dataroot} has no train/ folder (an aligned dataset is needed; "
                                f"make one with datasets/make_synthetic_dataset.py --kind paired)")
    from datasets.make_synthetic_dataset import make_paired
    size = opt.size * 9 // 8
    print(f'generating the synthetic paired dataset ({size} px) in {opt.dataroot}')
    make_paired(opt.dataroot, size, {'train': 100, 'val': 10, 'test': 20}, seed=0)


def fidelity_weights(opt):
    """The Inception weights file to use: --fidelity_weights, a generated random one, or None (download)."""
    if opt.random_fidelity_weights:
        if opt.fidelity_weights:
            raise ValueError('give either --fidelity_weights or --random_fidelity_weights')
        from metrics.weights import make_random_inception_weights
        path = os.path.join(opt.checkpoints_dir, 'random_inception_weights.pth')
        if not os.path.isfile(path):
            os.makedirs(opt.checkpoints_dir, exist_ok=True)
            make_random_inception_weights(path, seed=0)
        return path
    return opt.fidelity_weights


def base_train_args(opt):
    load = opt.size * 9 // 8
    args = ['--dataroot', opt.dataroot, '--direction', opt.direction, '--checkpoints_dir', opt.checkpoints_dir,
            '--gpu_ids', opt.gpu_ids, '--seed', str(opt.seed), '--load_size', str(load), '--crop_size', str(opt.size),
            '--display_id', '0', '--netG', f'unet_{opt.size}']  # a U-Net as deep as the images allow
    quick = opt.quick
    n_epochs = opt.n_epochs if opt.n_epochs is not None else (2 if quick else 100)
    n_decay = opt.n_epochs_decay if opt.n_epochs_decay is not None else (0 if quick else 100)
    args += ['--n_epochs', str(n_epochs), '--n_epochs_decay', str(n_decay)]
    max_size = opt.max_dataset_size if opt.max_dataset_size is not None else (opt.quick_images if quick else None)
    if max_size is not None:
        args += ['--max_dataset_size', str(max_size)]
    if quick:
        args += ['--ngf', '8', '--ndf', '8', '--num_threads', '0',
                 '--print_freq', '8', '--display_freq', '100000', '--update_html_freq', '100000']
    return args + shlex.split(opt.extra)


def run_exists(opt, name):
    return os.path.isfile(os.path.join(opt.results_dir, name, 'test_latest', 'metrics.json'))


def run_study(study, variants, description, argv=None, notes=(), default_quick_images=16, test_args=()):
    """Train, test and compare ``variants`` = [(label, [train.py options])]; returns the report folder."""
    parser = study_parser(description, default_quick_images)
    opt = parser.parse_args(argv)
    opt.quick_images = default_quick_images
    ensure_dataset(opt)
    weights = fidelity_weights(opt)
    notes = list(notes)
    if opt.quick:
        notes.append('Quick mode: tiny networks trained for a few iterations at 64 px on synthetic data: this checks '
                     'the pipeline; the numbers do not rank the variants.')
    if opt.random_fidelity_weights:
        notes.append('FID/KID/IS were computed with RANDOMLY INITIALISED Inception weights (offline demo): they only '
                     'compare these runs with each other and are NOT comparable with published FID/KID/IS values.')
    if opt.only:
        keep = set(opt.only.split(','))
        unknown = keep - {label for label, _ in variants}
        if unknown:
            raise ValueError(f"--only: unknown variant(s) {', '.join(sorted(unknown))} of study '{study}'")
        variants = [(label, args) for label, args in variants if label in keep]
    if opt.quick and opt.cpu_threads is None:
        opt.cpu_threads = 1
    if opt.cpu_threads:
        import torch
        # tiny networks gain nothing from intra-op threads, and on a busy machine extra threads spin and
        # slow every convolution down many times over
        torch.set_num_threads(opt.cpu_threads)
    train, test = load_script('train'), load_script('test')
    num_test = opt.num_test if opt.num_test is not None else (16 if opt.quick else 50)
    names = []
    timings = []
    for label, variant_args in variants:
        name = f'{study}_{label}'
        names.append(name)
        if opt.reuse and run_exists(opt, name):
            print(f'== {name}: reusing existing results')
            continue
        print(f'== {name}: training with {" ".join(variant_args)}')
        start = time.time()
        # a study retrains its variants from scratch (without --reuse): --overwrite lets train.py replace a run
        status = train.main(base_train_args(opt) + ['--name', name, '--overwrite'] + list(variant_args))
        if status != 0:
            raise RuntimeError(f'training {name} stopped with status {status}')
        test_cmd = ['--dataroot', opt.dataroot, '--name', name, '--checkpoints_dir', opt.checkpoints_dir,
                    '--results_dir', opt.results_dir, '--gpu_ids', opt.gpu_ids, '--num_test', str(num_test),
                    '--seed', str(opt.seed), '--num_threads', '0', '--metrics', opt.metrics] + list(test_args)
        if weights:
            test_cmd += ['--fidelity_weights', weights]
        test.main(test_cmd)
        timings.append((name, time.time() - start))
    for name, seconds in timings:
        print(f'{name}: trained and tested in {seconds:.0f} s')
    from tools import compare
    cmp_args = names + ['--name', study, '--out_dir', opt.out_dir, '--checkpoints_dir', opt.checkpoints_dir,
                        '--results_dir', opt.results_dir, '--metrics', opt.metrics]
    if weights:
        cmp_args += ['--fidelity_weights', weights]
    for line in notes:
        cmp_args += ['--note', line]
    cmp_opt = compare.build_parser().parse_args(cmp_args)
    cmp_opt.runs = [{'name': name, 'label': label} for name, (label, _) in zip(names, variants)]  # short labels
    return compare.build_report(cmp_opt)


def main_wrapper(fn):
    """Run a study, printing a clear one-line error for bad input instead of a traceback."""
    try:
        fn()
    except (ValueError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0
