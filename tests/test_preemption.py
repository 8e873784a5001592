"""Pre-emption and one trainer per run: SIGTERM/SIGINT to a whole process group (data workers included) save the
training state or write the results page and end with one line and 128 + the signal number; a second train.py on
a run another process trains is refused, and kill -9 leaves no stale lock."""
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT, TINY_PIX2PIX, needs_gloo, run_test, run_train
from options.inference_options import trained_runs
from tiny_runs import make_data, make_run
from util.errors import RunLockedError
from util.run_lock import LOCK_FILE, RunLock
from util.stop_signals import StopNow, StopRequest, ignore_in_worker

# Makes the Nth call of a BaseModel method wait (up to a minute) for the stop request of train.py / test.py, so
# that a test signals at a known step: ZOO_WAIT_AT=method:N; ZOO_WAIT_MARKER is created when the wait begins.
WAIT_PLUGIN = '''
import os, signal, time
from models.base_model import BaseModel
name, n = os.environ['ZOO_WAIT_AT'].split(':')
real, calls = getattr(BaseModel, name), []
def wait_for_stop(self, *args, **kwargs):
    out = real(self, *args, **kwargs)
    calls.append(1)
    if len(calls) == int(n):
        open(os.environ['ZOO_WAIT_MARKER'], 'w').close()
        stop = signal.getsignal(signal.SIGTERM).__self__  # the StopRequest installed by train.py / test.py
        deadline = time.time() + 60
        while not stop.requested and time.time() < deadline:
            time.sleep(0.01)
    return out
setattr(BaseModel, name, wait_for_stop)
'''
WORKERS = ['--num_threads', '2']  # data worker processes in the group: they must not die first


def start(cmd, tmp_path, wait_at):
    """Start ``cmd`` in a new process group with the wait plugin; returns (process, marker path)."""
    (tmp_path / 'wait_plugin.py').write_text(WAIT_PLUGIN)
    marker = tmp_path / 'waiting'
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', ZOO_PLUGINS='wait_plugin',
               ZOO_WAIT_AT=wait_at, ZOO_WAIT_MARKER=str(marker),
               PYTHONPATH=os.pathsep.join([ROOT, str(tmp_path)]))
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=env, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, marker


def wait_for(proc, marker, timeout=300):
    deadline = time.time() + timeout
    while not marker.exists():
        if proc.poll() is not None or time.time() > deadline:
            out, err = proc.communicate()
            pytest.fail(f'never reached the wait (exit {proc.returncode}): {out[-2000:]} {err[-2000:]}')
        time.sleep(0.02)


def killpg_and_wait(proc, sig):
    os.killpg(proc.pid, sig)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def train_args(data, ck, name):
    return ['--dataroot', data, '--checkpoints_dir', ck, '--name', name, '--seed', 5, '--gpu_ids', -1] + \
        TINY_PIX2PIX + ['--n_epochs', 1, '--n_epochs_decay', 0, '--display_freq', 0]


def state_of(run_dir):
    return torch.load(run_dir / 'latest_train_state.pth', map_location='cpu', weights_only=False)


def test_first_signal_is_a_request_second_sigint_stops_at_once():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)  # SLURM's copy and torchrun's forwarded one: still one request
        assert stop.signum == signal.SIGTERM
        with pytest.raises(StopNow):
            os.kill(os.getpid(), signal.SIGINT)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def _data_worker(ready):
    ignore_in_worker(0)
    ready.set()
    time.sleep(60)


def test_data_workers_ignore_stop_signals_but_end_on_their_main_process_sigterm():
    context = multiprocessing.get_context('fork')  # how the DataLoader starts its workers on Linux
    ready = context.Event()
    worker = context.Process(target=_data_worker, args=(ready,), daemon=True)
    worker.start()
    assert ready.wait(60)
    subprocess.run(['kill', '-TERM', str(worker.pid)], check=True)  # from another process: SLURM, torchrun, killpg
    subprocess.run(['kill', '-INT', str(worker.pid)], check=True)
    worker.join(0.5)
    assert worker.is_alive()
    worker.terminate()  # SIGTERM from its main process: torch's shutdown, multiprocessing's at exit after an error
    worker.join(60)
    assert worker.exitcode == 0


def test_sigterm_to_the_process_group_saves_the_state_and_resume_continues(tmp_path, paired_root, capsys):
    ck = tmp_path / 'ck'
    args = train_args(paired_root, ck, 'pre') + WORKERS
    proc, marker = start([sys.executable, 'train.py'] + args, tmp_path, 'after_train_step:2')
    wait_for(proc, marker)
    rc, out, err = killpg_and_wait(proc, signal.SIGTERM)
    assert rc == 143, err
    assert err.splitlines() == ['stopped by SIGTERM: training state saved as latest (epoch 1, 2 images seen); '
                                'resume with the same command plus --continue_train'], err
    assert state_of(ck / 'pre')['total_iters'] == 2
    capsys.readouterr()
    assert run_train(train_args(paired_root, ck, 'pre') + ['--continue_train']) == 0
    assert 'resumed from latest: epoch 1, batch 2 of the epoch (image 2), 2 images seen' in capsys.readouterr().out
    assert state_of(ck / 'pre')['total_iters'] == 6


