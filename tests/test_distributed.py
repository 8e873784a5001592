"""Distributed training with torchrun on CPU (gloo, 2 processes): replicas stay identical, ranks see disjoint
shards, one set of files is written, and a resumed distributed run continues exactly."""
import os
import shutil

import pytest
import torch

from conftest import TINY_CYCLEGAN, TINY_PIX2PIX, needs_gloo, torchrun

pytestmark = needs_gloo

# A dataset mode that records, per rank, which items it loaded (plugins are imported through ZOO_PLUGINS).
RECORDING_PLUGIN = '''
import os
from data import register_dataset
from data.aligned_dataset import AlignedDataset


class RecordingAlignedDataset(AlignedDataset):
    def __getitem__(self, index):
        item = super().__getitem__(index)
        path = os.path.join(os.environ['ZOO_TEST_RECORD_DIR'], 'seen_rank%s.txt' % os.environ.get('RANK', '0'))
        with open(path, 'a') as f:
            f.write('%d %s\\n' % (self.epoch, os.path.basename(item['A_paths'])))
        return item


register_dataset('recording_aligned', RecordingAlignedDataset)
'''

TINY_QUIET = ['--display_id', '0', '--print_freq', '2', '--display_freq', '4', '--update_html_freq', '4']




def pix2pix_args(root, ckpt, name, epochs=2):
    return TINY_PIX2PIX + TINY_QUIET + [
        '--dataroot', root, '--name', name, '--checkpoints_dir', ckpt, '--gpu_ids', '-1', '--seed', '3',
        '--dataset_mode', 'recording_aligned', '--n_epochs', epochs, '--n_epochs_decay', '0', '--save_epoch_freq', '1']


def saved_digest(ckpt_dir, label, builders):
    """parameter_digest of the networks rebuilt from the saved weight files."""
    from util.distributed import parameter_digest
    nets = []
    for name, build in builders:
        net = build()
        net.load_state_dict(torch.load(os.path.join(ckpt_dir, f'{label}_net_{name}.pth'), weights_only=True))
        nets.append((name, net))
    return parameter_digest(nets)


def tiny_pix2pix_builders():
    from models import networks
    return [('G', lambda: networks.define_G(3, 3, 8, 'unet_32', 'batch', True, 'normal', 0.02)),
            ('D', lambda: networks.define_D(6, 8, 'basic', 3, 'batch', 'normal', 0.02))]


@pytest.fixture(scope='module')
def pix2pix_run(paired_root, tmp_path_factory):
    """Two ranks train tiny pix2pix for 2 epochs (6 images: 3 batches per rank and epoch)."""
    tmp = tmp_path_factory.mktemp('ddp_pix2pix')
    (tmp / 'zoo_test_recording.py').write_text(RECORDING_PLUGIN)
    record = tmp / 'record'
    record.mkdir()
    ckpt = tmp / 'ck'
    proc = torchrun(pix2pix_args(paired_root, ckpt, 'ddp'), tmp,
                    env_extra={'ZOO_PLUGINS': 'zoo_test_recording', 'ZOO_TEST_RECORD_DIR': str(record)})
    return {'tmp': tmp, 'record': record, 'ckpt': ckpt, 'dir': ckpt / 'ddp', 'proc': proc, 'root': paired_root}


def test_ranks_hold_identical_parameters_equal_to_the_checkpoint(pix2pix_run):
    state = torch.load(pix2pix_run['dir'] / 'latest_train_state.pth', weights_only=True)
    digests = [r['param_digest'] for r in state['ranks']]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert digests[0] == saved_digest(pix2pix_run['dir'], 'latest', tiny_pix2pix_builders())
    # each rank keeps its own random streams (dropout masks), saved for an exact resume
    assert not torch.equal(state['ranks'][0]['rng']['torch'], state['ranks'][1]['rng']['torch'])
    assert state['epoch'] == 3 and state['total_iters'] == 12  # 2 epochs x 3 steps x 2 images


