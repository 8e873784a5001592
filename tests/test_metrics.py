"""Tests for metrics/ and tools/evaluate.py.

FID/KID/IS run with a generated random Inception weights file (make_random_inception_weights), so no
download is needed; their values only check the plumbing, they are not comparable to published FIDs.
"""
import json
import math
import os
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

import metrics as M

pytestmark = pytest.mark.filterwarnings('ignore:Inception weights .* not torch-fidelity')

N_IMAGES = 8
SIZE = 32
# FID on 2048-d features needs eigenvalues of a 2048x2048 matrix (seconds on CPU, much more on a busy
# machine); most tests use the 64-d Inception layer and one test covers the standard 2048.
FAST = dict(dims=64, device='cpu')


def _write(folder, arrays, names=None):
    os.makedirs(folder, exist_ok=True)
    names = names or [f"{i:03d}" for i in range(len(arrays))]
    for name, arr in zip(names, arrays):
        Image.fromarray(arr).save(os.path.join(folder, name + '.png'))
    return str(folder)


def _noise_images(seed, n=N_IMAGES):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(n)]


def _smooth_images(seed, n=N_IMAGES):
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, SIZE)[None, :, None]
    return [(ramp * rng.uniform(50, 255, (1, 1, 3))).repeat(SIZE, 0).astype(np.uint8) for _ in range(n)]


@pytest.fixture(scope='session')
def weights(tmp_path_factory):
    return M.make_random_inception_weights(tmp_path_factory.mktemp('inception') / 'random_inception.pth', seed=0)


@pytest.fixture(scope='session')
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    return {'noise': _write(root / 'noise', _noise_images(1)), 'smooth': _write(root / 'smooth', _smooth_images(2))}


# ---------------------------------------------------------------------------------------------- weights

def test_random_weights_load_strictly_into_torch_fidelity(weights, tmp_path):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    # torch-fidelity's constructor loads with strict=True: any missing/extra key or shape would raise
    fe = FeatureExtractorInceptionV3('inception-v3-compat', ['2048'], feature_extractor_weights_path=weights)
    assert sum(p.numel() for p in fe.parameters()) > 20_000_000
    again = M.make_random_inception_weights(tmp_path / 'again.pth', seed=0)
    other = M.make_random_inception_weights(tmp_path / 'other.pth', seed=1)
    a, b, c = (torch.load(p, weights_only=True) for p in (weights, again, other))
    assert a.keys() == c.keys()
    assert torch.equal(a['Mixed_7c.branch_pool.conv.weight'], b['Mixed_7c.branch_pool.conv.weight'])
    assert not torch.equal(a['Mixed_7c.branch_pool.conv.weight'], c['Mixed_7c.branch_pool.conv.weight'])
    assert M.weights_tag(weights) != 'official'
    assert M.weights_tag(weights) == M.weights_tag(again) != M.weights_tag(other)


def test_missing_weights_offline_says_how_to_get_them(tmp_path, monkeypatch, folders):
    def offline(*args, **kwargs):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(FileNotFoundError, match='--fidelity_weights') as err:
        M.fidelity_metrics(folders['noise'], folders['smooth'], ['fid'])
    message = str(err.value)
    assert '\n' not in message and M.official_weights_url() in message and 'URLError' in message
    with pytest.raises(FileNotFoundError, match='not found'):
        M.resolve_inception_weights(tmp_path / 'nope.pth')


def test_cached_official_weights_are_used_without_download(tmp_path, monkeypatch, weights):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', lambda *a, **k: pytest.fail('must not download'))
    os.makedirs(os.path.dirname(M.default_weights_location()))
    os.symlink(weights, M.default_weights_location())
    assert M.resolve_inception_weights() == M.default_weights_location()


# ---------------------------------------------------------------------------------------------- FID/KID/IS

def test_fid_of_folder_with_itself_is_zero(weights, folders):
    out = M.fidelity_metrics(folders['noise'], folders['noise'], ['fid'], weights_path=weights, **FAST)
    assert set(out) == {'fid'} and type(out['fid']) is float
    assert abs(out['fid']) < 1e-3


