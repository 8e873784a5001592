"""Option parsing: config files, precedence, saved training options, unknown names, help, plugins."""
import os
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import ROOT, TINY_PIX2PIX
from options.base_options import OptionError
from options.test_options import TestOptions
from options.train_options import TrainOptions


def parse_train(args):
    return TrainOptions([str(a) for a in args]).parse()


def test_model_defaults_and_model_options(tmp_path, paired_root):
    opt = parse_train(['--dataroot', paired_root, '--model', 'pix2pix', '--checkpoints_dir', tmp_path])
    assert (opt.netG, opt.norm, opt.gan_mode, opt.lambda_L1, opt.dataset_mode) == ('unet_256', 'batch', 'vanilla', 100.0, 'aligned')
    opt = parse_train(['--dataroot', paired_root, '--model', 'cycle_gan', '--checkpoints_dir', tmp_path])
    assert (opt.netG, opt.norm, opt.gan_mode, opt.lambda_A, opt.lambda_identity, opt.pool_size, opt.no_dropout) == \
        ('resnet_9blocks', 'instance', 'lsgan', 10.0, 0.5, 50, True)


def test_config_file_and_command_line_precedence(tmp_path, paired_root):
    config = tmp_path / 'run.yaml'
    config.write_text(yaml.safe_dump({'model': 'pix2pix', 'ngf': 16, 'lambda_L1': 50.0, 'netG': 'unet_32'}))
    opt = parse_train(['--dataroot', paired_root, '--config', config, '--ngf', '8', '--checkpoints_dir', tmp_path])
    assert opt.model == 'pix2pix' and opt.ngf == 8 and opt.lambda_L1 == 50.0 and opt.netG == 'unet_32'
    json_config = tmp_path / 'run.json'
    json_config.write_text('{"model": "cycle_gan", "lambda_A": 3}')
    opt = parse_train(['--dataroot', paired_root, '--config', json_config, '--checkpoints_dir', tmp_path])
    assert opt.model == 'cycle_gan' and opt.lambda_A == 3.0


def test_config_with_unknown_option_is_an_error(tmp_path, paired_root, capsys):
    config = tmp_path / 'bad.yaml'
    config.write_text('model: pix2pix\nlambda_typo: 3\n')
    with pytest.raises(SystemExit):
        parse_train(['--dataroot', paired_root, '--config', config, '--checkpoints_dir', tmp_path])
    assert 'lambda_typo' in capsys.readouterr().err


def test_missing_config_file(tmp_path):
    with pytest.raises(OptionError, match='no such file'):
        parse_train(['--dataroot', tmp_path, '--config', tmp_path / 'nope.yaml'])


def test_unknown_model_lists_valid_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        parse_train(['--model', 'pix3pix'])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert 'pix3pix' in err and 'pix2pix' in err and 'cycle_gan' in err


def test_unknown_dataset_mode_lists_valid_ones(capsys):
    with pytest.raises(SystemExit):
        parse_train(['--dataset_mode', 'nope'])
    err = capsys.readouterr().err
    assert 'aligned' in err and 'unaligned' in err


def test_help_shows_the_model_options():
    out = subprocess.run([sys.executable, 'train.py', '--model', 'pix2pix', '--help'], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert '--lambda_L1' in out.stdout and '--lambda_identity' not in out.stdout


def test_saved_options_round_trip_and_are_marked(tmp_path, paired_root):
    opt = parse_train(['--dataroot', paired_root, '--name', 'rt', '--checkpoints_dir', tmp_path] + TINY_PIX2PIX)
    with open(tmp_path / 'rt' / 'train_opt.yaml') as f:
        saved = yaml.safe_load(f)
    for key in ('ngf', 'netG', 'lambda_L1', 'seed', 'model', 'dataroot', 'direction'):
        assert saved[key] == getattr(opt, key)
    text = (tmp_path / 'rt' / 'train_opt.txt').read_text()
    assert 'ngf: 8' in text.replace(' ', '').replace('ngf:8', 'ngf: 8') and '[default: 64]' in text
    # the saved YAML is a valid --config for the same run
    again = parse_train(['--config', tmp_path / 'rt' / 'train_opt.yaml', '--name', 'rt2', '--checkpoints_dir', tmp_path])
    assert again.ngf == 8 and again.seed == opt.seed and again.netG == 'unet_32'


def test_test_options_reuse_the_training_architecture(tmp_path, paired_root):
    parse_train(['--dataroot', paired_root, '--name', 'arch', '--checkpoints_dir', tmp_path] + TINY_PIX2PIX)
    opt = TestOptions(['--name', 'arch', '--checkpoints_dir', str(tmp_path)]).parse()
    assert (opt.model, opt.ngf, opt.netG, opt.direction, opt.dataroot) == ('pix2pix', 8, 'unet_32', 'BtoA', paired_root)
    assert opt.load_size == opt.crop_size == 32  # test does not crop randomly
    opt = TestOptions(['--name', 'arch', '--checkpoints_dir', str(tmp_path), '--ngf', '4']).parse()
    assert opt.ngf == 4  # the command line still wins


def test_plugin_model_is_selectable(tmp_path, paired_root):
    plugin = tmp_path / 'my_zoo_plugin.py'
    plugin.write_text(textwrap.dedent('''
        from models import register_model
        from models.pix2pix_model import Pix2PixModel

        class MyModel(Pix2PixModel):
            @staticmethod
            def modify_commandline_options(parser, is_train=True):
                Pix2PixModel.modify_commandline_options(parser, is_train)
                parser.add_argument('--my_weight', type=float, default=7.0, help='plugin option')
                return parser

        register_model('my_model', MyModel)
    '''))
    env = dict(os.environ, ZOO_PLUGINS='my_zoo_plugin', PYTHONPATH=str(tmp_path))
    code = ('from options.train_options import TrainOptions; import sys; '
            'o = TrainOptions(sys.argv[1:]).parse(); print("MODEL", o.model, o.my_weight)')
    out = subprocess.run([sys.executable, '-c', code, '--model', 'my_model', '--dataroot', paired_root,
                          '--checkpoints_dir', str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'MODEL my_model 7.0' in out.stdout


def test_plugin_that_cannot_be_imported_is_a_clear_error(tmp_path, paired_root):
    env = dict(os.environ, ZOO_PLUGINS='no_such_plugin_module')
    out = subprocess.run([sys.executable, 'train.py', '--dataroot', paired_root, '--checkpoints_dir', str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith('error: ZOO_PLUGINS names')
    assert 'Traceback' not in out.stderr


def _parser_for(options_class, args):
    options = options_class([str(a) for a in args])
    options.gather_options()
    return options.parser


def test_every_option_of_every_model_and_dataset_mode_has_help(tmp_path):
    import data
    import models
    parsers = []
    for model in models.model_names():
        if model != 'test':
            parsers.append((f'train --model {model}', _parser_for(TrainOptions, ['--model', model, '--dataroot', tmp_path])))
        parsers.append((f'test --model {model}', _parser_for(TestOptions, ['--model', model, '--dataroot', tmp_path,
                                                                          '--checkpoints_dir', tmp_path])))
    for mode in data.dataset_names():
        parsers.append((f'--dataset_mode {mode}', _parser_for(TrainOptions, ['--dataset_mode', mode, '--dataroot', tmp_path])))
    for where, parser in parsers:
        undocumented = [a.dest for a in parser._actions if not (a.help and a.help.strip())]
        assert not undocumented, f'{where}: options without help: {undocumented}'
