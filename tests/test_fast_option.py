"""--fast: the measured choice per model, device and phase (options/fast.py), user flags winning, and the docs table."""
import os
from types import SimpleNamespace

import pytest
import torch
import yaml

from conftest import ROOT
from options import fast
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util import hardware


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, 'cpu_has_native_bf16', lambda: True)


def parse(cls, args):
    return cls([str(a) for a in args]).parse(save=False)


def common(root, tmp_path, model='pix2pix'):
    return ['--dataroot', root, '--model', model, '--checkpoints_dir', tmp_path, '--gpu_ids', '-1']


def test_fast_sets_the_measured_cpu_training_path_and_reports_it(tmp_path, paired_root, native_bf16, capsys):
    opt = parse(TrainOptions, common(paired_root, tmp_path) + ['--fast'])
    assert (opt.amp, opt.channels_last, opt.fused_optimizer, opt.keep_cpu_memory) == ('bf16', True, True, True)
    report = [line for line in capsys.readouterr().err.splitlines() if line.startswith('--fast')]
    assert len(report) == 1
    assert '--amp bf16 --channels_last --fused_optimizer --keep_cpu_memory' in report[0] and 'docs/speed.md' in report[0]


def test_without_fast_nothing_changes(tmp_path, paired_root, native_bf16, capsys):
    opt = parse(TrainOptions, common(paired_root, tmp_path))
    assert (opt.amp, opt.channels_last, opt.fused_optimizer, opt.keep_cpu_memory) == ('none', False, False, False)
    assert '--fast' not in capsys.readouterr().err


def test_flags_given_on_the_command_line_or_in_a_config_win(tmp_path, paired_root, native_bf16, capsys):
    opt = parse(TrainOptions, common(paired_root, tmp_path) + ['--fast', '--amp', 'none', '--no_channels_last'])
    assert (opt.amp, opt.channels_last, opt.fused_optimizer) == ('none', False, True)
    err = capsys.readouterr().err
    assert 'yours kept: --amp none --no_channels_last' in err
    config = tmp_path / 'c.yaml'
    config.write_text(yaml.safe_dump({'channels_last': False}))
    opt = parse(TrainOptions, common(paired_root, tmp_path) + ['--fast', '--config', config])
    assert (opt.amp, opt.channels_last) == ('bf16', False)


def test_cycle_gan_takes_its_own_row_without_channels_last(tmp_path, unpaired_root, native_bf16):
    opt = parse(TrainOptions, common(unpaired_root, tmp_path, 'cycle_gan') + ['--fast'])
    assert (opt.amp, opt.channels_last, opt.fused_optimizer) == ('bf16', False, True)


def test_a_cpu_without_native_bf16_keeps_fp32(tmp_path, paired_root, monkeypatch, capsys):
    monkeypatch.setattr(hardware, 'cpu_has_native_bf16', lambda: False)
    opt = parse(TrainOptions, common(paired_root, tmp_path) + ['--fast'])
    assert (opt.amp, opt.channels_last, opt.fused_optimizer) == ('none', False, True)
    assert 'this CPU has no native bf16' in capsys.readouterr().err


def test_test_phase_uses_the_inference_row(tmp_path, paired_root, native_bf16):
    opt = parse(TestOptions, common(paired_root, tmp_path) + ['--fast'])
    assert (opt.amp, opt.channels_last) == ('bf16', True) and not hasattr(opt, 'fused_optimizer')


def test_unbenchmarked_models_get_only_value_preserving_options(tmp_path, images_root, native_bf16):
    opt = parse(TrainOptions, common(images_root, tmp_path, 'gan') + ['--fast', '--crop_size', '32', '--netG', 'dcgan',
                                                                      '--netD', 'dcgan'])
    assert (opt.amp, opt.channels_last, opt.fused_optimizer, opt.keep_cpu_memory) == ('none', False, True, True)


@pytest.mark.parametrize('model, batch, phase, expected', [
    ('pix2pix', 1, 'train', {'channels_last': True}),
    ('cycle_gan', 16, 'train', {'amp': 'bf16'}),
    ('cycle_gan', 1, 'train', {}),
    ('pix2pix', 16, 'test', {'amp': 'fp16', 'channels_last': True}),
    ('stochastic', 16, 'train', {'channels_last': True}),
    ('liss', 4, 'train', {}),
])
def test_gpu_rows_follow_the_h200_measurements(model, batch, phase, expected):
    opt = SimpleNamespace(model=model, device=torch.device('cuda'), batch_size=batch, netG='unet_256')
    choice, dropped = fast.choose(opt, phase)
    assert choice.options == expected and dropped == ()


def test_the_test_model_is_judged_by_its_generator():
    assert fast.family_of(SimpleNamespace(model='test', netG='unet_256')) == 'pix2pix'
    assert fast.family_of(SimpleNamespace(model='test', netG='resnet_9blocks')) == 'cycle_gan'
    assert fast.family_of(SimpleNamespace(model='test', netG='blobgan')) is None


def test_docs_show_the_choice_table():
    with open(os.path.join(ROOT, 'docs', 'speed.md')) as f:
        text = f.read()
    missing = [row for row in fast.markdown_rows() if row not in text]
    assert not missing, 'docs/speed.md lacks these rows of options/fast.py (paste them):\n' + '\n'.join(missing)


def test_the_app_and_export_loader_take_the_same_choice(tmp_path, native_bf16, capsys):
    """app.py and tools/export.py load a run through load_trained_model: --fast picks the inference row there too,
    and the loaded generator runs with it."""
    from options.inference_options import load_trained_model
    from tiny_runs import make_run
    ck = make_run(str(tmp_path), 'p2p')
    opt, model = load_trained_model(['--name', 'p2p', '--checkpoints_dir', ck, '--gpu_ids', '-1', '--fast'])
    assert (opt.amp, opt.channels_last) == ('bf16', True)
    assert '--fast (pix2pix on the CPU, test)' in capsys.readouterr().err
    model.set_input({'A': torch.zeros(1, 3, 32, 32), 'B': torch.zeros(1, 3, 32, 32), 'A_paths': ['a'], 'B_paths': ['b']})
    model.test()
    assert model.fake_B.shape == (1, 3, 32, 32) and torch.isfinite(model.fake_B.float()).all()
