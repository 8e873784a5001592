"""Mixed precision and memory layout: bf16 autocast (CPU) trains pix2pix and cycle_gan, keeps fp32 weights, and
its checkpoints load into fp32 runs (resume and test); fp16 needs CUDA; the GradScaler state is checkpointed."""
import math
import os

import pytest
import torch

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX, run_test, run_train

QUIET = ['--display_id', '0', '--no_html', '--print_freq', '100', '--gpu_ids', '-1']


def losses_from_log(path):
    values = []
    for line in open(path):
        if line.startswith('(epoch:') and 'iters:' in line:
            values += [float(tok) for tok in line.split(')', 1)[1].split()[1::2]]
    return values


def assert_fp32_checkpoint(directory, label, names):
    for name in names:
        state = torch.load(os.path.join(directory, f'{label}_net_{name}.pth'), weights_only=True)
        assert all(v.dtype in (torch.float32, torch.int64) for v in state.values()), name


def test_bf16_pix2pix_trains_and_its_checkpoint_loads_into_fp32(paired_root, tmp_path):
    ck = str(tmp_path / 'ck')
    base = TINY_PIX2PIX + QUIET + ['--dataroot', paired_root, '--name', 'bf', '--checkpoints_dir', ck, '--seed', '1',
                                   '--n_epochs', '1', '--n_epochs_decay', '0', '--print_freq', '2']
    assert run_train(base + ['--amp', 'bf16', '--channels_last']) == 0
    d = os.path.join(ck, 'bf')
    losses = losses_from_log(os.path.join(d, 'loss_log.txt'))
    assert losses and all(math.isfinite(v) for v in losses)
    assert_fp32_checkpoint(d, 'latest', ['G', 'D'])  # autocast keeps the master weights in fp32
    state = torch.load(os.path.join(d, 'latest_train_state.pth'), weights_only=True)
    assert 'scaler' in state
    # the bf16 training state resumes in an fp32 run, and the weights test in fp32
    assert run_train(base + ['--continue_train', '--n_epochs', '2', '--amp', 'none']) == 0
    assert run_test(TINY_PIX2PIX[:12] + ['--dataroot', paired_root, '--name', 'bf', '--checkpoints_dir', ck,
                                         '--results_dir', str(tmp_path / 'res'), '--gpu_ids', '-1',
                                         '--amp', 'none', '--num_threads', '0']) == 0
    assert os.path.isfile(tmp_path / 'res' / 'bf' / 'test_latest' / 'index.html')


def test_bf16_cycle_gan_trains_and_resumes_in_fp32(unpaired_root, tmp_path):
    ck = str(tmp_path / 'ck')
    base = TINY_CYCLEGAN + QUIET + ['--dataroot', unpaired_root, '--name', 'cyc', '--checkpoints_dir', ck,
                                    '--seed', '2', '--n_epochs_decay', '0', '--print_freq', '2']
    assert run_train(base + ['--n_epochs', '1', '--amp', 'bf16']) == 0
    d = os.path.join(ck, 'cyc')
    assert all(math.isfinite(v) for v in losses_from_log(os.path.join(d, 'loss_log.txt')))
    assert_fp32_checkpoint(d, 'latest', ['G_A', 'G_B', 'D_A', 'D_B'])
    assert run_train(base + ['--n_epochs', '2', '--continue_train']) == 0
    state = torch.load(os.path.join(d, 'latest_train_state.pth'), weights_only=True)
    assert state['epoch'] == 3


def test_bf16_autocast_runs_networks_in_bf16(paired_root, tmp_path):
    """The autocast context really computes in bf16 (not a silent fp32 run), while GAN losses stay fp32."""
    from models import create_model
    from options.train_options import TrainOptions
    opt = TrainOptions(TINY_PIX2PIX + QUIET + ['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path),
                                               '--amp', 'bf16', '--seed', '0']).parse()
    model = create_model(opt)
    model.setup(opt)
    x = torch.randn(1, 3, 32, 32)
    model.set_input({'A': x, 'B': x, 'A_paths': ['a'], 'B_paths': ['a']})
    with model.autocast():
        model.forward()
    assert model.fake_B.dtype == torch.bfloat16
    model.train_step()
    assert model.loss_G_GAN.dtype == torch.float32 and model.loss_D.dtype == torch.float32


def test_fp16_needs_cuda(paired_root, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('CUDA present: fp16 is allowed')
    from options.base_options import OptionError
    from options.train_options import TrainOptions
    with pytest.raises(OptionError, match='fp16 needs a CUDA GPU'):
        TrainOptions(TINY_PIX2PIX + QUIET + ['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path),
                                             '--amp', 'fp16']).parse()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='fp16 with a gradient scaler needs CUDA')
def test_fp16_scaler_state_is_checkpointed(paired_root, tmp_path):
    ck = str(tmp_path / 'ck')
    assert run_train(TINY_PIX2PIX + ['--display_id', '0', '--no_html', '--dataroot', paired_root, '--name', 'h',
                                     '--checkpoints_dir', ck, '--amp', 'fp16', '--n_epochs', '1',
                                     '--n_epochs_decay', '0']) == 0
    state = torch.load(os.path.join(ck, 'h', 'latest_train_state.pth'), weights_only=True)
    assert state['scaler'] and state['scaler']['scale'] > 0


def test_fused_optimizer_option_builds_fused_adam():
    from models import networks
    net = torch.nn.Linear(2, 2)
    fused = networks.make_optimizer(net.parameters(), 'adam', fused=True)
    assert fused.defaults['fused'] is True
    assert not networks.make_optimizer(net.parameters(), 'adam').defaults.get('fused')
    # optimizers without a fused implementation ignore the flag
    assert networks.make_optimizer(net.parameters(), 'rprop', fused=True)
