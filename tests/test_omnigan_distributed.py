"""omnigan under torchrun on CPU (gloo, 2 processes): gradients averaged explicitly, identical replicas (spectral
norm vectors included), the phase switch agreed, exact distributed resume."""
import shutil

import pytest
import torch

from conftest import needs_gloo, torchrun

pytestmark = needs_gloo




def omni_args(root, ckpt):
    # 4 train items per domain, 2 ranks x batch 1: 2 steps per epoch; translation after 2 steps (epoch 2)
    return ['--model', 'omnigan', '--omni_enc_dim', '4', '--omni_enc_n_res', '1', '--omni_dec_n_res', '1',
            '--spade_nhidden', '8', '--omni_cls_dim', '8', '--ndf', '4', '--n_layers_D', '2', '--load_size', '32',
            '--crop_size', '32', '--batch_size', '1', '--num_threads', '0', '--gpu_ids', '-1', '--seed', '4',
            '--display_id', '0', '--print_freq', '2', '--display_freq', '4', '--update_html_freq', '4',
            '--dataroot', root, '--name', 'omni', '--checkpoints_dir', ckpt, '--repr_steps', '2',
            '--n_epochs', '2', '--n_epochs_decay', '0', '--save_epoch_freq', '1', '--omni_val_freq', '0']


@pytest.fixture(scope='module')
def omni_run(tmp_path_factory):
    from datasets.synthetic_omni import make_omni_dataset
    tmp = tmp_path_factory.mktemp('ddp_omni')
    root = str(tmp / 'data')
    make_omni_dataset(root, n_train=4, n_val=1, size=32, seed=0)
    proc = torchrun(omni_args(root, tmp / 'ck'))
    return {'dir': tmp / 'ck' / 'omni', 'proc': proc, 'root': root}


def test_omnigan_trains_under_torchrun_with_identical_replicas(omni_run):
    d = omni_run['dir']
    state = torch.load(d / 'latest_train_state.pth', weights_only=True)
    digests = [r['param_digest'] for r in state['ranks']]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert state['extra']['phase'] == 'translation' and state['extra']['total_steps'] == 4
    assert 'translation phase starts after 2 iterations' in omni_run['proc'].stdout
    from models import create_model
    from options.train_options import TrainOptions
    from util.distributed import parameter_digest
    model = create_model(TrainOptions(omni_args(omni_run['root'], str(d.parent))).parse())
    for name, net in model.networks():
        net.load_state_dict(torch.load(d / f'latest_net_{name}.pth', weights_only=True))
    assert parameter_digest(model.networks()) == digests[0]


def test_resumed_distributed_omnigan_run_continues_exactly(omni_run, tmp_path):
    src = omni_run['dir']
    ckpt = tmp_path / 'ck'
    (ckpt / 'omni').mkdir(parents=True)
    for f in src.iterdir():
        if f.name.startswith('1_') or f.name.endswith('_opt.yaml'):
            shutil.copy(f, ckpt / 'omni' / f.name)
    proc = torchrun(omni_args(omni_run['root'], ckpt) + ['--continue_train', '--epoch', '1'])
    assert 'resumed from 1: epoch 2' in proc.stdout
    for name in ('G', 'D', 'C'):
        ref = torch.load(src / f'latest_net_{name}.pth', weights_only=True)
        got = torch.load(ckpt / 'omni' / f'latest_net_{name}.pth', weights_only=True)
        for key in ref:
            assert torch.equal(ref[key], got[key]), f'{name}.{key} differs after resuming'
