"""Shared fixtures: tiny synthetic datasets and helpers that run train.py / test.py in-process."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402

from datasets.make_synthetic_dataset import make_images, make_paired, make_unpaired  # noqa: E402
from util.util import load_script  # noqa: E402

# The test networks are tiny: one intra-op thread is faster than threads spinning against the other
# pytest worker (and it keeps timings stable on a busy 2-core machine).
torch.set_num_threads(1)

# Small enough for 2 CPU cores: 32 px crops, 8 base filters.
TINY_PIX2PIX = ['--model', 'pix2pix', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8', '--load_size', '36',
                '--crop_size', '32', '--num_threads', '0', '--direction', 'BtoA', '--print_freq', '1',
                '--display_freq', '1', '--update_html_freq', '1', '--display_id', '0']
TINY_CYCLEGAN = ['--model', 'cycle_gan', '--netG', 'resnet_6blocks', '--ngf', '8', '--ndf', '8', '--load_size', '36',
                 '--crop_size', '32', '--num_threads', '0', '--pool_size', '4', '--print_freq', '1',
                 '--display_freq', '1', '--update_html_freq', '1', '--display_id', '0']


@pytest.fixture(scope='session')
def paired_root(tmp_path_factory):
    """Aligned photo|label pairs, 36 px: 6 train, 2 val, 3 test."""
    root = str(tmp_path_factory.mktemp('synthetic_paired'))
    make_paired(root, 36, {'train': 6, 'val': 2, 'test': 3}, seed=0)
    return root


@pytest.fixture(scope='session')
def unpaired_root(tmp_path_factory):
    """Two unpaired domains with depth maps, 36 px: 6 train, 2 val, 3 test per domain."""
    root = str(tmp_path_factory.mktemp('synthetic_unpaired'))
    make_unpaired(root, 36, {'train': 6, 'val': 2, 'test': 3}, seed=0, with_depth=True)
    return root


@pytest.fixture(scope='session')
def images_root(tmp_path_factory):
    """One folder of 8 unlabelled 32 px scenes."""
    root = str(tmp_path_factory.mktemp('synthetic_images'))
    make_images(root, 32, 8, seed=0)
    return root


@pytest.fixture(scope='session')
def clean_fid_inception(tmp_path_factory):
    """A random TorchScript stand-in for clean-fid's Inception with 64 features instead of 2048: every clean-fid
    code path runs, but the FID's matrix square root takes milliseconds instead of a minute."""
    from metrics.clean_fid import make_random_inception
    return make_random_inception(str(tmp_path_factory.mktemp('clean_fid') / 'inception-2015-12-05.pt'), features=64)


def run_train(args):
    """Run train.py's main in this process; returns its exit status."""
    return load_script('train').main([str(a) for a in args])


def run_test(args):
    """Run test.py's main in this process; returns its exit status."""
    return load_script('test').main([str(a) for a in args])


@pytest.fixture
def train_cli():
    return run_train


@pytest.fixture
def test_cli():
    return run_test


needs_gloo = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason='needs torch.distributed with gloo')


def torchrun_command(args, launcher, tmp_path=None, env_extra=None, script='train.py'):
    """(command, environment) running ``script`` of the repository under torchrun with the ``launcher`` flags (gloo
    on the CPU). ``tmp_path`` joins the import path (for a plugin module written there)."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([ROOT] + ([str(tmp_path)] if tmp_path is not None else [])))
    env.update(env_extra or {})
    cmd = [sys.executable, '-m', 'torch.distributed.run'] + launcher + [os.path.join(ROOT, script)]
    return cmd + [str(a) for a in args], env


def torchrun(args, tmp_path=None, nproc=2, env_extra=None, script='train.py', check=True, launcher=()):
    """Run train.py (or another ``script``) under torchrun: standalone rendezvous on a free port, ``nproc``
    processes and the further ``launcher`` flags; returns the completed process, which must have succeeded unless
    ``check`` is False. ``tmp_path`` joins the import path (for a plugin module written there)."""
    cmd, env = torchrun_command(args, ['--standalone', f'--nproc_per_node={nproc}'] + list(launcher), tmp_path,
                                env_extra, script)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert not check or proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
