"""torchrun beyond one standalone launch (gloo, CPU): two "nodes" meeting at a c10d rendezvous, and an elastic restart
after kill -9 of a worker that resumes by itself (--auto_resume) from a time-based save (--save_latest_minutes)."""
import socket
import subprocess

import torch

from conftest import ROOT, TINY_PIX2PIX, needs_gloo, torchrun, torchrun_command

pytestmark = needs_gloo

QUIET = ['--display_id', '0', '--print_freq', '2', '--display_freq', '100', '--no_html', '--gpu_ids', '-1',
         '--seed', '3', '--n_epochs_decay', '0', '--auto_resume']

# Kills (kill -9) the rank-1 worker when it loads its 3rd image of epoch 2, in the group's first start only: by
# then a step of epoch 2 has saved the latest state (--save_latest_minutes far below a step's time).
KILL_PLUGIN = '''
import os
import signal

from data import register_dataset
from data.aligned_dataset import AlignedDataset


class KillingAlignedDataset(AlignedDataset):
    loaded_in_epoch_2 = 0

    def __getitem__(self, index):
        if (os.environ.get('ZOO_TEST_KILL') and os.environ['RANK'] == '1' and self.epoch == 2
                and os.environ['TORCHELASTIC_RESTART_COUNT'] == '0'):
            KillingAlignedDataset.loaded_in_epoch_2 += 1
            if KillingAlignedDataset.loaded_in_epoch_2 == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(index)


register_dataset('killing_aligned', KillingAlignedDataset)
'''


def free_port():
    with socket.socket() as s:
        s.bind(('localhost', 0))
        return s.getsockname()[1]


def weights(run_dir, label='latest'):
    return {name: torch.load(run_dir / f'{label}_net_{name}.pth', weights_only=True) for name in ('G', 'D')}


def assert_same_weights(a, b):
    for name in a:
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f'{name}.{key} differs'


def test_two_nodes_train_write_once_and_resume(paired_root, tmp_path):
    """torchrun --nnodes 2 --nproc_per_node 1 --rdzv_backend c10d, started twice as two nodes of one machine."""
    def run_nodes(epochs):
        launcher = ['--nnodes', '2', '--nproc_per_node', '1', '--rdzv_backend', 'c10d', '--rdzv_id', 'zoo',
                    '--rdzv_endpoint', f'localhost:{free_port()}']
        args = TINY_PIX2PIX + QUIET + ['--dataroot', paired_root, '--name', 'nodes', '--checkpoints_dir',
                                       tmp_path / 'ck', '--n_epochs', epochs]
        cmd, env = torchrun_command(args, launcher)
        nodes = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [node.communicate(timeout=600) for node in nodes]
        for node, (out, err) in zip(nodes, outputs):
            assert node.returncode == 0, out[-3000:] + err[-3000:]
        return ''.join(out for out, _ in outputs)

    out = run_nodes(1)
    assert out.count('effective batch size 2 (2 process(es) x --batch_size 1, gloo') == 1  # rank 0 alone logs
    d = tmp_path / 'ck' / 'nodes'
    assert sorted(p.name for p in d.glob('*.pth')) == ['latest_net_D.pth', 'latest_net_G.pth',
                                                       'latest_train_state.pth']
    assert (d / 'loss_log.txt').read_text().count('Training Loss') == 1
    state = torch.load(d / 'latest_train_state.pth', weights_only=True)
    assert len(state['ranks']) == 2 and state['ranks'][0]['param_digest'] == state['ranks'][1]['param_digest']

    out = run_nodes(2)  # the same command with one more epoch: --auto_resume finds the latest state
    assert out.count('resumed from latest: epoch 2, batch 0') == 1
    state = torch.load(d / 'latest_train_state.pth', weights_only=True)
    assert state['epoch'] == 3 and state['ranks'][0]['param_digest'] == state['ranks'][1]['param_digest']


def test_killed_worker_restarts_and_resumes_by_itself(paired_root, tmp_path):
    """torchrun --max-restarts 1: kill -9 of one worker mid-epoch restarts the group, which resumes from the latest
    state saved by --save_latest_minutes and ends with the weights of an uninterrupted run (resumes are exact)."""
    (tmp_path / 'zoo_test_killing.py').write_text(KILL_PLUGIN)
    env = {'ZOO_PLUGINS': 'zoo_test_killing'}

    def args(ckpt):
        return TINY_PIX2PIX + QUIET + ['--dataroot', paired_root, '--name', 'elastic', '--checkpoints_dir', ckpt,
                                       '--dataset_mode', 'killing_aligned', '--n_epochs', '2',
                                       '--save_latest_minutes', '0.0001']

    proc = torchrun(args(tmp_path / 'ck'), tmp_path, env_extra=dict(env, ZOO_TEST_KILL='1'),
                    launcher=['--max-restarts', '1'])
    # 6 images, 2 ranks x batch 1: 3 steps per epoch. A time-based save comes one step after the ranks' clocks
    # were posted, and a save drops the posting in flight: saves after step 2 of epoch 1, step 1 of epoch 2 (the
    # count posted at step 3 of epoch 1); killed while loading step 3, the new group resumes at batch 1
    assert proc.stdout.count('resumed from latest: epoch 2, batch 1 of the epoch') == 1
    assert 'resumed' not in proc.stdout.split('resumed from latest')[0]  # the first start was a new run
    torchrun(args(tmp_path / 'ref'), tmp_path, env_extra=env)
    assert_same_weights(weights(tmp_path / 'ck' / 'elastic'), weights(tmp_path / 'ref' / 'elastic'))
