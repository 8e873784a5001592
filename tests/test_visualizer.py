"""Visualizer backends (HTML, visdom, comet), results pages and reproducibility files.

Real services only: a visdom server is started on 127.0.0.1 at a free port, comet writes a real offline
archive, and (when Debian's chromium is installed) the results page is rendered headless.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import ROOT, TINY_PIX2PIX, run_test, run_train
from util import html, reproducibility
from util.visdom_server import free_port, local_visdom_server
from visualizers import (Backend, Visualizer, VisdomBackend, aggregate_losses, decimate,
                             losses_for_level, smooth)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
LOSS_NAMES = ['G_GAN', 'G_L1', 'D_real', 'D_fake']


def train_args(root, ck, name, *extra):
    return ['--dataroot', root, '--checkpoints_dir', ck, '--name', name, *TINY_PIX2PIX, '--n_epochs', '1',
            '--n_epochs_decay', '0', '--seed', '3', *extra]


def is_commit_of_this_checkout(commit):
    """HEAD or one of its ancestors (others may commit while the tests run)."""
    return bool(re.fullmatch(r'[0-9a-f]{40}', commit or '')) and subprocess.run(
        ['git', 'merge-base', '--is-ancestor', commit, 'HEAD'], cwd=ROOT, capture_output=True).returncode == 0


def fake_opt(tmp_path, **kw):
    """The options a Visualizer reads, without parsing a command line."""
    opt = dict(name='unit', checkpoints_dir=str(tmp_path), isTrain=True, rank=0, no_html=False, display_id=0,
               display_server='http://127.0.0.1', display_port=1, display_env='main', display_ncols=4,
               display_winsize=64, html_page_size=3, plot_smoothing=0.0, continue_train=False, comet=False,
               comet_offline=False, comet_project=None, comet_workspace=None, comet_tags='', log_level=2)
    opt.update(kw)
    return SimpleNamespace(**opt)


def fake_visuals(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.rand(1, 3, 16, 16, generator=g) * 2 - 1 for k in ('real_A', 'fake_B', 'real_B')}


def img_sources(page):
    with open(page) as f:
        return re.findall(r'<img[^>]*\ssrc="([^"]+)"', f.read())


def assert_images_exist(page):
    """Every <img> of the page is a relative path to a file that exists; returns how many there are."""
    sources = img_sources(page)
    for src in sources:
        assert not os.path.isabs(src) and '://' not in src, f'{page}: {src} is not relative'
        assert os.path.isfile(os.path.join(os.path.dirname(page), src)), f'{page}: {src} is missing'
    return len(sources)


def assert_valid_png(path):
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_SIGNATURE
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.size[0] > 100 and im.size[1] > 100


# --------------------------------------------------------------------------------------- pure helpers


def test_log_levels_follow_the_omnigan_semantics():
    losses = {'G_GAN': 1.0, 'G_L1': 2.0, 'D_real': 0.5, 'D_fake': 0.25}
    assert aggregate_losses(losses) == {'G_total': 3.0, 'D_total': 0.75}
    assert losses_for_level(losses, 0) == {}
    assert losses_for_level(losses, 1) == {'G_total': 3.0, 'D_total': 0.75}
    assert losses_for_level(losses, 2) == {**losses, 'G_total': 3.0, 'D_total': 0.75}


def test_smoothing_and_decimation_bound_the_plot():
    y = np.array([0.0, 10.0, 0.0, 10.0])
    assert np.allclose(smooth(y, 0.0), y)
    s = smooth(y, 0.9)
    assert s[0] == 0.0 and np.ptp(s[1:]) < np.ptp(y)  # smoothed values swing less
    x, yy = decimate(np.arange(10_000), np.ones(10_000), 500)
    assert len(x) == 500 and np.allclose(yy, 1.0) and x[0] < x[-1]


def test_every_new_option_has_help_and_parses(paired_root, tmp_path):
    from options.train_options import TrainOptions
    parser_opts = TrainOptions(['--dataroot', paired_root, '--model', 'pix2pix'])
    opt = parser_opts.gather_options()
    mine = ['display_id', 'display_server', 'display_port', 'display_env', 'display_ncols', 'display_winsize',
            'html_page_size', 'plot_smoothing', 'comet', 'comet_offline', 'comet_project', 'comet_workspace',
            'comet_tags', 'log_level', 'display_freq', 'update_html_freq', 'no_html']
    actions = {a.dest: a for a in parser_opts.parser._actions}
    for name in mine:
        assert name in actions and actions[name].help and hasattr(opt, name), name
    assert opt.display_server == 'http://localhost' and opt.log_level == 2
    with pytest.raises(SystemExit):
        TrainOptions(['--dataroot', paired_root, '--model', 'pix2pix', '--log_level', '3']).gather_options()
    with pytest.raises(SystemExit):
        TrainOptions(['--dataroot', paired_root, '--model', 'pix2pix', '--plot_smoothing', '1.5']).gather_options()


# --------------------------------------------------------------------------------------- HTML training page


def test_html_page_stays_bounded_and_resumes(tmp_path):
    """index.html shows only the newest page of snapshots; full pages are frozen once; resume keeps both."""
    opt = fake_opt(tmp_path, html_page_size=3)
    vis = Visualizer(opt)
    assert vis.backend_names() == ['html']
    web = os.path.join(str(tmp_path), 'unit', 'web')
    sizes, history_mtimes = [], {}
    for i in range(1, 11):
        vis.plot_current_losses(1, i / 10, {'G_GAN': 1.0 / i, 'D_real': 0.5}, total_iters=i)
        vis.display_current_results(fake_visuals(i), 1, True, total_iters=i)
        sizes.append(os.path.getsize(os.path.join(web, 'index.html')))
        if i == 6:
            history_mtimes = {p: os.stat(os.path.join(web, p)).st_mtime_ns
                              for p in os.listdir(web) if p.startswith('history_')}
    vis.close()
    index = os.path.join(web, 'index.html')
    text = open(index).read()
    iters = [int(m) for m in re.findall(r'iteration \[(\d+)\]', text)]
    assert iters == [10, 9, 8]  # newest first, and only one page of them
    assert max(sizes[3:]) - min(sizes[3:]) < 200  # the page does not grow with the run
    histories = sorted(p for p in os.listdir(web) if p.startswith('history_'))
    assert histories == ['history_0001.html', 'history_0002.html', 'history_0003.html']
    assert [int(m) for m in re.findall(r'iteration \[(\d+)\]', open(os.path.join(web, histories[0])).read())] \
        == [3, 2, 1]
    for page, mtime in history_mtimes.items():  # frozen pages are written once
        assert os.stat(os.path.join(web, page)).st_mtime_ns == mtime
    for page in [index] + [os.path.join(web, h) for h in histories]:
        assert assert_images_exist(page) >= 9
    assert 'loss_plot.png' in img_sources(index)
    assert_valid_png(os.path.join(web, 'loss_plot.png'))

    resumed = Visualizer(fake_opt(tmp_path, html_page_size=3, continue_train=True))
    html_backend = resumed.backends[0]
    assert html_backend.count == 10 and len(html_backend.loss_x['G_GAN']) == 10
    resumed.display_current_results(fake_visuals(11), 2, True, total_iters=11)
    resumed.close()
    assert [int(m) for m in re.findall(r'iteration \[(\d+)\]', open(index).read())] == [11, 10, 9]


def test_html_updates_follow_update_html_freq_and_first_display_of_epoch(tmp_path):
    vis = Visualizer(fake_opt(tmp_path))
    backend = vis.backends[0]
    vis.reset()
    vis.display_current_results(fake_visuals(), 1, False, total_iters=1)  # first of the epoch: saved
    vis.display_current_results(fake_visuals(), 1, False, total_iters=2)  # not an html step: skipped
    vis.display_current_results(fake_visuals(), 1, True, total_iters=3)
    assert backend.count == 2
    assert not Visualizer(fake_opt(tmp_path, no_html=True, name='nohtml')).backends


def test_a_failing_backend_is_reported_once_and_the_others_go_on(tmp_path, capsys):
    class Broken(Backend):
        name = 'broken'
        calls = 0

        def wants_images(self, save):
            return True

        def display(self, *args):
            Broken.calls += 1
            raise RuntimeError('disk on fire')

    vis = Visualizer(fake_opt(tmp_path))
    vis.backends.insert(0, Broken())
    for i in range(1, 4):
        vis.display_current_results(fake_visuals(i), 1, True, total_iters=i)
        vis.plot_current_losses(1, i / 4, {'G_GAN': 1.0}, total_iters=i)
    vis.close()
    err = capsys.readouterr().err
    assert err.count('broken failed (RuntimeError: disk on fire)') == 1 and Broken.calls == 1
    assert vis.backend_names() == ['html'] and vis.backends[0].count == 3


def test_a_registered_backend_plugs_in_with_its_options(tmp_path, monkeypatch):
    """One class with @register_backend: its options join the parser and it starts when enabled(opt) says so."""
    import argparse

    import visualizers
    from visualizers import base
    monkeypatch.setattr(base, 'BACKENDS', base.BACKENDS.copy())
    monkeypatch.setattr(visualizers.visualizer, 'BACKENDS', base.BACKENDS)

    @base.register_backend('recorder')
    class Recorder(Backend):
        @staticmethod
        def modify_commandline_options(parser):
            parser.add_argument('--recorder', action='store_true', help='record losses in memory')
            return parser

        @staticmethod
        def enabled(opt):
            return opt.recorder

        def __init__(self, opt):
            self.seen = []

        def losses(self, epoch, counter_ratio, losses, total_iters):
            self.seen.append((total_iters, dict(losses)))

    assert list(base.BACKENDS)[:3] == ['html', 'visdom', 'comet'] and base.backend_names()[-1] == 'recorder'
    parser = Visualizer.modify_commandline_options(argparse.ArgumentParser())
    assert parser.parse_args(['--recorder']).recorder and parser.parse_args([]).display_id == 1
    with pytest.raises(TypeError):
        base.register_backend('not_a_backend')(dict)
    assert Visualizer(fake_opt(tmp_path, no_html=True, recorder=False)).backend_names() == []
    vis = Visualizer(fake_opt(tmp_path, no_html=True, recorder=True))
    vis.plot_current_losses(1, 0.5, {'G_GAN': 2.0}, total_iters=7)
    assert vis.backend_names() == ['recorder'] and vis.backends[0].seen == [(7, {'G_GAN': 2.0})]


# --------------------------------------------------------------------------------------- training runs


@pytest.fixture(scope='module')
def trained(paired_root, tmp_path_factory):
    """One short run with the HTML page and visdom pointed at a closed port; then test.py on it."""
    ck = str(tmp_path_factory.mktemp('vis_ck'))
    results = str(tmp_path_factory.mktemp('vis_results'))
    assert run_train(train_args(paired_root, ck, 'pages', '--html_page_size', '2', '--display_winsize', '64',
                                '--display_port', free_port(), '--plot_smoothing', '0.5')) == 0
    assert run_test(['--dataroot', paired_root, '--checkpoints_dir', ck, '--name', 'pages', '--results_dir',
                     results, '--num_threads', '0', '--display_winsize', '64']) == 0
    return SimpleNamespace(ck=ck, exp=os.path.join(ck, 'pages'), results=os.path.join(results, 'pages', 'test_latest'))


def test_training_page_images_and_loss_plot(trained):
    web = os.path.join(trained.exp, 'web')
    index = os.path.join(web, 'index.html')
    assert assert_images_exist(index) == 1 + 2 * 3  # plot + two snapshots of real_A, fake_B, real_B
    assert_valid_png(os.path.join(web, 'loss_plot.png'))
    history = [json.loads(line) for line in open(os.path.join(web, 'loss_history.jsonl'))]
    assert len(history) == 6 and set(history[0]['losses']) == set(LOSS_NAMES)  # print_freq 1, 6 images
    for page in os.listdir(web):
        if page.endswith('.html'):
            assert_images_exist(os.path.join(web, page))


def test_reproducibility_files(trained):
    info = yaml.safe_load(open(os.path.join(trained.exp, 'run_info.yaml')))
    head = info['git']['commit']
    assert is_commit_of_this_checkout(head) and isinstance(info['git']['dirty'], bool)
    assert info['command'].startswith('python train.py ') and '--name pages' in info['command']
    for lib in ('python', 'torch', 'torchvision', 'numpy', 'Pillow'):
        assert info['versions'][lib]
    assert info['versions']['torch'].split('+')[0] == torch.__version__.split('+')[0]
    commands = open(os.path.join(trained.exp, 'command.txt')).read()
    assert info['command'] in commands and head in commands
    assert os.path.exists(os.path.join(trained.exp, 'git_diff.patch')) == info['git']['dirty']


def test_git_info_of_a_clean_and_a_dirty_checkout(tmp_path):
    repo = str(tmp_path)
    git = lambda *a: subprocess.run(['git', *a], cwd=repo, check=True, capture_output=True)
    git('init', '-q')
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x')
    open(os.path.join(repo, 'a.txt'), 'w').write('1\n')
    git('add', 'a.txt')
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'a')
    clean = reproducibility.git_info(repo)
    assert re.fullmatch(r'[0-9a-f]{40}', clean['commit']) and clean['dirty'] is False
    open(os.path.join(repo, 'a.txt'), 'w').write('2\n')
    open(os.path.join(repo, 'untracked.txt'), 'w').write('not code\n')
    dirty = reproducibility.git_info(repo)
    assert dirty['dirty'] is True and dirty['dirty_files'] == ['a.txt']
    assert '+2' in reproducibility.git_diff(repo)
    assert reproducibility.git_info(str(tmp_path / 'nowhere'))['commit'] is None


def test_results_page_table_and_metrics(trained):
    index = os.path.join(trained.results, 'index.html')
    assert assert_images_exist(index) == 3 * 3  # 3 test images x (real_A, fake_B, real_B)
    text = open(index).read()
    assert re.search(r'<th[^>]*>image</th>\s*<th[^>]*>real_A</th>\s*<th[^>]*>fake_B</th>\s*<th[^>]*>real_B</th>',
                     text)
    with open(os.path.join(trained.results, 'metrics.json'), 'w') as f:
        json.dump({'psnr': 21.123456, 'fid': {'value': 12.5}}, f)
    assert html.refresh_metrics(trained.results) is not None
    html.update_metrics_section(index, {'psnr': 22.0})  # replaces, never stacks
    text = open(index).read()
    assert text.count('metrics:begin') == 1 and '>psnr<' in text and '>22<' in text and 'fid.value' not in text
    page = html.HTML(str(trained.results) + '_copy', 'copy')
    page.add_metrics({'ssim': 0.5})
    page.save()
    assert '>ssim<' in open(os.path.join(page.web_dir, 'index.html')).read()


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var out = document.createElement('pre');
  out.textContent = 'IMGCHECK ' + ok + '/' + imgs.length;
  document.body.appendChild(out);
});
</script>"""


