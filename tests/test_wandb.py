"""The Weights & Biases backend (--wandb): a real offline run through train.py, and what it logs (fake wandb)."""
import glob
import os
import sys
import time
import types
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import TINY_PIX2PIX, run_train
from visualizers import Visualizer, wandb_backend
from visualizers.wandb_backend import WandbBackend


@pytest.fixture
def no_wandb_login(monkeypatch, tmp_path):
    """No API key anywhere (environment, netrc), whatever the machine has."""
    for var in ('WANDB_API_KEY', 'WANDB_MODE', 'WANDB_DIR'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('NETRC', str(tmp_path / 'no_netrc'))


def test_offline_run_without_api_key_logs_scalars_images_and_options(paired_root, tmp_path, no_wandb_login, capfd):
    ck = str(tmp_path / 'ck')
    assert run_train(TINY_PIX2PIX + ['--dataroot', paired_root, '--name', 'wb', '--checkpoints_dir', ck,
                                     '--n_epochs', '1', '--n_epochs_decay', '0', '--max_dataset_size', '2',
                                     '--no_html', '--wandb', '--wandb_project', 'zoo-test']) == 0
    err = capfd.readouterr().err
    runs = glob.glob(os.path.join(ck, 'wb', 'wandb', 'offline-run-*'))
    assert len(runs) == 1
    assert err.count('wandb sync') == 1 and f'wandb sync {runs[0]}' in err and 'no API key' in err
    assert 'warning: wandb' not in err  # neither failed nor disabled
    path = glob.glob(os.path.join(runs[0], '*.wandb'))[0]
    deadline = time.time() + 60  # wandb's service process may still be writing the records it was handed
    while b'loss/G_GAN' not in open(path, 'rb').read() and time.time() < deadline:
        time.sleep(0.2)
    records = open(path, 'rb').read()
    for key in (b'loss/G_GAN', b'loss/G_L1', b'loss/D_real', b'loss/D_fake', b'loss/G_total', b'lambda_L1',
                b'git_commit', b'zoo-test'):
        assert key in records, key
    images = glob.glob(os.path.join(runs[0], 'files', 'media', 'images', 'visuals', '*.png'))
    assert {os.path.basename(p).rsplit('_', 2)[0] for p in images} == {'real_A', 'fake_B', 'real_B'}


class FakeRun:
    def __init__(self, **kwargs):
        self.kwargs, self.logged, self.finished = kwargs, [], False
        self.dir = os.path.join(kwargs['dir'], 'wandb', 'fake-run', 'files')

    def log(self, data, step=None):
        self.logged.append((step, dict(data)))

    def finish(self):
        self.finished = True


@pytest.fixture
def fake_wandb(monkeypatch):
    module = types.ModuleType('wandb')
    module.runs = []

    def init(**kwargs):
        module.runs.append(FakeRun(**kwargs))
        return module.runs[-1]
    module.init = init
    module.Settings = lambda **kw: SimpleNamespace(**kw)
    module.Image = lambda array: ('image', array.shape)
    monkeypatch.setitem(sys.modules, 'wandb', module)
    return module


def opt_for(tmp_path, **extra):
    opt = dict(name='run', checkpoints_dir=str(tmp_path), isTrain=True, rank=0, no_html=True, display_id=0,
               wandb=True, wandb_offline=False, wandb_project='p', wandb_entity='e', wandb_run_name=None,
               log_level=2, display_winsize=32)
    opt.update(extra)
    return SimpleNamespace(**opt)


def test_online_with_key_and_server_offline_otherwise(fake_wandb, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    monkeypatch.setattr(wandb_backend, 'wandb_server_unreachable', lambda timeout=2.0: None)
    backend = WandbBackend(opt_for(tmp_path))
    assert backend.run.kwargs['mode'] == 'online' and backend.run.kwargs['entity'] == 'e'
    assert backend.run.kwargs['name'] == 'run' and backend.run.kwargs['config']['wandb_project'] == 'p'
    assert 'wandb sync' not in capsys.readouterr().err
    monkeypatch.setattr(wandb_backend, 'wandb_server_unreachable', lambda timeout=2.0: 'cannot reach api.wandb.ai:443')
    backend = WandbBackend(opt_for(tmp_path, wandb_run_name='named'))
    err = capsys.readouterr().err
    assert backend.run.kwargs['mode'] == 'offline' and 'cannot reach api.wandb.ai' in err and 'wandb sync' in err
    assert backend.run.kwargs['name'] == 'named'
    backend = WandbBackend(opt_for(tmp_path, wandb=False, wandb_offline=True))
    assert backend.run.kwargs['mode'] == 'offline'


def test_scalars_images_metrics_and_steps(fake_wandb, tmp_path, no_wandb_login):
    vis = Visualizer(opt_for(tmp_path))
    assert vis.backend_names() == ['wandb']
    run = fake_wandb.runs[-1]
    losses = OrderedDict(G_GAN=1.0, G_L1=2.0, D_real=0.5, D_fake=0.25)
    image = np.zeros((1, 3, 8, 8), np.float32)
    import torch
    vis.display_current_results(OrderedDict(real_A=torch.from_numpy(image)), 1, True, total_iters=4)
    vis.plot_current_losses(1, 0.5, losses, total_iters=4)
    vis.plot_current_losses(1, 1.0, losses, total_iters=8)
    vis.print_current_metrics(1, OrderedDict(fid=12.5), split='val')
    steps = [step for step, _ in run.logged]
    assert steps == [4, 4, 8, 8] and steps == sorted(steps)
    assert run.logged[0][1] == {'visuals/real_A': ('image', (8, 8, 3))}
    assert run.logged[1][1]['loss/G_L1'] == 2.0 and run.logged[1][1]['loss/G_total'] == 3.0
    assert run.logged[1][1]['loss/D_total'] == 0.75 and run.logged[1][1]['epoch'] == 0.5
    assert run.logged[3][1] == {'val/fid': 12.5, 'epoch': 1.0}
    vis.close()
    assert run.finished


def test_log_level_1_sends_totals_only(fake_wandb, tmp_path, no_wandb_login):
    vis = Visualizer(opt_for(tmp_path, log_level=1))
    vis.plot_current_losses(1, 0.5, OrderedDict(G_GAN=1.0, D_real=0.5), total_iters=1)
    assert set(fake_wandb.runs[-1].logged[0][1]) == {'loss/G_total', 'loss/D_total', 'epoch'}


def test_missing_package_or_failing_log_never_stops_training(tmp_path, monkeypatch, capsys, no_wandb_login):
    monkeypatch.setitem(sys.modules, 'wandb', None)  # import wandb -> ImportError
    vis = Visualizer(opt_for(tmp_path))
    assert vis.backend_names() == [] and 'pip install wandb' in capsys.readouterr().err
    vis.plot_current_losses(1, 0.5, OrderedDict(G=1.0), total_iters=1)
    vis.close()


def test_a_failing_log_disables_wandb_once(fake_wandb, tmp_path, capsys, no_wandb_login):
    vis = Visualizer(opt_for(tmp_path))

    def broken(data, step=None):
        raise OSError('disk full')
    fake_wandb.runs[-1].log = broken
    for i in range(3):
        vis.plot_current_losses(1, 0.5, OrderedDict(G=1.0), total_iters=i + 1)
    err = capsys.readouterr().err
    assert err.count('wandb failed') == 1 and 'disk full' in err and vis.backend_names() == []


def test_text_parameters_and_confusion_matrices(fake_wandb, tmp_path, no_wandb_login):
    fake_wandb.Html = lambda text: ('html', text)
    fake_wandb.Table = lambda columns, data: ('table', columns, data)
    vis = Visualizer(opt_for(tmp_path))
    run = fake_wandb.runs[-1]
    run.config = SimpleNamespace(values={}, update=lambda params, allow_val_change: run.config.values.update(params))
    vis.log_text('a <switch>', step=6)
    vis.log_parameters({'schedule_start_translation': 6})
    vis.log_confusion_matrix([[2, 1], [0, 3]], 'confusion_A_rotation_6', step=6)
    assert run.logged == [(6, {'log': ('html', '<pre>a &lt;switch&gt;</pre>')}),
                          (6, {'confusion/confusion_A_rotation_6': ('table', ['truth', 'predicted 0', 'predicted 1'],
                                                                    [[0, 2, 1], [1, 0, 3]])})]
    assert run.config.values == {'schedule_start_translation': 6}
