"""tools/compare.py builds its report from tiny runs; a study script of scripts/experiments runs end to end."""
import importlib.util
import json
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ['--model', 'pix2pix', '--netG', 'unet_32', '--ngf', '8', '--ndf', '8', '--load_size', '36', '--crop_size', '32',
        '--num_threads', '0', '--direction', 'BtoA', '--n_epochs', '1', '--n_epochs_decay', '0', '--max_dataset_size', '2',
        '--gpu_ids', '-1', '--seed', '1', '--display_freq', '100']


def _load(relpath, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory, paired_root):
    from conftest import run_test, run_train  # tests/ has no __init__: pytest imports conftest by this name
    base = tmp_path_factory.mktemp('runs')
    ck, res = str(base / 'ck'), str(base / 'res')
    for name, extra in [('run_basic', []), ('run_multi', ['--netD', 'multiscale', '--lambda_feat', '2'])]:
        assert run_train(['--dataroot', paired_root, '--name', name, '--checkpoints_dir', ck] + TINY + extra) == 0
        assert run_test(['--dataroot', paired_root, '--name', name, '--checkpoints_dir', ck, '--results_dir', res,
                         '--gpu_ids', '-1', '--num_test', '3', '--metrics', 'psnr,l1']) == 0
    return base, ck, res


def test_compare_report_from_two_runs(two_runs):
    base, ck, res = two_runs
    from tools import compare
    out_dir = str(base / 'cmp')
    assert compare.main(['run_basic', 'run_multi', '--name', 'discs', '--checkpoints_dir', ck, '--results_dir', res,
                         '--out_dir', out_dir, '--metrics', 'psnr,ssim,l1', '--grid_size', '2', '--note', 'tiny']) == 0
    report = os.path.join(out_dir, 'discs')
    md = open(os.path.join(report, 'index.md')).read()
    page = open(os.path.join(report, 'index.html')).read()
    assert '| run | options that differ | psnr | ssim | l1 |' in md
    row = next(line for line in md.splitlines() if line.startswith('| run_multi'))
    assert 'netD=multiscale' in row and 'lambda_feat=2.0' in row and 'name=' not in row
    for metric in ('psnr', 'ssim', 'l1'):
        assert os.path.getsize(os.path.join(report, 'images', f'chart_{metric}.png')) > 0
        assert f'chart_{metric}.png' in page
    grid = [f for f in os.listdir(os.path.join(report, 'images')) if f.startswith('grid_')]
    assert len(grid) == 2 * 4  # 2 inputs x (input, run_basic, run_multi, target)
    assert 'tiny' in md and 'tiny' in page
    # ssim was missing from test.py's metrics.json: compare computed it and stored it with the run
    stored = json.load(open(os.path.join(res, 'run_basic', 'test_latest', 'metrics.json')))
    assert set(stored) == {'psnr', 'ssim', 'l1'}


def test_compare_from_a_yaml_runs_file_and_errors(two_runs, capsys):
    base, ck, res = two_runs
    from tools import compare
    runs_file = base / 'runs.yaml'
    runs_file.write_text(yaml.safe_dump({'name': 'from_yaml', 'out_dir': str(base / 'cmp'), 'checkpoints_dir': ck,
                                         'results_dir': res,
                                         'runs': [{'name': 'run_basic', 'label': 'PatchGAN'}, 'run_multi']}))
    assert compare.main(['--runs_file', str(runs_file)]) == 0
    md = open(base / 'cmp' / 'from_yaml' / 'index.md').read()
    assert '| PatchGAN |' in md and '| run_multi |' in md
    from util.cli import run_cli
    with pytest.raises(SystemExit) as info:
        run_cli(compare.main, ['missing_run', '--results_dir', res, '--checkpoints_dir', ck])
    assert info.value.code == 2
    assert 'run test.py' in capsys.readouterr().err


def test_a_study_script_trains_tests_and_compares(tmp_path, paired_root):
    study = _load('scripts/experiments/discriminators.py', 'zoo_study_discriminators')
    args = ['--quick', '--dataroot', paired_root, '--size', '32', '--max_dataset_size', '2', '--num_test', '2',
            '--n_epochs', '1', '--metrics', 'psnr,l1', '--gpu_ids', '-1', '--only', 'basic,sesame', '--cpu_threads', '0',
            '--checkpoints_dir', str(tmp_path / 'ck'), '--results_dir', str(tmp_path / 'res'),
            '--out_dir', str(tmp_path / 'cmp')]
    assert study.main(args) == 0
    md = open(tmp_path / 'cmp' / 'discriminators' / 'index.md').read()
    assert 'discriminators_basic' in md and 'discriminators_sesame' in md and 'Quick mode' in md
    assert study.main(args[:-6] + ['--only', 'nope']) == 2