def loaded_images(page, profile):
    """(loaded, total) images of a page rendered by headless chromium (a copy with a checking script)."""
    probe = os.path.join(os.path.dirname(page), '_imgcheck.html')
    with open(page) as f:
        text = f.read()
    with open(probe, 'w') as f:
        f.write(text.replace('</body>', CHECK_SCRIPT + '</body>'))
    try:
        out = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
                              '--disable-background-networking', '--disable-component-update', '--disable-sync',
                              '--no-first-run', f'--user-data-dir={profile}', '--virtual-time-budget=10000',
                              '--dump-dom', 'file://' + os.path.abspath(probe)],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        os.remove(probe)
    match = re.search(r'IMGCHECK (\d+)/(\d+)', out)
    assert match, f'chromium printed no result: {out[-500:]}'
    return int(match.group(1)), int(match.group(2))


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (apt-get install -y chromium)')
def test_results_page_renders_in_headless_chromium(trained, tmp_path):
    index = os.path.join(trained.results, 'index.html')
    assert loaded_images(index, str(tmp_path / 'profile1')) == (9, 9)
    moved = str(tmp_path / 'moved')  # relative paths: the folder works anywhere
    shutil.copytree(trained.results, moved)
    os.remove(os.path.join(moved, 'images', os.listdir(os.path.join(moved, 'images'))[0]))
    assert loaded_images(os.path.join(moved, 'index.html'), str(tmp_path / 'profile2')) == (8, 9)  # check bites


