"""LiSS under torchrun on CPU (gloo, 2 processes): gradients averaged explicitly, identical replicas and
reference encoders, schedule decisions agreed from all-reduced held-out metrics, exact distributed resume."""
import shutil

import pytest
import torch

from conftest import needs_gloo, torchrun

pytestmark = needs_gloo




def liss_args(root, ckpt):
    # 6 train images, 2 ranks x batch 1: 3 steps of 2 images per epoch; the test split is scored at the first
    # step and every 4 images. rotation passes at once, depth at the next evaluation, then translation; with
    # --n_epochs 1 --n_epochs_decay 1 training runs until 2 decay epochs of translation are done: 3 epochs.
    return ['--model', 'liss', '--netG', 'liss', '--ngf', '8', '--ndf', '8', '--load_size', '36', '--crop_size', '32',
            '--num_threads', '0', '--pool_size', '4', '--display_id', '0', '--print_freq', '2', '--display_freq', '4',
            '--update_html_freq', '4', '--gpu_ids', '-1', '--seed', '5', '--dataroot', root, '--name', 'liss',
            '--checkpoints_dir', ckpt, '--auxiliary_tasks', 'rotation,depth', '--task_schedule', 'liss',
            '--rotation_acc_threshold', '-1', '--depth_loss_threshold', '100', '--n_epochs', '1',
            '--n_epochs_decay', '1', '--save_epoch_freq', '1', '--D_rotation']


@pytest.fixture(scope='module')
def liss_run(unpaired_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ddp_liss')
    proc = torchrun(liss_args(unpaired_root, tmp / 'ck'), tmp)
    return {'dir': tmp / 'ck' / 'liss', 'proc': proc, 'root': unpaired_root}


def test_liss_trains_under_torchrun_with_identical_replicas(liss_run):
    d = liss_run['dir']
    state = torch.load(d / 'latest_train_state.pth', weights_only=True)
    digests = [r['param_digest'] for r in state['ranks']]
    assert len(digests) == 2 and digests[0] == digests[1]
    # the saved weights, loaded into freshly built networks, are the replicas every rank held
    from models import create_model
    from options.train_options import TrainOptions
    from util.distributed import parameter_digest
    opt = TrainOptions(liss_args(liss_run['root'], str(d.parent))).parse()
    model = create_model(opt)
    for name, net in model.networks():
        net.load_state_dict(torch.load(d / f'latest_net_{name}.pth', weights_only=True))
    assert parameter_digest(model.networks()) == digests[0]
    extra = state['extra']
    assert extra['schedule']['phase'] == 2 and extra['ref_encoder_A'] is not None and extra['decay_epochs'] == 2
    assert state['epoch'] == 4 and state['total_iters'] == 18  # 3 epochs x 3 steps x 2 images
    log = (d / 'loss_log.txt').read_text()
    assert log.count("2 images: task schedule 'liss' phase 0 (rotation) -> phase 1 (depth)") == 1
    assert log.count("4 images: task schedule 'liss' phase 1 (depth) -> phase 2 (translation)") == 1
    assert 'distillation_A' in log and 'DR_A' in log


def test_resumed_distributed_liss_run_continues_exactly(liss_run, tmp_path):
    src = liss_run['dir']
    ckpt = tmp_path / 'ck'
    (ckpt / 'liss').mkdir(parents=True)
    for f in src.iterdir():
        if f.name.startswith('1_') or f.name.endswith('_opt.yaml'):
            shutil.copy(f, ckpt / 'liss' / f.name)
    proc = torchrun(liss_args(liss_run['root'], ckpt) + ['--continue_train', '--epoch', '1'], tmp_path)
    assert 'resumed from 1: epoch 2' in proc.stdout
    for name in ('G_A', 'G_B', 'D_A', 'D_B'):
        ref = torch.load(src / f'latest_net_{name}.pth', weights_only=True)
        got = torch.load(ckpt / 'liss' / f'latest_net_{name}.pth', weights_only=True)
        for key in ref:
            assert torch.equal(ref[key], got[key]), f'{name}.{key} differs after resuming'
    a = torch.load(src / 'latest_train_state.pth', weights_only=True)['extra']
    b = torch.load(ckpt / 'liss' / 'latest_train_state.pth', weights_only=True)['extra']
    assert a['schedule'] == b['schedule'] and a['decay_epochs'] == b['decay_epochs']
    assert all(torch.equal(a['ref_encoder_A'][k], b['ref_encoder_A'][k]) for k in a['ref_encoder_A'])