def test_fid_kid_isc_of_different_folders(weights, folders):
    out = M.fidelity_metrics(folders['noise'], folders['smooth'], 'fid,kid,isc', weights_path=weights,
                             device='cpu')
    assert set(out) == {'fid', 'kid', 'kid_std', 'isc', 'isc_std'}
    assert all(type(v) is float and math.isfinite(v) for v in out.values())
    assert out['fid'] > 0.1
    assert out['kid'] > 0
    assert out['isc'] >= 1.0


def test_kid_subset_adapts_to_small_folder_and_tensor_input(weights, folders):
    few = torch.from_numpy(np.stack(_noise_images(5, n=3))).permute(0, 3, 1, 2)  # uint8 tensor, 3 images
    out = M.fidelity_metrics(few, folders['smooth'], ['kid'], weights_path=weights, **FAST)
    assert math.isfinite(out['kid']) and out['kid'] > 0


def test_cached_real_statistics_match_direct_computation(weights, folders, tmp_path):
    cache = tmp_path / 'fid_stats'
    info = M.cache_real_statistics(folders['smooth'], 'Smooth_Set', weights_path=weights, cache_dir=cache, **FAST)
    assert info['num_images'] == N_IMAGES and info['isc'] >= 1.0
    assert all(f.startswith('smooth_set-') for f in os.listdir(cache))  # lowercased name, project-chosen folder
    assert M.has_cached_statistics('SMOOTH_SET', weights_path=weights, cache_dir=cache, dims=64)
    assert not M.has_cached_statistics('smooth_set', weights_path=weights, cache_dir=cache)  # other dims
    meta = M.cached_statistics_info('smooth_set', weights, cache, dims=64)
    assert meta['source'] == os.path.realpath(folders['smooth']) and meta['num_images'] == N_IMAGES
    # the real folder is not needed any more: only the cache is read
    from_cache = M.fidelity_metrics(folders['noise'], None, ['fid', 'kid'], weights_path=weights,
                                    real_cache_name='SMOOTH_set', cache_dir=cache, **FAST)
    direct = M.fidelity_metrics(folders['noise'], folders['smooth'], ['fid', 'kid'], weights_path=weights, **FAST)
    assert from_cache['fid'] == pytest.approx(direct['fid'], rel=1e-5)
    assert from_cache['kid'] == pytest.approx(direct['kid'], rel=1e-4, abs=1e-7)
    # the same name given with other real images: the cache is rebuilt, not silently reused
    with pytest.warns(UserWarning, match='rebuilding'):
        rebuilt = M.fidelity_metrics(folders['noise'], folders['noise'], ['fid'], weights_path=weights,
                                     real_cache_name='smooth_set', cache_dir=cache, **FAST)
    assert abs(rebuilt['fid']) < 1e-3
    with pytest.raises(FileNotFoundError, match='setup_fid'):
        M.fidelity_metrics(folders['noise'], None, ['fid'], weights_path=weights, real_cache_name='unknown',
                           cache_dir=cache, **FAST)
    with pytest.raises(ValueError, match='invalid statistics name'):
        M.normalize_cache_name('../escape')