def test_each_rank_sees_its_own_shard(pix2pix_run):
    seen = {}
    for rank in (0, 1):
        lines = (pix2pix_run['record'] / f'seen_rank{rank}.txt').read_text().split('\n')
        seen[rank] = [tuple(line.split()) for line in lines if line]
    for epoch in ('1', '2'):
        shard0 = [p for e, p in seen[0] if e == epoch]
        shard1 = [p for e, p in seen[1] if e == epoch]
        assert len(shard0) == len(shard1) == 3
        assert not set(shard0) & set(shard1)
        assert len(set(shard0) | set(shard1)) == 6
    # a new epoch shuffles (the sampler's set_epoch)
    assert [p for e, p in seen[0] if e == '1'] != [p for e, p in seen[0] if e == '2']


def test_only_rank_zero_writes(pix2pix_run):
    d = pix2pix_run['dir']
    files = sorted(p.name for p in d.iterdir())
    weights = [f for f in files if f.endswith('.pth')]
    assert weights == sorted(f'{label}_{kind}.pth' for label in ('1', '2', 'latest')
                             for kind in ('net_D', 'net_G', 'train_state'))
    log = (d / 'loss_log.txt').read_text()
    assert log.count('Training Loss') == 1  # one visualizer wrote the log
    # print_freq 2 images with 2 images per step: one line per step, 3 steps per epoch, not doubled
    assert sum(1 for line in log.splitlines() if line.startswith('(epoch: 1, iters:')) == 3
    assert 'waiting for data' in log  # per-epoch data vs compute summary
    out = pix2pix_run['proc'].stdout
    assert out.count('effective batch size 2 (2 process(es) x --batch_size 1, gloo') == 1


def test_resumed_distributed_run_continues_exactly(pix2pix_run, tmp_path):
    """Resume from the epoch-1 state in a copy of the run: epoch 2 must reproduce the uninterrupted run."""
    src = pix2pix_run['dir']
    ckpt = tmp_path / 'ck'
    (ckpt / 'ddp').mkdir(parents=True)
    for f in src.iterdir():
        if f.name.startswith('1_') or f.name.endswith('_opt.yaml'):
            shutil.copy(f, ckpt / 'ddp' / f.name)
    (tmp_path / 'zoo_test_recording.py').write_text(RECORDING_PLUGIN)
    (tmp_path / 'record').mkdir()
    proc = torchrun(pix2pix_args(pix2pix_run['root'], ckpt, 'ddp') + ['--continue_train', '--epoch', '1'], tmp_path,
                    env_extra={'ZOO_PLUGINS': 'zoo_test_recording', 'ZOO_TEST_RECORD_DIR': str(tmp_path / 'record')})
    assert 'resumed from 1: epoch 2' in proc.stdout
    for name in ('G', 'D'):
        ref = torch.load(src / f'latest_net_{name}.pth', weights_only=True)
        got = torch.load(ckpt / 'ddp' / f'latest_net_{name}.pth', weights_only=True)
        for key in ref:
            assert torch.equal(ref[key], got[key]), f'{name}.{key} differs after resuming'


def test_cycle_gan_replicas_stay_identical(unpaired_root, tmp_path):
    """Two generators and two discriminators updated in turn (G through frozen Ds, then Ds), with pools."""
    ckpt = tmp_path / 'ck'
    torchrun(TINY_CYCLEGAN + TINY_QUIET + ['--dataroot', unpaired_root, '--name', 'cyc', '--checkpoints_dir', ckpt,
                                           '--gpu_ids', '-1', '--seed', '5', '--n_epochs', '1',
                                           '--n_epochs_decay', '0'], tmp_path)
    d = ckpt / 'cyc'
    state = torch.load(d / 'latest_train_state.pth', weights_only=True)
    digests = [r['param_digest'] for r in state['ranks']]
    assert digests[0] == digests[1]
    from models import networks
    builders = [(n, lambda: networks.define_G(3, 3, 8, 'resnet_6blocks', 'instance', False, 'normal', 0.02))
                for n in ('G_A', 'G_B')]
    builders += [(n, lambda: networks.define_D(3, 8, 'basic', 3, 'instance', 'normal', 0.02)) for n in ('D_A', 'D_B')]
    assert digests[0] == saved_digest(d, 'latest', builders)
    # image pools are per rank (each rank's own fakes) and saved per rank
    assert set(state['ranks'][1]['pools']) == {'fake_A', 'fake_B'}
    assert len(state['ranks'][1]['pools']['fake_A']['images']) == 3  # 6 images / 2 ranks, pool of 4
    assert not all(torch.equal(a, b) for a, b in zip(state['ranks'][0]['pools']['fake_A']['images'],
                                                     state['ranks'][1]['pools']['fake_A']['images']))
    assert len([p for p in d.iterdir() if p.suffix == '.pth']) == 5


