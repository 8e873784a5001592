"""tools/bench/benchmark.py runs end to end on a tiny configuration and writes valid JSON."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from tools.bench import benchmark
from tools.bench.classic_step import ClassicPix2PixStep

TINY_NETS = ['--', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8']


def load_benchmark():
    return benchmark


def test_compare_train_and_test_with_loss_check(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    load_benchmark().main(['--model', 'pix2pix', '--size', '32', '--warmup', '1', '--iters', '2', '--reps', '2', '--threads', '1',
                           '--json', str(out), '--loss_check', '3',
                           '--compare', '', '--amp bf16 --channels_last --batch_size 2 --threads 1'] + TINY_NETS)
    printed = capsys.readouterr().out
    assert 'B / A images/s' in printed
    result = json.loads(out.read_text())
    for kind in ('train', 'test'):
        table = result['results'][kind]
        for label in ('A', 'B'):
            r = table[label]
            assert r['ms_per_iter'] > 0 and r['images_per_s'] > 0 and r['iterations'] == 4
            assert r['peak_memory_mib'] > 0
            assert r['flops_per_iter'] > 0 and r['gflops_per_s'] > 0
        assert table['B']['batch_size'] == 2 and table['A']['batch_size'] == 1
        # same networks: twice the images per iteration, twice the FLOPs
        assert table['B']['flops_per_iter'] == pytest.approx(2 * table['A']['flops_per_iter'], rel=0.01)
        ratio = table['ratio_B_over_A']
        assert ratio['images_per_s'] > 0 and len(ratio['per_repetition']) == 2
    # training counts forward and backward: several times the inference FLOPs of the generator alone
    assert result['results']['train']['A']['flops_per_iter'] > 2 * result['results']['test']['A']['flops_per_iter']
    check = result['loss_check']
    assert check['iterations'] == 3
    assert check['configs']['A']['max_rel_diff'] == 0.0
    assert set(check['configs']['B']['last_window_mean']) == {'G_GAN', 'G_L1', 'D_real', 'D_fake'}
    assert result['configs']['B']['threads'] == 1
    assert result['environment']['torch']


def test_single_configuration_cycle_gan_train_only(tmp_path):
    out = tmp_path / 'bench.json'
    load_benchmark().main(['--model', 'cycle_gan', '--size', '32', '--mode', 'train', '--warmup', '1', '--iters', '1',
                           '--reps', '1', '--no_flops', '--json', str(out), '--', '--netG', 'resnet_6blocks',
                           '--ngf', '8', '--ndf', '8'])
    result = json.loads(out.read_text())
    assert list(result['results']) == ['train']
    assert 'ratio_B_over_A' not in result['results']['train']
    assert result['results']['train']['A']['images_per_s'] > 0


def test_real_dataset_batches(paired_root, tmp_path):
    out = tmp_path / 'bench.json'
    load_benchmark().main(['--model', 'pix2pix', '--size', '32', '--mode', 'test', '--warmup', '1', '--iters', '1',
                           '--reps', '1', '--dataroot', paired_root, '--json', str(out)] + TINY_NETS
                          + ['--direction', 'BtoA'])
    assert json.loads(out.read_text())['results']['test']['A']['images_per_s'] > 0


def test_reference_step_against_the_project_step(tmp_path, capsys):
    """--reference adds the classic step R: same networks (same parameter count), a ratio of every config to it."""
    out = tmp_path / 'bench.json'
    benchmark.main(['--model', 'pix2pix', '--size', '32', '--mode', 'both', '--warmup', '1', '--iters', '1',
                    '--reps', '2', '--threads', '1', '--json', str(out), '--reference',
                    '--compare', '', '--amp bf16'] + TINY_NETS)
    printed = capsys.readouterr().out
    assert 'classic reference step' in printed and 'A / R images/s' in printed and 'B / R images/s' in printed
    result = json.loads(out.read_text())
    train = result['results']['train']
    assert set(train) >= {'R', 'A', 'B', 'ratio_A_over_R', 'ratio_B_over_R'}
    # the classic step does the same arithmetic as the project's fp32 step: the same FLOPs
    assert train['R']['flops_per_iter'] == pytest.approx(train['A']['flops_per_iter'], rel=0.02)
    assert result['configs']['R']['options'] == 'classic reference step'


def test_classic_pix2pix_step_learns_and_freezes_D_for_G(tmp_path):
    """The classic step updates both networks, and the generator's update leaves D's gradients untouched."""
    import torch
    from options.train_options import TrainOptions
    opt = TrainOptions(['--dataroot', str(tmp_path), '--model', 'pix2pix', '--name', 'c', '--checkpoints_dir',
                        str(tmp_path), '--gpu_ids', '-1', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8',
                        '--display_id', '0', '--seed', '1']).parse()
    step = ClassicPix2PixStep(opt)
    g0 = [p.clone() for p in step.netG.parameters()]
    d0 = [p.clone() for p in step.netD.parameters()]
    torch.manual_seed(0)
    step.set_input({'A': torch.rand(1, 3, 32, 32) * 2 - 1, 'B': torch.rand(1, 3, 32, 32) * 2 - 1})
    step.train_step()
    assert any(not torch.equal(a, b) for a, b in zip(g0, step.netG.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, step.netD.parameters()))
    assert all(not p.requires_grad for p in step.netD.parameters())  # the classic step leaves D frozen after G
    assert set(step.get_current_losses()) == {'G', 'D'}


def test_reference_refuses_other_models(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        benchmark.main(['--model', 'colorization', '--reference', '--json', str(tmp_path / 'x.json')])
    assert exc.value.code == 2
    assert 'pix2pix or cycle_gan' in capsys.readouterr().err


def test_old_path_forwards(tmp_path):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'benchmark.py'), '--model', 'pix2pix',
                           '--size', '32', '--mode', 'test', '--warmup', '1', '--iters', '1', '--reps', '1',
                           '--no_flops', '--threads', '1', '--json', str(out)] + TINY_NETS,
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'python -m tools.bench.benchmark' in proc.stderr
    assert json.loads(out.read_text())['results']['test']['A']['images_per_s'] > 0


def test_ddp_token_wraps_one_configuration(tmp_path):
    """'--ddp' in a compare string wraps that configuration's trained networks in a one-process DDP."""
    out = tmp_path / 'bench.json'
    benchmark.main(['--model', 'pix2pix', '--size', '32', '--mode', 'train', '--warmup', '1', '--iters', '1',
                    '--reps', '1', '--no_flops', '--threads', '1', '--json', str(out),
                    '--compare', '', '--ddp --threads 1'] + TINY_NETS)
    result = json.loads(out.read_text())
    assert result['results']['train']['ratio_B_over_A']['images_per_s'] > 0
    assert result['configs']['B']['ddp'] and not result['configs']['A']['ddp']


def test_data_loading_benchmark_counts_every_image_and_times_each_stage(tmp_path):
    from tools.bench import data_loading
    out = tmp_path / 'data.json'
    assert data_loading.main(['--mode', 'unaligned', '--size', '32', '--count', '4', '--batch_size', '2',
                              '--workers', '0', '--epochs', '1', '--stages', '2', '--json', str(out)]) == 0
    result = json.loads(out.read_text())
    assert result['runs']['0']['images'] == 4 and result['runs']['0']['images_per_s'] > 0
    assert set(result['stages_ms']) == {'decode', 'resize_crop_flip', 'to_tensor'}


def test_to_tensor_matches_the_float_formula():
    from PIL import Image

    from data.base_dataset import to_tensor
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    for array in (rgb, rgb[:, :, 0]):
        expected = torch.from_numpy(np.asarray(array, np.float32).reshape(5, 7, -1).transpose(2, 0, 1).copy()) / 127.5 - 1
        assert torch.equal(to_tensor(Image.fromarray(array)), expected)