def test_clear_errors_for_bad_image_sets(weights, folders, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no images'):
        M.fidelity_metrics(str(empty), folders['noise'], ['fid'], weights_path=weights)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        M.fidelity_metrics(str(tmp_path / 'missing'), folders['noise'], ['fid'], weights_path=weights)
    one = _write(tmp_path / 'one', _noise_images(3, n=1))
    with pytest.raises(ValueError, match='at least 2'):
        M.fidelity_metrics(one, folders['noise'], ['fid'], weights_path=weights)
    mixed = _write(tmp_path / 'mixed', [np.zeros((32, 32, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)])
    with pytest.raises(ValueError, match='different sizes'):
        M.fidelity_metrics(mixed, folders['noise'], ['fid'], weights_path=weights)
    with pytest.raises(ValueError, match='need real images'):
        M.fidelity_metrics(folders['noise'], None, ['kid'], weights_path=weights)
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        M.parse_metrics('fid,lpips')
    assert M.parse_metrics('FID, is,mae,fid') == ['fid', 'isc', 'l1']


# ---------------------------------------------------------------------------------------------- paired

def _const(value, size=SIZE):
    return np.full((size, size, 3), value, np.uint8)


def test_paired_metrics_identical_images(folders):
    out = M.paired_metrics(folders['noise'], folders['noise'])
    assert out == {'psnr': math.inf, 'ssim': pytest.approx(1.0, abs=1e-6), 'l1': 0.0}


def test_paired_metrics_hand_checked_values(tmp_path):
    gen = _write(tmp_path / 'gen', [_const(0), _const(0)], ['a', 'b'])
    real = _write(tmp_path / 'real', [_const(51), _const(51)], ['a', 'b'])  # 51/255 = 0.2 exactly
    out = M.paired_metrics(gen, real)
    # MSE = 0.2^2 = 0.04 -> PSNR = 10 log10(1 / 0.04); L1 = 0.2;
    # constant images have no variance, so SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) with C1 = 0.01^2
    assert out['psnr'] == pytest.approx(10 * math.log10(1 / 0.04), abs=1e-3)
    assert out['l1'] == pytest.approx(0.2, abs=1e-6)
    assert out['ssim'] == pytest.approx(1e-4 / (0.04 + 1e-4), abs=1e-4)
    # mean over pairs: one identical pair (L1 0) and one black/white pair (L1 1) -> 0.5
    gen2 = _write(tmp_path / 'gen2', [_const(0), _const(0)], ['a', 'b'])
    real2 = _write(tmp_path / 'real2', [_const(0), _const(255)], ['a', 'b'])
    assert M.paired_metrics(gen2, real2, ['l1']) == {'l1': pytest.approx(0.5)}


def test_paired_metrics_errors(tmp_path):
    gen = _write(tmp_path / 'gen', [_const(0), _const(0)], ['a', 'b'])
    real = _write(tmp_path / 'real', [_const(0), _const(0)], ['a', 'c'])
    with pytest.raises(ValueError, match=r"do not pair up.*\['b'\].*\['c'\]"):
        M.paired_metrics(gen, real)
    small = _write(tmp_path / 'small', [_const(0, 16), _const(0, 16)], ['a', 'b'])
    with pytest.raises(ValueError, match='differ in size'):
        M.paired_metrics(gen, small)
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no images'):
        M.paired_metrics(str(empty), gen)


def test_metric_registry_names_aliases_and_a_new_paired_metric(tmp_path, monkeypatch):
    from metrics import registry
    assert M.metric_names(default_only=True) == ('fid', 'kid', 'isc', 'psnr', 'ssim', 'l1')
    assert M.metric_names() == ('fid', 'kid', 'isc', 'psnr', 'ssim', 'l1', 'clean_fid')  # clean_fid: asked by name
    assert M.metric_names('paired') == ('psnr', 'ssim', 'l1')
    assert M.get_metric(' IS ').name == 'isc' and M.get_metric('mae').kind == 'paired'
    with pytest.raises(ValueError, match="unknown metric 'lpips': choose from fid,kid,isc,psnr,ssim,l1"):
        M.get_metric('lpips')
    with pytest.raises(ValueError, match='already registered'):
        M.register_metric('mae', 'paired', higher_is_better=False)(lambda x, y: 0.0)
    with pytest.raises(ValueError, match='kind'):
        M.register_metric('x', 'perceptual', higher_is_better=False)
    with pytest.raises(ValueError, match='backend'):
        M.register_metric('x', 'fidelity', higher_is_better=False)
    monkeypatch.setattr(registry, '_METRICS', registry._METRICS.copy())
    monkeypatch.setattr(registry, '_ALIASES', dict(registry._ALIASES))

    @M.register_metric('maxdiff', 'paired', higher_is_better=False, aliases=('linf',))
    def maxdiff(x, y):
        return float((x - y).abs().max())

    @M.register_metric('agreement', 'paired', higher_is_better=True)
    def agreement(x, y):
        return 1.0 - float((x - y).abs().mean())

    gen = _write(tmp_path / 'gen', [_const(0), _const(0)], ['a', 'b'])
    real = _write(tmp_path / 'real', [_const(51), _const(255)], ['a', 'b'])
    assert M.parse_metrics('l1,LINF') == ['l1', 'maxdiff']
    out = M.evaluate(gen, real, 'linf,l1')  # a registered paired metric needs no other change
    assert out == {'maxdiff': pytest.approx(0.6), 'l1': pytest.approx(0.6)}
    # the direction is declared once, at registration, and read everywhere (save_best, plateau, compare)
    assert (M.higher_is_better('agreement'), M.higher_is_better('LINF'), M.higher_is_better('n_samples')) == (True, False, None)
    assert (M.higher_is_better('isc_std'), M.higher_is_better('kid_std'), M.higher_is_better('is')) == (True, False, True)


# ---------------------------------------------------------------------------------------------- json + CLI

def test_metrics_json_is_strict_json_and_round_trips(tmp_path):
    path = tmp_path / 'sub' / 'metrics.json'
    M.write_metrics_json(path, {'psnr': math.inf, 'fid': 1.5, 'l1': np.float32(0.25)})
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f'non-standard JSON {c}'))
    assert data == {'fid': 1.5, 'l1': 0.25, 'psnr': 'inf'}
    assert M.read_metrics_json(path) == {'fid': 1.5, 'l1': 0.25, 'psnr': math.inf}
    assert os.listdir(path.parent) == ['metrics.json']  # no temp file left behind