# ------------------------------------------------------------------------------------------ no launcher needed

def test_replicated_network_runs_plain_module_when_frozen_or_without_grad():
    from util.distributed import ReplicatedNetwork
    net = torch.nn.Conv2d(2, 2, 3)
    wrapper = ReplicatedNetwork.__new__(ReplicatedNetwork)  # the bypass path needs no process group
    torch.nn.Module.__init__(wrapper)
    wrapper.module = net
    x = torch.randn(1, 2, 5, 5)
    for p in net.parameters():
        p.requires_grad_(False)
    assert torch.equal(wrapper(x), net(x))
    with torch.no_grad():
        assert torch.equal(wrapper(x), net(x))
    assert wrapper.kernel_size == (3, 3)  # attributes fall through to the wrapped network


def test_syncbatch_conversion_keeps_parameter_objects():
    from models import networks
    from util.distributed import convert_sync_batchnorm
    net = networks.define_D(6, 8, 'basic', 3, 'syncbatch', 'normal', 0.02)
    params = list(net.parameters())
    converted = convert_sync_batchnorm(net)
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in converted.modules())
    assert not any(type(m) is torch.nn.BatchNorm2d for m in converted.modules())
    assert all(a is b for a, b in zip(params, converted.parameters()))  # optimizers built before stay valid


def test_clear_errors_for_bad_distributed_setups(monkeypatch):
    from types import SimpleNamespace
    from options.base_options import OptionError
    from util import distributed
    opt = SimpleNamespace(world_size=2, rank=0, norm='batch', device=torch.device('cpu'))
    monkeypatch.delenv('MASTER_ADDR', raising=False)
    with pytest.raises(OptionError, match='torchrun'):
        distributed.init(opt)
    monkeypatch.setenv('MASTER_ADDR', 'localhost')
    monkeypatch.setenv('MASTER_PORT', '29500')
    opt.norm = 'syncbatch'
    with pytest.raises(OptionError, match='syncbatch needs CUDA'):
        distributed.init(opt)


def test_resume_state_selection_per_rank(monkeypatch):
    from util import distributed
    state = {'rng': 'r0', 'pools': 'p0', 'ranks': [{'rng': 'r0', 'pools': 'p0'}, {'rng': 'r1', 'pools': 'p1'}]}
    assert distributed.select_rank_state(state) == ({'rng': 'r0', 'pools': 'p0'}, False)  # 1 process of 2 saved
    monkeypatch.setattr(distributed, 'get_world_size', lambda: 2)
    monkeypatch.setattr(distributed, 'get_rank', lambda: 1)
    assert distributed.select_rank_state(state) == ({'rng': 'r1', 'pools': 'p1'}, True)
    monkeypatch.setattr(distributed, 'get_world_size', lambda: 3)
    monkeypatch.setattr(distributed, 'get_rank', lambda: 2)
    assert distributed.select_rank_state(state) == ({'rng': None, 'pools': 'p0'}, False)  # fresh streams


def test_models_that_bypass_ddp_refuse_torchrun_clearly(tmp_path, monkeypatch):
    """A model whose update bypasses DDP (supports_distributed = False, e.g. omnigan) stops with one clear error."""
    from models import create_model
    from options.train_options import TrainOptions
    from util import distributed
    args = ['--model', 'blobgan', '--crop_size', '32', '--size_in', '8', '--n_blobs', '2', '--g_c_model', '2',
            '--d_c_model', '2', '--layout_hidden', '16', '--layout_layers', '2', '--noise_dim', '8', '--style_dim', '8',
            '--feature_dim', '8']
    opt = TrainOptions(args + ['--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path),
                               '--display_id', '0']).parse()
    model = create_model(opt)
    monkeypatch.setattr(distributed, 'is_distributed', lambda: True)
    monkeypatch.setattr(type(model), 'supports_distributed', False)
    with pytest.raises(ValueError, match=f'--model {opt.model} trains in one process only.*without torchrun'):
        model.wrap_networks()
