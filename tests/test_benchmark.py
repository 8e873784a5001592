"""scripts/benchmark.py runs end to end on a tiny configuration and writes valid JSON."""
import importlib.util
import json
import os

import pytest

from conftest import ROOT

TINY_NETS = ['--', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8']


def load_benchmark():
    spec = importlib.util.spec_from_file_location('zoo_benchmark', os.path.join(ROOT, 'scripts', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