def test_evaluate_cli_on_results_dir(weights, tmp_path, capsys):
    phase = tmp_path / 'results' / 'exp' / 'test_latest'
    images = phase / 'images'
    fakes, reals = _noise_images(7, n=4), _smooth_images(8, n=4)
    _write(images, fakes, [f"{i}_fake_B" for i in range(4)])
    _write(images, reals, [f"{i}_real_B" for i in range(4)])
    _write(images, reals, [f"{i}_real_A" for i in range(4)])  # inputs must be ignored
    from tools import evaluate
    from util.cli import run_cli
    out = evaluate.main(['--results_dir', str(phase), '--metrics', 'fid,psnr,ssim,l1',
                         '--fidelity_weights', weights, '--device', 'cpu', '--fid_dims', '64'])
    assert set(out) == {'fid', 'psnr', 'ssim', 'l1'} and out['fid'] > 0
    assert M.read_metrics_json(phase / 'metrics.json') == pytest.approx(out)
    assert 'fid=' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        run_cli(evaluate.main, ['--generated', str(tmp_path / 'nowhere'), '--real', str(images), '--metrics', 'l1'])
    assert exc.value.code == 2
    assert 'does not exist' in capsys.readouterr().err
    # the old path forwards to python -m tools.evaluate, saying so, with the same arguments and exit status
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old = subprocess.run([sys.executable, os.path.join(root, 'scripts', 'evaluate.py'), '--results_dir', str(phase),
                          '--metrics', 'l1', '--json', str(tmp_path / 'old.json')], capture_output=True, text=True,
                         cwd=str(tmp_path))
    assert old.returncode == 0 and 'tools/evaluate.py' in old.stderr, old.stderr
    assert M.read_metrics_json(tmp_path / 'old.json')['l1'] == pytest.approx(out['l1'])
    bad = subprocess.run([sys.executable, os.path.join(root, 'scripts', 'evaluate.py'), '--generated', 'nowhere',
                          '--metrics', 'l1', '--real', 'x'], capture_output=True, text=True, cwd=str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith('error: ')


def test_ssim_matches_scikit_image():
    """The standard SSIM (Wang et al.): scikit-image with the Gaussian 11x11 window crops the 5 px border
    where the window does not fit; averaging a padded map instead gave 0.3640 vs 0.3720 on 64 px images."""
    from skimage.metrics import structural_similarity
    from metrics.paired import ssim
    rng = np.random.RandomState(0)
    for size, noise in ((64, 0.3), (37, 0.1), (11, 0.5)):
        a = rng.rand(size, size + 3, 3)
        b = np.clip(a + noise * rng.randn(*a.shape), 0, 1)
        ref = structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1.0)
        x, y = (torch.from_numpy(v).permute(2, 0, 1)[None].float() for v in (a, b))
        assert ssim(x, y) == pytest.approx(ref, abs=1e-5)
    with pytest.raises(ValueError, match='11x11'):
        ssim(torch.zeros(1, 3, 10, 10), torch.zeros(1, 3, 10, 10))