def test_second_sigint_stops_at_once_with_one_line(tmp_path, paired_root, capsys, monkeypatch):
    from models.base_model import BaseModel

    def ctrl_c_twice(self, epoch, total_iters, images_per_step, visualizer):
        if total_iters == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(BaseModel, 'after_train_step', ctrl_c_twice)
    ck = tmp_path / 'ck'
    assert run_train(train_args(paired_root, ck, 'now')) == 130
    assert capsys.readouterr().err.splitlines() == [
        'stopped at once by a second SIGINT: nothing saved since the last checkpoint']
    assert not (ck / 'now' / 'latest_train_state.pth').exists()


def test_sigterm_to_test_py_writes_the_page_of_the_images_done(tmp_path):
    ck = make_run(str(tmp_path), 'p2p')
    res = tmp_path / 'res'
    cmd = [sys.executable, 'test.py', '--dataroot', make_data(str(tmp_path), 'paired'), '--checkpoints_dir', ck,
           '--name', 'p2p', '--model', 'pix2pix', '--results_dir', res, '--gpu_ids', -1] + WORKERS
    proc, marker = start(cmd, tmp_path, 'test:1')
    wait_for(proc, marker)
    rc, out, err = killpg_and_wait(proc, signal.SIGTERM)
    assert rc == 143, err
    assert err.splitlines() == ['interrupted after 1 image(s): the results page shows those'], err
    page = (res / 'p2p' / 'test_latest' / 'index.html').read_text()
    assert page.count('<img') == len(os.listdir(res / 'p2p' / 'test_latest' / 'images')) > 0
    assert 'results page: ' in out


@needs_gloo
def test_sigterm_to_torchrun_saves_once_at_the_step_the_ranks_agree_on(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', 'train.py'] + \
        train_args(paired_root, ck, 'ddp') + WORKERS
    proc, marker = start(cmd, tmp_path, 'after_train_step:1')
    wait_for(proc, marker)
    rc, out, err = killpg_and_wait(proc, signal.SIGTERM)
    assert rc != 0  # torchrun's agent ends with its own SignalException after its workers have exited
    assert 'closing signal SIGTERM' in err  # the agent forwarded the signal to each worker's process group
    stops = [line for line in err.splitlines() if line.startswith('stopped by')]
    # the ranks waited at step 1 for the signal and agreed on the next one: 2 steps of 2 processes x 1 image
    assert stops == ['stopped by SIGTERM: training state saved as latest (epoch 1, 4 images seen); resume with the '
                     'same command plus --continue_train'], err
    assert 'train.py", line' not in err  # no traceback through our code on any rank
    state = state_of(ck / 'ddp')
    assert state['total_iters'] == 4 and len(state['ranks']) == 2


def test_second_trainer_is_refused_and_kill_9_frees_the_run(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    args = train_args(paired_root, ck, 'one')
    first, marker = start([sys.executable, 'train.py'] + args, tmp_path, 'after_train_step:1')
    try:
        wait_for(first, marker)
        before = {p.name: p.stat().st_mtime_ns for p in (ck / 'one').iterdir()}
        second = subprocess.run([sys.executable, 'train.py'] + [str(a) for a in args], cwd=ROOT, text=True,
                                capture_output=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''), timeout=300)
        assert second.returncode == 2
        assert second.stderr.splitlines() == [
            f'error: {ck / "one"} is being trained by PID {first.pid} on host {socket.gethostname()}, which holds '
            f'{ck / "one" / LOCK_FILE}; wait for it to end or stop it, or train under another --name']
        assert {p.name: p.stat().st_mtime_ns for p in (ck / 'one').iterdir()} == before  # nothing written
    finally:
        rc, _, _ = killpg_and_wait(first, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert run_train(args + ['--overwrite', '--max_dataset_size', 2]) == 0  # the kernel dropped the dead trainer's lock


def test_readers_and_the_run_list_ignore_a_held_lock(tmp_path):
    ck = make_run(str(tmp_path), 'p2p')
    with RunLock(os.path.join(ck, 'p2p')) as lock:
        lock.acquire()
        with pytest.raises(RunLockedError, match=f'PID {os.getpid()} on host'):
            RunLock(os.path.join(ck, 'p2p')).acquire()
        assert 'p2p' in trained_runs(ck)
        assert run_test(['--dataroot', make_data(str(tmp_path), 'paired'), '--checkpoints_dir', ck, '--name', 'p2p',
                         '--model', 'pix2pix', '--results_dir', tmp_path / 'res', '--num_threads', 0,
                         '--gpu_ids', -1, '--num_test', 1]) == 0
