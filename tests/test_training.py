"""End-to-end training and testing of the core models, exact resume, interruption and checkpoint safety."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from conftest import ROOT, TINY_CYCLEGAN, TINY_PIX2PIX, run_test, run_train


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_weights(path_a, path_b):
    a, b = weights(path_a), weights(path_b)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def common(root, ck, name, seed=5):
    return ['--dataroot', root, '--checkpoints_dir', ck, '--name', name, '--seed', seed]


def test_pix2pix_trains_saves_and_tests(tmp_path, paired_root):
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    assert run_train(common(paired_root, ck, 'p2p') + TINY_PIX2PIX + ['--n_epochs', 1, '--n_epochs_decay', 1,
                                                                      '--batch_size', 2]) == 0
    run_dir = ck / 'p2p'
    for name in ('latest_net_G.pth', 'latest_net_D.pth', 'latest_train_state.pth', 'train_opt.txt',
                 'train_opt.yaml', 'loss_log.txt'):
        assert (run_dir / name).is_file(), name
    log = (run_dir / 'loss_log.txt').read_text()
    assert re.search(r'\(epoch: 2, iters: \d+, time: [\d.]+, data: [\d.]+\) G_GAN: [\d.]+ G_L1: [\d.]+', log)
    assert run_test(['--name', 'p2p', '--checkpoints_dir', ck, '--results_dir', res, '--batch_size', 2,
                     '--num_test', 3, '--metrics', 'psnr,ssim,l1']) == 0
    page_dir = res / 'p2p' / 'test_latest'
    html = (page_dir / 'index.html').read_text()
    metrics = json.loads((page_dir / 'metrics.json').read_text())
    assert set(metrics) == {'psnr', 'ssim', 'l1'} and 0 < metrics['l1'] < 1
    assert html.index('<h3>Metrics</h3>') < html.index('<img')  # the metrics table heads the page
    images = sorted(os.listdir(page_dir / 'images'))
    assert images == sorted(f'{i}_{label}.png' for i in (1, 2, 3) for label in ('real_A', 'fake_B', 'real_B'))
    for image in images:
        assert f'images/{image}' in html


def test_cycle_gan_trains_and_each_half_tests_alone(tmp_path, unpaired_root):
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    assert run_train(common(unpaired_root, ck, 'cyc') + TINY_CYCLEGAN + ['--n_epochs', 1, '--n_epochs_decay', 0,
                                                                         '--max_dataset_size', 3]) == 0
    state = weights(ck / 'cyc' / 'latest_train_state.pth')
    assert set(state['pools']) == {'fake_A', 'fake_B'} and len(state['pools']['fake_A']['images']) == 3
    assert run_test(['--name', 'cyc', '--checkpoints_dir', ck, '--results_dir', res, '--num_test', 2]) == 0
    assert (res / 'cyc' / 'test_latest' / 'images' / '1_rec_A.png').is_file()
    assert run_test(['--name', 'cyc', '--model', 'test', '--model_suffix', '_A', '--checkpoints_dir', ck,
                     '--dataroot', os.path.join(unpaired_root, 'trainA'), '--results_dir', res]) == 0
    images = os.listdir(res / 'cyc' / 'test_latest' / 'images')
    assert {'1_real.png', '1_fake.png', '6_fake.png'} <= set(images)


def test_colorization_trains_and_tests(tmp_path, paired_root):
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    args = common(paired_root, ck, 'col') + ['--model', 'colorization', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8',
                                             '--load_size', '36', '--crop_size', '32', '--num_threads', '0',
                                             '--n_epochs', 1, '--n_epochs_decay', 0, '--max_dataset_size', 2]
    assert run_train(args) == 0
    assert run_test(['--name', 'col', '--checkpoints_dir', ck, '--results_dir', res, '--num_test', 1]) == 0
    assert (res / 'col' / 'test_latest' / 'images' / '1_fake_B_rgb.png').is_file()


@pytest.mark.parametrize('model_args,root_fixture', [(TINY_PIX2PIX, 'paired_root'), (TINY_CYCLEGAN, 'unpaired_root')])
def test_resume_from_an_epoch_equals_uninterrupted_training(tmp_path, request, model_args, root_fixture):
    root = request.getfixturevalue(root_fixture)
    schedule = ['--n_epochs', 1, '--n_epochs_decay', 1, '--save_epoch_freq', 1, '--max_dataset_size', 4,
                '--batch_size', 2, '--display_freq', 0]
    ck = tmp_path / 'ck'
    assert run_train(common(root, ck, 'full') + model_args + schedule) == 0
    os.makedirs(ck / 'resumed')
    for name in os.listdir(ck / 'full'):
        if name.startswith('1_') or name.endswith('.yaml'):
            os.link(ck / 'full' / name, ck / 'resumed' / name)
    assert run_train(common(root, ck, 'resumed') + model_args + schedule + ['--continue_train', '--epoch', 1]) == 0
    for net in ('G', 'D') if 'pix2pix' in model_args else ('G_A', 'G_B', 'D_A', 'D_B'):
        assert_same_weights(ck / 'full' / f'latest_net_{net}.pth', ck / 'resumed' / f'latest_net_{net}.pth')
    full, resumed = weights(ck / 'full' / 'latest_train_state.pth'), weights(ck / 'resumed' / 'latest_train_state.pth')
    assert full['epoch'] == resumed['epoch'] == 3 and full['total_iters'] == resumed['total_iters'] == 8
    assert full['schedulers'][0]['_last_lr'] == resumed['schedulers'][0]['_last_lr']


def test_resume_mid_epoch_equals_uninterrupted_training(tmp_path, paired_root):
    schedule = ['--n_epochs', 2, '--n_epochs_decay', 0, '--max_dataset_size', 6, '--save_latest_freq', 2,
                '--save_by_iter', '--display_freq', 0]
    ck = tmp_path / 'ck'
    assert run_train(common(paired_root, ck, 'full') + TINY_PIX2PIX + schedule) == 0
    assert (ck / 'full' / 'iter_8_train_state.pth').is_file()
    os.makedirs(ck / 'mid')
    os.link(ck / 'full' / 'iter_8_train_state.pth', ck / 'mid' / 'iter_8_train_state.pth')
    assert run_train(common(paired_root, ck, 'mid') + TINY_PIX2PIX + schedule + ['--continue_train', '--load_iter', 8]) == 0
    assert_same_weights(ck / 'full' / 'latest_net_G.pth', ck / 'mid' / 'latest_net_G.pth')
    assert_same_weights(ck / 'full' / 'latest_net_D.pth', ck / 'mid' / 'latest_net_D.pth')


def test_interrupt_saves_and_resume_continues_exactly(tmp_path, paired_root):
    """Ctrl-C (SIGINT) at an arbitrary moment saves the state; --continue_train ends where an uninterrupted run does."""
    ck = tmp_path / 'ck'
    schedule = ['--n_epochs', 3, '--n_epochs_decay', 0, '--display_freq', 0, '--print_freq', 1]
    args = [str(a) for a in common(paired_root, ck, 'int') + TINY_PIX2PIX + schedule]
    proc = subprocess.Popen([sys.executable, 'train.py'] + args, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    log = ck / 'int' / 'loss_log.txt'
    while time.time() < deadline and not (log.is_file() and log.read_text().count('(epoch') >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert 'resume with the same command plus --continue_train' in output
    state = weights(ck / 'int' / 'latest_train_state.pth')
    assert 0 < state['total_iters'] < 18
    assert run_train(args + ['--continue_train']) == 0
    assert run_train([str(a) for a in common(paired_root, ck, 'ref') + TINY_PIX2PIX + schedule]) == 0
    assert_same_weights(ck / 'ref' / 'latest_net_G.pth', ck / 'int' / 'latest_net_G.pth')


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, paired_root, monkeypatch):
    ck = tmp_path / 'ck'
    args = common(paired_root, ck, 'atomic') + TINY_PIX2PIX + ['--n_epochs', 1, '--n_epochs_decay', 0,
                                                                '--max_dataset_size', 2]
    assert run_train(args) == 0
    before = weights(ck / 'atomic' / 'latest_net_G.pth')
    real_save = torch.save

    def dying_save(obj, f, *a, **kw):
        f.write(b'partial garbage')
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(torch, 'save', dying_save)
    with pytest.raises(KeyboardInterrupt):
        run_train(args + ['--seed', 99, '--overwrite'])
    monkeypatch.setattr(torch, 'save', real_save)
    after = weights(ck / 'atomic' / 'latest_net_G.pth')
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert weights(ck / 'atomic' / 'latest_train_state.pth')['total_iters'] == 2
    assert not [f for f in os.listdir(ck / 'atomic') if f.endswith('.tmp')]


def run_cli(script, args):
    return subprocess.run([sys.executable, script] + [str(a) for a in args], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


def test_mismatched_checkpoint_names_the_option(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    assert run_train(common(paired_root, ck, 'mm') + TINY_PIX2PIX + ['--n_epochs', 1, '--n_epochs_decay', 0,
                                                                     '--max_dataset_size', 1]) == 0
    out = run_cli('test.py', ['--name', 'mm', '--checkpoints_dir', ck, '--netG', 'unet_64', '--results_dir', tmp_path])
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == \
        'error: the checkpoint was trained with --netG unet_32 but this run uses --netG unet_64 (from the training ' \
        f'options in {ck}/mm); pass --netG unet_32'
    out = run_cli('train.py', common(paired_root, ck, 'mm') + TINY_PIX2PIX + ['--ngf', 16, '--continue_train'])
    assert out.returncode == 2 and '--ngf 8' in out.stderr and 'Traceback' not in out.stderr


def test_foreign_weights_with_wrong_shapes_get_a_short_error(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    os.makedirs(ck / 'foreign')
    from models import networks
    torch.save(networks.define_G(3, 3, 16, 'unet_32').state_dict(), ck / 'foreign' / 'latest_net_G.pth')
    out = run_cli('test.py', ['--name', 'foreign', '--model', 'test', '--checkpoints_dir', ck, '--netG', 'unet_32',
                              '--ngf', 8, '--dataroot', os.path.join(paired_root, 'test'), '--results_dir', tmp_path])
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert 'shape mismatches' in last and '--ngf 8' in last and 'Traceback' not in out.stderr


def test_testing_with_another_model_family_names_the_model_the_run_was_trained_with(tmp_path):
    """--model of another family: the run's --model is named (not a missing latest_net_G.pth, nor a dataroot the run
    'did not record': its data options belong to the model it was trained with)."""
    from tiny_runs import make_run
    ck = make_run(str(tmp_path), 'cyc')
    make_run(str(tmp_path), 'p2p')
    data = os.path.join(str(tmp_path), 'data_unpaired')
    for name, model, extra, trained in (('cyc', 'pix2pix', ['--dataroot', data], 'cycle_gan'),
                                        ('p2p', 'blobgan', [], 'pix2pix'), ('p2p', 'gan', [], 'pix2pix')):
        out = run_cli('test.py', ['--name', name, '--model', model, '--checkpoints_dir', ck, '--gpu_ids', -1,
                                  '--results_dir', tmp_path / 'res'] + extra)
        assert out.returncode == 2 and 'Traceback' not in out.stderr, out.stderr
        assert out.stderr.strip().splitlines() == [
            f"error: run '{name}' was trained with --model {trained}, not --model {model}: leave --model out "
            f"(test.py takes it from the run) or pass --model {trained}"]
    out = run_cli('test.py', ['--name', 'p2p', '--model', 'test', '--checkpoints_dir', ck, '--gpu_ids', -1])
    assert out.returncode == 2 and out.stderr.strip() == (
        'error: --dataroot is required: run p2p was trained with --model pix2pix, whose data --model test does not '
        'take over')
    assert not (tmp_path / 'res').exists()


def test_published_style_weights_with_instance_norm_stats_load(tmp_path, unpaired_root):
    """Old CycleGAN releases stored running stats for InstanceNorm; they must still load with --model test."""
    from models import networks
    ck = tmp_path / 'ck'
    os.makedirs(ck / 'horse2zebra_pretrained')
    net = networks.define_G(3, 3, 8, 'resnet_6blocks', norm='instance')
    state = net.state_dict()
    state['model.2.running_mean'] = torch.zeros(8)
    state['model.2.running_var'] = torch.ones(8)
    torch.save(state, ck / 'horse2zebra_pretrained' / 'latest_net_G.pth')
    assert run_test(['--name', 'horse2zebra_pretrained', '--model', 'test', '--no_dropout', '--netG', 'resnet_6blocks',
                     '--ngf', 8, '--norm', 'instance', '--checkpoints_dir', ck, '--results_dir', tmp_path / 'res',
                     '--dataroot', os.path.join(unpaired_root, 'testA'), '--num_test', 1]) == 0


def test_missing_checkpoint_and_dataset_errors_are_one_line(tmp_path, paired_root):
    out = run_cli('test.py', ['--name', 'never_trained', '--model', 'pix2pix', '--dataroot', paired_root,
                              '--checkpoints_dir', tmp_path, '--results_dir', tmp_path])
    assert out.returncode == 2 and 'Traceback' not in out.stderr
    assert 'no checkpoint' in out.stderr and 'check --name' in out.stderr
    out = run_cli('train.py', ['--model', 'pix2pix', '--dataroot', tmp_path / 'missing', '--checkpoints_dir', tmp_path])
    assert out.returncode == 2 and 'does not exist' in out.stderr and 'Traceback' not in out.stderr
    out = run_cli('train.py', ['--model', 'pix2pix', '--checkpoints_dir', tmp_path])
    assert out.returncode == 2 and '--dataroot is required' in out.stderr


def test_seed_makes_runs_reproducible(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    args = TINY_PIX2PIX + ['--n_epochs', 1, '--n_epochs_decay', 0, '--max_dataset_size', 2]
    assert run_train(common(paired_root, ck, 'a', seed=7) + args) == 0
    assert run_train(common(paired_root, ck, 'b', seed=7) + args) == 0
    assert run_train(common(paired_root, ck, 'c', seed=8) + args) == 0
    assert_same_weights(ck / 'a' / 'latest_net_G.pth', ck / 'b' / 'latest_net_G.pth')
    a, c = weights(ck / 'a' / 'latest_net_G.pth'), weights(ck / 'c' / 'latest_net_G.pth')
    assert any(not torch.equal(a[k], c[k]) for k in a)
    with open(ck / 'a' / 'train_opt.yaml') as f:
        assert yaml.safe_load(f)['seed'] == 7
