"""Resume, options and results through the real command line (issue 12): one table row per case, each run as a
subprocess of train.py / test.py on a copy of one tiny trained run, checking the exit status, the one line on
stderr (no traceback), what was printed and which files must stay unchanged.

Plus the bit-identical extension test: a 1-epoch run extended to 3 epochs equals, bit for bit, a run started
with the extended options (uninterrupted, and interrupted after epoch 1), same seed.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
import yaml
from PIL import Image

from conftest import ROOT, run_train

TINY = ['--gpu_ids', '-1', '--load_size', '32', '--crop_size', '32', '--num_threads', '0', '--display_id', '0',
        '--netG', 'resnet_2blocks', '--ngf', '8', '--ndf', '8']
# the trained run every case starts from: 1 epoch of 4 images, states at images 2 and 4 (iter_2, iter_4), 1, latest
BASE = TINY + ['--model', 'pix2pix', '--seed', '3', '--max_dataset_size', '4', '--print_freq', '1',
               '--display_freq', '0', '--n_epochs', '1', '--n_epochs_decay', '0', '--save_by_iter',
               '--save_latest_freq', '2', '--save_epoch_freq', '1']


def cli(script, args, env=None):
    """Run script as a user would (stdin is no terminal, so nothing prompts)."""
    return subprocess.run([sys.executable, script] + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))


def snapshot(folder):
    """{relative path: sha1} of every file under folder (empty when it does not exist)."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, folder)] = hashlib.sha1(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def base_run(tmp_path_factory, paired_root):
    ck = tmp_path_factory.mktemp('base_ck')
    out = cli('train.py', ['--dataroot', paired_root, '--checkpoints_dir', ck, '--name', 'run'] + BASE)
    assert out.returncode == 0, out.stderr
    return str(ck / 'run')


# ------------------------------------------------------------------------------------------------ case helpers

def mixed_size_root(case_dir):
    """An aligned dataset whose two pairs have different sizes (32 and 40 px)."""
    root = os.path.join(case_dir, 'mixed')
    os.makedirs(os.path.join(root, 'train'))
    for i, side in enumerate((32, 40)):
        Image.new('RGB', (2 * side, side), (40 * i, 90, 200)).save(os.path.join(root, 'train', f'{i}.png'))
    return root


def write_config(case_dir, values):
    path = os.path.join(case_dir, 'config.yaml')
    with open(path, 'w') as f:
        f.write(values)
    return path


def truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 3])


class Pickled:
    """An object torch would have to unpickle (run code) to load."""


def loss_lines(stdout, epoch):
    return len(re.findall(rf'\(epoch: {epoch}, iters:', stdout))


def check_rest_of_epoch_seen(case):
    # images 3 and 4 of epoch 1 in one batch (before: batch 1 at size 4 started past the end, 0 batches)
    assert loss_lines(case['stdout'], 1) == 1
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    assert state['epoch'] == 2 and state['epoch_samples'] == 0


def check_extended(case):
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    assert state['epoch'] == 4 and state['schedule']['n_epochs'] == 2
    with open(os.path.join(case['run'], 'train_opt.yaml')) as f:
        saved = yaml.safe_load(f)
    assert not {'continue_train', 'epoch', 'load_iter', 'overwrite'} & set(saved)  # a valid --config (item 9)


def check_lr_used(case):
    with open(os.path.join(case['run'], 'train_opt.yaml')) as f:
        assert yaml.safe_load(f)['lr'] == 0.001
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    assert state['optimizers'][0]['param_groups'][0]['initial_lr'] == pytest.approx(0.001)


def check_new_betas(case):
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    assert all(group['betas'][0] == 0.9 for o in state['optimizers'] for group in o['param_groups'])
    assert state['schedule']['lr_policy'] == 'cosine' and state['schedulers'][0]['T_max'] == 2