# --------------------------------------------------------------------------------------- visdom


@pytest.fixture(scope='module')
def visdom_server(tmp_path_factory):
    """A real visdom server on 127.0.0.1 (started without its CDN script download, so no network is needed)."""
    with local_visdom_server(tmp_path_factory.mktemp('visdom_env')) as port:
        yield port


def test_no_visdom_server_warns_once_and_costs_nothing(paired_root, tmp_path, capsys, monkeypatch):
    """Training with visdom on but no server: one warning, and the visualizer's own time stays tiny."""
    spent = {'calls': 0, 'seconds': 0.0}

    def timed(method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent['calls'] += 1
                spent['seconds'] += time.perf_counter() - start
        return wrapper

    for name in ('__init__', 'display_current_results', 'plot_current_losses', 'close'):
        monkeypatch.setattr(Visualizer, name, timed(getattr(Visualizer, name)))
    port = free_port()  # nothing listens here
    base = train_args(paired_root, str(tmp_path), 'novis', '--no_html')
    start = time.perf_counter()
    assert run_train(base + ['--display_id', '0']) == 0
    t_off, off = time.perf_counter() - start, dict(spent)
    capsys.readouterr()
    spent.update(calls=0, seconds=0.0)
    start = time.perf_counter()
    assert run_train(base + ['--display_id', '1', '--display_port', port, '--name', 'novis2']) == 0
    t_dead = time.perf_counter() - start
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert len([line for line in output.splitlines() if 'warning' in line.lower() and 'visdom' in line]) == 1
    assert output.count('visdom: no server') == 1
    assert f'python -m visdom.server -port {port}' in output
    assert spent['calls'] == off['calls'] > 6  # the same calls as without visdom ...
    assert spent['seconds'] < off['seconds'] + 0.5, (off, spent)  # ... at (nearly) the same cost
    assert t_dead < 2 * t_off + 5.0, (t_off, t_dead)  # whole run: normal speed (loose: shared CI machines)


def test_a_hung_visdom_server_never_blocks_training(tmp_path, capsys, monkeypatch):
    """A server that accepts connections but never answers: calls return at once, the post times out in the
    background, and visdom is disabled with one warning."""
    monkeypatch.setattr(VisdomBackend, 'POST_TIMEOUT', 0.5)
    hung = socket.socket()
    hung.bind(('127.0.0.1', 0))
    hung.listen(16)  # the kernel completes connections; nobody ever reads or answers
    try:
        vis = Visualizer(fake_opt(tmp_path, no_html=True, display_id=1, display_port=hung.getsockname()[1]))
        assert vis.backend_names() == ['visdom']
        start = time.perf_counter()
        for i in range(1, 51):
            vis.display_current_results(fake_visuals(i), 1, True, total_iters=i)
            vis.plot_current_losses(1, i / 50, {'G_GAN': 1.0}, total_iters=i)
        assert time.perf_counter() - start < 1.0  # 50 iterations of logging, never waiting on the server
        deadline = time.time() + 20
        while vis.backends and time.time() < deadline:
            vis.plot_current_losses(1, 1.0, {'G_GAN': 1.0}, total_iters=51)
            time.sleep(0.1)
        assert vis.backends == []
        vis.close()
        err = capsys.readouterr().err
        assert err.count('visdom failed') == 1 and 'disabled' in err
    finally:
        hung.close()


# --------------------------------------------------------------------------------------- comet


@pytest.fixture
def no_comet_key(monkeypatch, tmp_path):
    """No API key anywhere comet_ml looks (environment, ./.comet.config, ~/.comet.config)."""
    for var in ('COMET_API_KEY', 'COMET_CONFIG', 'COMET_WORKSPACE', 'COMET_PROJECT_NAME'):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / 'home'
    home.mkdir()
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.chdir(home)


def comet_messages(archive):
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert 'messages.json' in names and 'experiment.json' in names
        messages = [json.loads(line) for line in z.read('messages.json').decode().splitlines() if line.strip()]
        return messages, json.loads(z.read('experiment.json'))


def test_comet_without_key_logs_offline_archive_with_metrics(paired_root, tmp_path, no_comet_key, capsys):
    ck = str(tmp_path / 'ck')
    assert run_train(train_args(paired_root, ck, 'cm', '--no_html', '--display_id', '0', '--comet',
                                '--comet_tags', 'unit,tiny', '--comet_project', 'zoo-tests')) == 0
    err = capsys.readouterr().err
    assert 'comet: no API key found' in err and 'comet upload' in err
    archives = [f for f in os.listdir(os.path.join(ck, 'cm', 'comet')) if f.endswith('.zip')]
    assert len(archives) == 1
    messages, experiment = comet_messages(os.path.join(ck, 'cm', 'comet', archives[0]))
    assert sorted(experiment['tags']) == ['tiny', 'unit'] and experiment['project_name'] == 'zoo-tests'
    metrics = {}
    for m in messages:
        if m['type'] == 'metric_msg':
            metric = m['payload']['metric']
            metrics.setdefault(metric['metricName'], []).append(metric['step'])
    for name in LOSS_NAMES + ['G_total', 'D_total']:  # --log_level 2: every loss and the totals
        assert metrics.get(name) == [1, 2, 3, 4, 5, 6], name
    params = {m['payload']['param']['paramName']: m['payload']['param']['paramValue']
              for m in messages if m['type'] == 'parameter_msg'}
    assert params['netG'] == 'unet_32' and params['name'] == 'cm'
    others = {m['payload']['key']: m['payload']['value'] for m in messages if m['type'] == 'log_other'}
    assert is_commit_of_this_checkout(others['git_commit']) and others['version_torch']
    images = [m for m in messages if m['type'] == 'file_upload' and m['payload']['upload_type'] == 'visualization']
    assert {m['payload']['additional_params']['figName'] for m in images} == {'real_A', 'fake_B', 'real_B'}


def test_comet_offline_flag_and_log_level_zero(tmp_path, no_comet_key, capsys):
    vis = Visualizer(fake_opt(tmp_path, no_html=True, comet_offline=True, log_level=0))
    assert vis.backend_names() == ['comet']
    vis.plot_current_losses(1, 0.5, {'G_GAN': 1.0, 'D_real': 2.0}, total_iters=1)
    vis.display_current_results(fake_visuals(), 1, True, total_iters=1)
    vis.close()
    err = capsys.readouterr().err
    assert 'no API key' not in err  # offline was asked for: no complaint
    folder = os.path.join(str(tmp_path), 'unit', 'comet')
    (archive,) = [f for f in os.listdir(folder) if f.endswith('.zip')]
    messages, _ = comet_messages(os.path.join(folder, archive))
    names = {m['payload']['metric']['metricName'] for m in messages if m['type'] == 'metric_msg'}
    assert not names & {'G_GAN', 'D_real', 'G_total', 'D_total'}  # level 0: no losses
    assert not [m for m in messages if m['type'] == 'file_upload' and m['payload']['upload_type'] == 'visualization']


def test_comet_unreachable_server_falls_back_offline_quickly(tmp_path, no_comet_key, monkeypatch, capsys):
    """A configured key but no way to the server: no ~40 s of comet retries, an offline archive instead."""
    import comet_ml  # noqa: F401 - imported first so the timing below is the backend's own
    monkeypatch.setenv('COMET_API_KEY', 'abcdefghij0123456789ABCDE')
    monkeypatch.setenv('COMET_URL_OVERRIDE', f'http://127.0.0.1:{free_port()}/clientlib/')
    start = time.perf_counter()
    vis = Visualizer(fake_opt(tmp_path, no_html=True, comet=True, log_level=1))
    assert time.perf_counter() - start < 15
    assert vis.backend_names() == ['comet'] and vis.backends[0].offline
    vis.plot_current_losses(1, 0.5, {'G_GAN': 1.0, 'D_real': 2.0}, total_iters=7)
    vis.close()
    err = capsys.readouterr().err
    assert 'comet: cannot reach 127.0.0.1' in err and 'comet upload' in err
    folder = os.path.join(str(tmp_path), 'unit', 'comet')
    (archive,) = [f for f in os.listdir(folder) if f.endswith('.zip')]
    messages, _ = comet_messages(os.path.join(folder, archive))
    logged = {m['payload']['metric']['metricName']: m['payload']['metric']['metricValue']
              for m in messages if m['type'] == 'metric_msg'}
    assert logged['G_total'] == 1.0 and logged['D_total'] == 2.0 and 'G_GAN' not in logged  # --log_level 1


class RecordingExperiment:
    """Stands in for comet_ml.Experiment (no server here): records what the backend logs."""

    url = 'https://www.comet.com/ws/zoo-tests/abc123'
    alive = True

    def __init__(self, **kwargs):
        self.metrics, self.ended = [], False

    def log_metrics(self, values, step=None, epoch=None):
        self.metrics.append(dict(values))

    def __getattr__(self, name):  # log_parameters, log_others, add_tags, log_image, ...
        return lambda *args, **kwargs: None

    def end(self):
        self.ended = True


def test_comet_online_writes_its_url_and_logs_model_totals(tmp_path, no_comet_key, monkeypatch):
    import comet_ml
    import visualizers.comet_backend as visualizer_module
    monkeypatch.setenv('COMET_API_KEY', 'abcdefghij0123456789ABCDE')
    monkeypatch.setattr(visualizer_module, 'comet_server_unreachable', lambda timeout=2.0: None)
    monkeypatch.setattr(comet_ml, 'Experiment', RecordingExperiment)
    vis = Visualizer(fake_opt(tmp_path, no_html=True, comet=True, log_level=1))
    (backend,) = vis.backends
    assert not backend.offline
    assert (tmp_path / 'unit' / 'comet_url.txt').read_text().strip() == RecordingExperiment.url
    vis.set_aggregated_loss_names(['G', 'D'])  # a model whose losses include their own totals
    vis.plot_current_losses(1, 0.5, {'G': 3.0, 'G_a': 1.0, 'G_b': 2.0, 'D': 1.5, 'D_a': 1.5}, total_iters=1)
    vis.close()
    assert backend.experiment.metrics == [{'G': 3.0, 'D': 1.5}] and backend.experiment.ended


def test_text_parameters_confusion_matrices_and_unprefixed_metrics_reach_the_trackers(tmp_path):
    """The tracking API models use (LiSS's schedule switches, confusion matrices, learning rates): each call
    becomes the comet experiment's and the TensorBoard writer's own call."""
    from visualizers.comet_backend import CometBackend
    from visualizers.tensorboard_backend import TensorBoardBackend
    calls = []

    class Recorder:
        def __init__(self, who):
            self.who = who

        def __getattr__(self, name):
            return lambda *args, **kwargs: calls.append((self.who, name, args, kwargs))

    vis = Visualizer(fake_opt(tmp_path, no_html=True))
    comet, board = CometBackend.__new__(CometBackend), TensorBoardBackend.__new__(TensorBoardBackend)
    comet.experiment, comet.log_level, board.writer = Recorder('comet'), 2, Recorder('tb')
    vis.backends += [comet, board]
    vis.total_iters = 12
    vis.log_text('phase 0 -> phase 1')
    vis.log_parameters({'schedule_start_translation': 12})
    vis.log_confusion_matrix([[2, 1], [0, 3]], 'confusion_A_rotation_12')
    vis.plot_current_metrics(3, {'lr_translation': 0.5})
    assert [c for c in calls if c[0] == 'comet'] == [
        ('comet', 'log_text', ('phase 0 -> phase 1',), {'step': 12}),
        ('comet', 'log_parameter', ('schedule_start_translation', 12), {}),
        ('comet', 'log_confusion_matrix', (), {'matrix': [[2, 1], [0, 3]], 'title': 'confusion_A_rotation_12',
                                               'file_name': 'confusion_A_rotation_12.json', 'step': 12}),
        ('comet', 'log_metrics', ({'lr_translation': 0.5},), {'epoch': 3})]
    board_calls = [c for c in calls if c[0] == 'tb']
    assert [c[1] for c in board_calls] == ['add_text', 'add_text', 'add_text', 'add_scalar']
    assert board_calls[2][2][0] == 'confusion/confusion_A_rotation_12' and '| 1 | 0 | 3 |' in board_calls[2][2][1]
    assert board_calls[3][2] == ('lr_translation', 0.5)
    assert not (tmp_path / 'unit' / 'loss_log.txt').read_text().count('lr_translation')  # tracked, not printed