def check_history_cut(case):
    with open(os.path.join(case['run'], 'web', 'loss_history.jsonl')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    iters = [r['iters'] for r in records]
    xs = [r['x'] for r in records]
    assert iters == [1, 2, 3, 4] and xs == sorted(xs)


def check_overwritten(case):
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    assert state['total_iters'] == 1 and state['epoch'] == 2


def check_fresh_from_config(case):
    assert os.path.isfile(os.path.join(case['ck'], 'fresh', 'latest_train_state.pth'))


def check_nothing_created(name):
    def check(case):
        assert not os.path.exists(os.path.join(case['ck'], name))
    return check


def plugin_env(case_dir):
    with open(os.path.join(case_dir, 'broken_plugin.py'), 'w') as f:
        f.write('import os\nimport a_dependency_that_is_not_installed\n')
    return {'ZOO_PLUGINS': 'broken_plugin', 'PYTHONPATH': case_dir}


def interrupt_plugin(case_dir):
    """A plugin that makes the second translated batch raise KeyboardInterrupt, as Ctrl-C there would."""
    with open(os.path.join(case_dir, 'ctrl_c_plugin.py'), 'w') as f:
        f.write('from models.base_model import BaseModel\n'
                'calls = []\n'
                'real_test = BaseModel.test\n'
                'def test(self):\n'
                '    calls.append(1)\n'
                '    if len(calls) == 2:\n'
                '        raise KeyboardInterrupt\n'
                '    return real_test(self)\n'
                'BaseModel.test = test\n')
    return {'ZOO_PLUGINS': 'ctrl_c_plugin', 'PYTHONPATH': case_dir}


def stale_results(case_dir):
    """Images and scores an earlier test.py run left in the results folder."""
    images = os.path.join(case_dir, 'res', 'run', 'test_latest', 'images')
    os.makedirs(images)
    for suffix in ('fake_B', 'real_B'):
        noise = torch.randint(0, 256, (32, 32, 3), generator=torch.Generator().manual_seed(len(suffix))).numpy()
        Image.fromarray(noise.astype('uint8')).save(os.path.join(images, f'zz_old_{suffix}.png'))
    with open(os.path.join(case_dir, 'res', 'run', 'test_latest', 'metrics.json'), 'w') as f:
        f.write('{"psnr": 1.0}')


def check_scored_alone(case):
    from metrics.results import score_images
    page_dir = os.path.join(case['dir'], 'res', 'run', 'test_latest')
    assert sorted(os.listdir(os.path.join(page_dir, 'images'))) == ['1_fake_B.png', '1_real_A.png', '1_real_B.png']
    clean = os.path.join(case['dir'], 'clean', 'images')
    shutil.copytree(os.path.join(page_dir, 'images'), clean)
    with open(os.path.join(page_dir, 'metrics.json')) as f:
        assert json.load(f)['psnr'] == pytest.approx(score_images(os.path.dirname(clean), 'psnr')['psnr'], abs=1e-9)
    assert open(os.path.join(page_dir, 'index.html')).read().count('<td style="padding: 4px; word-wrap') == 1


def check_partial_page(case):
    page = open(os.path.join(case['dir'], 'res', 'run', 'test_latest', 'index.html')).read()
    assert '1_fake_B.png' in page and '2_fake_B.png' not in page


def special_names_root(case_dir):
    root = os.path.join(case_dir, 'special')
    os.makedirs(root)
    for i, name in enumerate(('a#1', 'b%41', 'c?d', 'é')):
        Image.new('RGB', (36, 36), (60 * i, 20, 90)).save(os.path.join(root, f'{name}.png'))
    return ['--dataroot', root]


def check_special_links(case):
    page_dir = os.path.join(case['dir'], 'res', 'run', 'test_latest')
    page = open(os.path.join(page_dir, 'index.html'), encoding='utf-8').read()
    assert '<meta charset="utf-8">' in page
    for raw, encoded in (('a#1', 'a%231'), ('b%41', 'b%2541'), ('c?d', 'c%3Fd'), ('é', '%C3%A9')):
        assert f'href="images/{encoded}_fake.png"' in page, raw
        with Image.open(os.path.join(page_dir, 'images', f'{raw}_fake.png')) as im:
            assert im.size == (32, 32)  # --model test takes the crop size of the run (item 15)


def gray_weights(case_dir):
    from models import networks
    os.makedirs(os.path.join(case_dir, 'ck', 'gray'))
    net = networks.define_G(3, 1, 8, 'resnet_2blocks', norm='instance', use_dropout=False)
    torch.save(net.state_dict(), os.path.join(case_dir, 'ck', 'gray', 'latest_net_G.pth'))
    special_names_root(case_dir)
    return ['--name', 'gray', '--dataroot', os.path.join(case_dir, 'special')]


def check_gray_outputs(case):
    images = os.path.join(case['dir'], 'res', 'gray', 'test_latest', 'images')
    with Image.open(os.path.join(images, 'é_fake.png')) as fake, Image.open(os.path.join(images, 'é_real.png')) as real:
        assert fake.mode == 'L' and real.mode == 'RGB'


def check_iteration_title(case):
    page = open(os.path.join(case['dir'], 'res', 'run', 'test_latest_iter2', 'index.html')).read()
    assert 'Iteration = 2' in page and 'Epoch = latest' not in page


def check_plateau_metric(case):
    state = torch.load(os.path.join(case['run'], 'latest_train_state.pth'), weights_only=True)
    scheduler = state['schedulers'][0]
    assert scheduler['last_epoch'] == 1 and 0 < scheduler['best'] < float('inf')  # a loss, not the constant 0


TRAIN, TEST = 'train.py', 'test.py'
# Each case: script, extra arguments ({run} and {ck} are filled in), expected exit status, the regex the single
# stderr line must match (None: stderr must hold no line), regexes stdout must match, whether the run folder
# must stay byte-identical, an optional setup(case_dir) -> extra args or env, and an optional check(case).
CASES = {
    '01_extend_recomputes_lr': dict(
        script=TRAIN, args=['--continue_train', '--n_epochs', 2, '--n_epochs_decay', 1], rc=0, err=None,
        out=[r'resuming with changed schedule options: --n_epochs 1 -> 2, --n_epochs_decay 0 -> 1 \(the run ends '
             r'after epoch 3 instead of 1',
             r'resumed from latest: epoch 2.*learning rate 0\.0002000', r'learning rate 0\.0002000 -> 0\.0001000',
             r'learning rate 0\.0001000 -> 0\.0000000'],
        check=check_extended),
    '02_changed_lr_is_used': dict(
        script=TRAIN, args=['--continue_train', '--epoch', 1, '--lr', 0.001, '--n_epochs_decay', 1], rc=0, err=None,
        out=[r'--lr 0\.0002 -> 0\.001 \(every learning rate x5\)', r'learning rate 0\.0005000 -> 0\.0000000'],
        check=check_lr_used),
    '02b_changed_policy_and_beta1': dict(
        script=TRAIN, args=['--continue_train', '--epoch', 1, '--n_epochs_decay', 1, '--lr_policy', 'cosine',
                            '--beta1', 0.9], rc=0, err=None,
        out=[r'--lr_policy linear -> cosine \(learning rates follow the cosine schedule',
             r"--beta1 0\.5 -> 0\.9 \(the optimizers' momentum term",
             r'resumed from 1: epoch 2.*learning rate 0\.0001000'],  # cosine over 2 epochs, 1 step in: lr / 2
        check=check_new_betas),
    '03_batch_size_change_resumes_at_the_image': dict(
        script=TRAIN, args=['--continue_train', '--load_iter', 2, '--batch_size', 4], rc=0, err=None,
        out=[r'resumed from iter_2: epoch 1, batch 1 of the epoch \(image 2\)',
             r'--batch_size 1 -> 4 \(resumes at image 3 of the epoch'],
        check=check_rest_of_epoch_seen),
    '04_rejected_resume_writes_nothing': dict(
        script=TRAIN, args=['--continue_train', '--ngf', 16], rc=2, err=r'^error: .*trained with --ngf 8.*--ngf 16',
        unchanged=True),
    '04b_late_check_refused_before_writing': dict(
        script=TRAIN, args=['--continue_train', '--n_epochs', 2, '--save_best', 'metric:fid'], rc=2,
        err=r'^error: --save_best metric:fid needs --eval_freq N and fid in --eval_metrics$', unchanged=True),
    '05_finished_schedule_does_nothing': dict(
        script=TRAIN, args=['--continue_train', '--epoch', 1], rc=0,
        err=r"^nothing to train: checkpoint '1' is at the end of epoch 1 and --n_epochs 1 --n_epochs_decay 0 end at "
            r"epoch 1; "
            r"nothing was written", unchanged=True),
    '06_history_cut_at_resume_point': dict(
        script=TRAIN, args=['--continue_train', '--load_iter', 2], rc=0, err=None, out=[r'resumed from iter_2'],
        check=check_history_cut),
    '07_existing_name_refused': dict(
        script=TRAIN, args=[], rc=2, err=r'^error: .*already holds a trained run \(saved: 1, iter_2, iter_4, latest\); '
                                         r'add --continue_train .* --overwrite', unchanged=True),
    '07b_overwrite_starts_over': dict(
        script=TRAIN, args=['--overwrite', '--max_dataset_size', 1], rc=0, err=None, check=check_overwritten),
    '08_config_float_for_int': dict(
        script=TRAIN, args=['--name', 'cfg'], setup=lambda d: ['--config', write_config(d, 'n_epochs: 1.5\n')], rc=2,
        err=r'^error: --config .*: n_epochs must be an integer, not 1\.5$', check=check_nothing_created('cfg')),
    '08b_config_null': dict(
        script=TRAIN, args=['--name', 'cfg'], setup=lambda d: ['--config', write_config(d, 'n_epochs: null\n')], rc=2,
        err=r'^error: --config .*: n_epochs is null', check=check_nothing_created('cfg')),
    '08c_config_bad_boolean': dict(
        script=TRAIN, args=['--name', 'cfg'], setup=lambda d: ['--config', write_config(d, 'no_flip: maybe\n')], rc=2,
        err=r'^error: --config .*: no_flip must be true or false', check=check_nothing_created('cfg')),
    '09_saved_options_are_a_config': dict(
        script=TRAIN, args=['--config', '{run}/train_opt.yaml', '--name', 'fresh', '--max_dataset_size', 1], rc=0,
        err=None, check=check_fresh_from_config),
    '10a_crop_larger_than_load': dict(
        script=TRAIN, args=['--name', 'x', '--crop_size', 128, '--load_size', 64], rc=2,
        err=r'^error: --crop_size 128 is larger than --load_size 64', check=check_nothing_created('x')),
    '10b_load_size_zero': dict(
        script=TRAIN, args=['--name', 'x', '--load_size', 0], rc=2, err=r'^error: --load_size must be at least 1',
        check=check_nothing_created('x')),
    '10c_negative_epochs': dict(
        script=TRAIN, args=['--name', 'x', '--n_epochs', -2], rc=2, err=r'^error: --n_epochs must be 0 or more',
        check=check_nothing_created('x')),
    '10d_unet_too_deep_for_the_crop': dict(
        script=TRAIN, args=['--name', 'x', '--netG', 'unet_256'], rc=2,
        err=r'^error: --netG unet_256 .* needs --crop_size 256 or a multiple of it, not 32; .* use --netG unet_32',
        check=check_nothing_created('x')),
    '10e_mixed_sizes_in_a_batch': dict(
        script=TRAIN, args=['--name', 'mixed', '--preprocess', 'none', '--batch_size', 2, '--serial_batches'],
        setup=lambda d: ['--dataroot', mixed_size_root(d)], rc=2,
        err=r'^error: images of different sizes cannot share a batch \(0\.png 32x32, 1\.png 40x40\).*--batch_size 1'),
    '10f_num_test_zero': dict(
        script=TEST, args=['--num_test', 0], rc=2, err=r'^error: --num_test must be at least 1', unchanged=True),
    '10g_num_test_negative': dict(
        script=TEST, args=['--num_test', -3], rc=2, err=r'^error: --num_test must be at least 1', unchanged=True),
    '10h_truncated_checkpoint': dict(
        script=TEST, args=[], setup=lambda d: truncate(os.path.join(d, 'ck', 'run', 'latest_net_G.pth')), rc=2,
        err=r"^error: '.*latest_net_G\.pth' is not a readable checkpoint \(truncated or corrupt", unchanged=True),
    '10i_truncated_training_state': dict(
        script=TRAIN, args=['--continue_train'],
        setup=lambda d: truncate(os.path.join(d, 'ck', 'run', 'latest_train_state.pth')), rc=2,
        err=r"^error: '.*latest_train_state\.pth' is not a readable checkpoint", unchanged=True),
    '10j_pickled_checkpoint': dict(
        script=TEST, args=[], setup=lambda d: torch.save({'x': Pickled()}, os.path.join(d, 'ck', 'run',
                                                                                        'latest_net_G.pth')),
        rc=2, err=r"^error: '.*latest_net_G\.pth' holds pickled Python objects.*refuses to run code from checkpoints",
        unchanged=True),
    '10k_plugin_whose_import_fails': dict(
        script=TRAIN, args=['--name', 'x'], setup=plugin_env, rc=2,
        err=r"^error: ZOO_PLUGINS module 'broken_plugin' was found, but its own import of "
            r"'a_dependency_that_is_not_installed' failed .*broken_plugin\.py:2\)$", check=check_nothing_created('x')),
    '11_metrics_score_only_this_run': dict(
        script=TEST, args=['--num_test', 1, '--metrics', 'psnr'], setup=stale_results, rc=0, err=None,
        out=[r'removed 2 image\(s\) an earlier run left', r'metrics: psnr='], check=check_scored_alone),
    '12_ctrl_c_writes_the_page_so_far': dict(
        script=TEST, args=['--num_test', 3], setup=interrupt_plugin, rc=130,
        err=r'^interrupted after 1 image\(s\): the results page shows those$', out=[r'results page: '],
        check=check_partial_page),
    '13_links_encoded_and_charset': dict(
        script=TEST, args=['--model', 'test', '--dataset_mode', 'single'], setup=special_names_root, rc=0, err=None,
        check=check_special_links),
    '14_single_channel_outputs': dict(
        script=TEST, args=['--model', 'test', '--netG', 'resnet_2blocks', '--ngf', 8, '--norm', 'instance',
                           '--no_dropout', '--output_nc', 1, '--crop_size', 32], setup=gray_weights, rc=0, err=None,
        check=check_gray_outputs),
    '15a_iteration_in_page_title': dict(
        script=TEST, args=['--load_iter', 2, '--num_test', 1], rc=0, err=None, check=check_iteration_title),
    '15b_plateau_steps_on_the_generator_loss': dict(
        script=TRAIN, args=['--overwrite', '--lr_policy', 'plateau', '--max_dataset_size', 2], rc=0, err=None,
        out=[r"--lr_policy plateau: learning rates drop x0\.2 when the epoch's mean generator loss"],
        check=check_plateau_metric),
}
if not torch.cuda.is_available():
    CASES['10l_gpu_requested_without_gpu'] = dict(
        script=TEST, args=['--gpu_ids', 0, '--num_test', 1], rc=0,
        err=r'^note: no CUDA GPU is available, so this runs on the CPU \(--gpu_ids 0 ignored', out=[r'results page'])


@pytest.mark.parametrize('case_id', sorted(CASES))
def test_cli_case(case_id, base_run, paired_root, tmp_path):
    spec = CASES[case_id]
    ck = tmp_path / 'ck'
    shutil.copytree(base_run, ck / 'run')
    case = {'ck': str(ck), 'run': str(ck / 'run'), 'dir': str(tmp_path)}
    extra, env = [], None
    if spec.get('setup'):
        made = spec['setup'](str(tmp_path))
        if isinstance(made, dict):
            env = made
        elif made:
            extra = made
    before = snapshot(ck / 'run')
    if spec['script'] == TRAIN:
        args = ['--dataroot', paired_root, '--checkpoints_dir', ck, '--name', 'run'] + BASE
    else:
        args = ['--checkpoints_dir', ck, '--name', 'run', '--results_dir', tmp_path / 'res', '--gpu_ids', '-1']
    args += [str(a).format(**case) for a in spec['args']] + extra  # later flags win
    out = cli(spec['script'], args, env)
    assert out.returncode == spec['rc'], out.stdout[-2000:] + out.stderr
    assert 'Traceback' not in out.stderr
    lines = out.stderr.strip().splitlines()
    if spec['err'] is None:
        assert not lines, out.stderr
    else:
        assert len(lines) == 1, out.stderr
        assert re.search(spec['err'], lines[0]), lines[0]
    for pattern in spec.get('out', []):
        assert re.search(pattern, out.stdout), f'{pattern!r} not in:\n{out.stdout[-3000:]}'
    if spec.get('unchanged'):
        assert snapshot(ck / 'run') == before
    if spec.get('check'):
        case['stdout'] = out.stdout
        spec['check'](case)


# ------------------------------------------------------------------------------------------------ bit-identical

def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _assert_same(dir_a, dir_b):
    for net in ('G', 'D'):
        a, b = _weights(os.path.join(dir_a, f'latest_net_{net}.pth')), _weights(os.path.join(dir_b, f'latest_net_{net}.pth'))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (net, key)
    sa, sb = _weights(os.path.join(dir_a, 'latest_train_state.pth')), _weights(os.path.join(dir_b, 'latest_train_state.pth'))
    assert sa['epoch'] == sb['epoch'] and sa['total_iters'] == sb['total_iters']
    assert sa['schedulers'][0]['_last_lr'] == sb['schedulers'][0]['_last_lr']
    for oa, ob in zip(sa['optimizers'], sb['optimizers']):
        for key in oa['state']:
            for name, value in oa['state'][key].items():
                assert torch.equal(value, ob['state'][key][name]), (key, name)


def test_extending_a_finished_run_equals_the_extended_run(tmp_path, paired_root):
    """1 epoch (--n_epochs 1 --n_epochs_decay 0) extended to 3 (--n_epochs 2 --n_epochs_decay 1) equals, bit for
    bit, a run of the extended options, uninterrupted or interrupted after epoch 1 and resumed."""
    ck = tmp_path / 'ck'
    common = TINY + ['--model', 'pix2pix', '--seed', 11, '--max_dataset_size', 2, '--display_freq', 0,
                     '--print_freq', 1, '--dataroot', paired_root, '--checkpoints_dir', ck]
    short, extended = ['--n_epochs', 1, '--n_epochs_decay', 0], ['--n_epochs', 2, '--n_epochs_decay', 1]
    assert run_train(common + ['--name', 'ext'] + short) == 0
    assert _weights(ck / 'ext' / 'latest_train_state.pth')['schedulers'][0]['_last_lr'] == [0.0]
    assert run_train(common + ['--name', 'ext'] + extended + ['--continue_train']) == 0
    assert run_train(common + ['--name', 'ref', '--save_epoch_freq', 1] + extended) == 0
    os.makedirs(ck / 'int')
    for name in os.listdir(ck / 'ref'):
        if name.startswith('1_') or name.endswith('.yaml'):
            shutil.copy(ck / 'ref' / name, ck / 'int' / name)
    assert run_train(common + ['--name', 'int'] + extended + ['--continue_train', '--epoch', 1]) == 0
    _assert_same(ck / 'ref', ck / 'ext')
    _assert_same(ck / 'ref', ck / 'int')


# ------------------------------------------------------------------------------------------------ in-process units

def test_config_values_get_command_line_types_and_no_forms(tmp_path, paired_root):
    from options.train_options import TrainOptions
    config = tmp_path / 'c.yaml'
    config.write_text('no_flip: "false"\nserial_batches: true\nn_epochs: 3\nlr: 1\nmodel: pix2pix\n')
    opt = TrainOptions(['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path), '--config', str(config)]
                       ).parse(save=False)
    assert opt.no_flip is False and opt.serial_batches is True and opt.n_epochs == 3 and opt.lr == 1.0
    assert isinstance(opt.lr, float)
    opt = TrainOptions(['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path), '--config', str(config),
                        '--no_serial_batches', '--no_flip']).parse(save=False)
    assert opt.serial_batches is False and opt.no_flip is True
    opt = TrainOptions(['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path), '--no_flip', '--flip']
                       ).parse(save=False)
    assert opt.no_flip is False  # --flip undoes --no_flip


def test_existing_run_prompt_on_a_terminal(tmp_path, monkeypatch):
    from types import SimpleNamespace
    from training import run_folder
    from util.errors import OptionError
    os.makedirs(tmp_path / 'r')
    (tmp_path / 'r' / 'latest_net_G.pth').write_bytes(b'x')
    opt = lambda: SimpleNamespace(checkpoints_dir=str(tmp_path), name='r', continue_train=False, overwrite=False)  # noqa: E731
    for reply, attribute in (('c', 'continue_train'), ('overwrite', 'overwrite')):
        monkeypatch.setattr('builtins.input', lambda question: reply)
        o = opt()
        run_folder.check_existing_run(o, interactive=True)
        assert getattr(o, attribute) is True
    monkeypatch.setattr('builtins.input', lambda question: 'a')
    with pytest.raises(OptionError, match='--continue_train'):
        run_folder.check_existing_run(opt(), interactive=True)
    with pytest.raises(OptionError, match='--overwrite'):
        run_folder.check_existing_run(opt(), interactive=False)


# ------------------------------------------------------------------------------------------------ refused runs

def train_in_process(args, capsys):
    """train.py's main through run_cli, in this process: (exit status, stdout, stderr); an uncaught exception (a
    traceback on the command line) fails the test."""
    from util.cli import run_cli
    from util.util import load_script
    capsys.readouterr()
    try:
        status = run_cli(load_script('train').main, [str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


# checks that ran after the options and command were rewritten before (issue 21, item 1), and the optimizer item 2
REFUSED = {
    'save_best_unknown_loss': (['--save_best', 'loss:Q'], r'--save_best loss:Q: --model pix2pix has the losses G_GAN'),
    'save_best_metric_not_evaluated': (['--save_best', 'metric:fid'],
                                       r'--save_best metric:fid needs --eval_freq N and fid in --eval_metrics'),
    'unknown_eval_metric': (['--eval_metrics', 'foo', '--eval_freq', 1], r"unknown metric 'foo'"),
    'missing_eval_phase': (['--eval_freq', 1, '--eval_phase', 'nonexist'], r"no held-out split '.*nonexist'"),
    'missing_fidelity_weights': (['--fidelity_weights', 'missing.pth', '--eval_freq', 1, '--eval_metrics', 'fid'],
                                 r"Inception weights file 'missing\.pth' not found"),
    'other_optimizer': (['--optimizer', 'sgd'],
                        r'trained with --optimizer adam \(Adam\), whose state does not fit this run\'s --optimizer '
                        r'sgd \(SGD\); resume with --optimizer adam, or train with --optimizer sgd from scratch'),
}


@pytest.mark.parametrize('case_id,resume', [(c, r) for c in sorted(REFUSED) for r in (True, False)
                                            if r or c != 'other_optimizer'])  # a new run may use any optimizer
def test_refused_run_writes_nothing(case_id, resume, base_run, paired_root, tmp_path, capsys):
    """Each refusal is one line on stderr with exit status 2, before the first write: a resumed run's folder stays
    byte-identical (a resume given only --name and --continue_train starts from the saved options), a new run's
    folder is not created."""
    extra, message = REFUSED[case_id]
    ck = tmp_path / 'ck'
    shutil.copytree(base_run, ck / 'run')
    before = snapshot(ck / 'run')
    if resume:
        args = ['--checkpoints_dir', ck, '--name', 'run', '--gpu_ids', -1, '--continue_train', '--n_epochs', 2]
    else:
        args = ['--dataroot', paired_root, '--checkpoints_dir', ck, '--name', 'new'] + BASE
    status, _, err = train_in_process(args + extra, capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert lines[0].startswith('error: ') and re.search(message, lines[0]), lines[0]
    assert snapshot(ck / 'run') == before
    assert not (ck / 'new').exists()


def test_resume_from_the_saved_options_with_changes(base_run, tmp_path, capsys):
    """--name RUN --continue_train alone resumes from train_opt.yaml; a flag on the command line is a change,
    reported like any other; adam -> adamw carries the moments over and takes adamw's own settings."""
    ck = tmp_path / 'ck'
    shutil.copytree(base_run, ck / 'run')
    with open(ck / 'run' / 'train_opt.yaml') as f:
        saved = yaml.safe_load(f)
    status, out, err = train_in_process(['--checkpoints_dir', ck, '--name', 'run', '--gpu_ids', -1, '--continue_train',
                                         '--n_epochs', 2, '--optimizer', 'adamw'], capsys)
    assert status == 0 and not err.strip(), err
    assert re.search(r'resuming with changed schedule options: --n_epochs 1 -> 2 .*; --optimizer adam -> adamw '
                     r'\(the moment estimates carry over', out), out
    with open(ck / 'run' / 'train_opt.yaml') as f:
        now = yaml.safe_load(f)
    assert {k for k in now if now[k] != saved.get(k)} == {'n_epochs', 'optimizer', 'checkpoints_dir'}
    state = torch.load(ck / 'run' / 'latest_train_state.pth', weights_only=True)
    assert state['epoch'] == 3 and state['optimizer_types'] == ['AdamW', 'AdamW']
    assert all(g['decoupled_weight_decay'] for o in state['optimizers'] for g in o['param_groups'])


def test_best_checkpoint_cut_at_the_resume_point(base_run, paired_root, tmp_path, capsys):
    """A best recorded after the checkpoint a run resumes from belongs to the abandoned continuation: best.json and
    best_net_*.pth go, so test.py --epoch best cannot pick those networks."""
    ck = tmp_path / 'ck'
    shutil.copytree(base_run, ck / 'run')
    resume = ['--checkpoints_dir', ck, '--name', 'run', '--gpu_ids', -1, '--continue_train', '--load_iter', 2]
    assert train_in_process(resume + ['--save_best', 'loss:G_L1'], capsys)[0] == 0  # best at the end of epoch 1
    with open(ck / 'run' / 'best.json') as f:
        assert json.load(f)['total_iters'] == 4
    status, out, _ = train_in_process(resume + ['--save_best', 'none'], capsys)
    assert status == 0 and 'best.json recorded epoch 1, after the resumed checkpoint: removed it' in out
    assert not [f for f in os.listdir(ck / 'run') if f.startswith('best')]
