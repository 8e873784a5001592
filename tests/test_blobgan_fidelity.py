"""BlobGAN rows of the fidelity audit: training images, encoder rendering and blob MSE, diversity defaults,
BlobGANEX inversion files, FID resize and sampling, EMA timing (docs/blobgan.md "published vs here")."""
import os
import types

import numpy as np
import pytest
import torch
from PIL import Image

from data.blobgan_dataset import BlobganDataset, resize_to_shape, shorter_side_crop
from models.blobgan import BlobGenerator
from models.blobgan.io import make_encoder, save_generator
from models.blobgan.layout import LAYOUT_KEYS
from tools.blobgan.octet.counterfactual import DecisionDensenet, DecisionWrapper, save_densenet_decision_model
from tools.blobgan.octet.encoder_training import blob_mse, blob_values, generated_batch, render_latent, train_step
from tools.blobgan.octet.inversion import invert

TINY = dict(size=32, size_in=8, n_blobs=3, noise_dim=8, hidden_dim=16, n_mlp=3, feature_dim=8, style_dim=8, c_model=2)
JITTER = dict(jitter_xy=0.04, jitter_shift=0.5, jitter_angle=0.1)


def _image(w, h, seed=0):
    return Image.fromarray(np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize('size', [(50, 37), (37, 50), (41, 41), (77, 32)])
def test_training_resize_matches_the_published_torchvision_transforms(size):
    from torchvision import transforms as T
    img = _image(*size)
    u = T.Compose([T.Resize(32, T.InterpolationMode.LANCZOS), T.CenterCrop(32)])(img)
    assert np.array_equal(np.asarray(shorter_side_crop(img, 32, 32)), np.asarray(u))
    assert np.array_equal(np.asarray(resize_to_shape(img, 32, 32, 'published')), np.asarray(u))
    x = T.Resize((16, 32), T.InterpolationMode.LANCZOS)(img)  # BlobGANEX: 2:1, the aspect ratio ignored
    assert np.array_equal(np.asarray(resize_to_shape(img, 16, 32, 'published')), np.asarray(x))
    assert resize_to_shape(img, 16, 32, 'cover', None).size == (32, 16)
    with pytest.raises(ValueError, match='resize mode'):
        resize_to_shape(img, 16, 32, 'area')


def test_dataset_default_is_published_and_presets_set_their_repository(tmp_path):
    from options.train_options import TrainOptions
    _image(60, 40).save(tmp_path / 'a.png')
    base = ['--model', 'blobgan', '--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path)]
    opt = TrainOptions(base + ['--crop_size', '32', '--no_flip']).parse()
    assert opt.blob_resize == 'published'
    from torchvision import transforms as T
    item = BlobganDataset(opt)[0]['A']
    ref = np.asarray(T.Compose([T.Resize(32, T.InterpolationMode.LANCZOS), T.CenterCrop(32)])(_image(60, 40)))
    assert torch.allclose(item, torch.from_numpy(ref.astype(np.float32)).permute(2, 0, 1) / 127.5 - 1, atol=1e-6)
    assert TrainOptions(base + ['--config', 'configs/blobgan40.yaml']).parse().blob_resize == 'stretch'
    assert TrainOptions(base + ['--config', 'configs/blobgan_bedroom.yaml']).parse().blob_resize == 'shorter_side'
    ours = TrainOptions(base + ['--crop_size', '32', '--blob_resize', 'cover', '--no_flip']).parse()
    assert not torch.equal(BlobganDataset(ours)[0]['A'], item)


def test_encoder_rendering_published_uses_fresh_noise_and_jitter():
    torch.manual_seed(0)
    g = BlobGenerator(**TINY, **JITTER).eval()
    h = g.layout_net.latent(torch.randn(2, 8), -1)
    with torch.no_grad():
        a, b = render_latent(g, h, -1, True)[0], render_latent(g, h, -1, True)[0]
        c, d = render_latent(g, h, -1, False)[0], render_latent(g, h, -1, False)[0]
    assert not torch.equal(a, b) and torch.equal(c, d)
    img, lat, layout, placed = generated_batch(g, 2, -1, 'cpu', published_render=True)
    assert img.shape == (2, 3, 32, 32) and lat.shape == (2, 16)
    assert not torch.equal(placed['xs'], layout['xs'])  # the jittered centres that were rendered


def test_encoder_blob_mse_published_uses_jittered_centres_and_processed_covariances_without_gradient():
    torch.manual_seed(0)
    g = BlobGenerator(**TINY, **JITTER).eval()
    latent = g.layout_net.latent(torch.randn(2, 8), -1).detach().requires_grad_(True)
    _, layout, placed = render_latent(g, latent, -1, True)
    pub = blob_values(layout, placed, published=True)
    assert pub['covs'].shape == (2, 3, 2, 2) and not pub['covs'].requires_grad
    assert torch.equal(pub['xs'], placed['xs']) and pub['sizes'] is layout['sizes']
    raw = blob_values(layout, placed, published=False)
    assert raw['covs'].shape == (2, 3, 4) and raw['covs'].requires_grad
    target = {k: v.detach() + 0.1 for k, v in pub.items()}
    assert blob_mse(pub, target) > 0
    # BlobGANEX checkpoints detach the covariances in the layout network; the published loader now says so
    from models.blobgan.published import generator_config, generator_state
    state = {'generator_ema.' + k[len('synthesis.'):]: v for k, v in g.state_dict().items() if k.startswith('synthesis.')}
    state.update({'layout_net_ema.' + k[len('layout_net.'):]: v for k, v in g.state_dict().items()
                  if k.startswith('layout_net.')})
    assert set(generator_state(state)) <= set(g.state_dict())
    assert generator_config(state, {'resolution': 32, 'aspect_ratio': 1.0})['detach_shapes'] is True
    assert generator_config(state, {'resolution': 32})['detach_shapes'] is False
    # one published training step runs and moves the encoder (both blob-MSE modes)
    enc = make_encoder(g, -1, c_model=2)
    opt = torch.optim.Adam(enc.parameters(), lr=1e-3)
    for published in (True, False):
        img, _, lay, pl = generated_batch(g, 2, -1, 'cpu', published)
        before = [p.detach().clone() for p in enc.parameters()]
        out = train_step(enc, g, opt, -1, img, blob_values(lay, pl, published), img, None, None, None, published,
                         published)
        assert out['fake_latents_MSE'] > 0 and any(not torch.equal(a, p) for a, p in zip(before, enc.parameters()))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('cf')
    torch.manual_seed(0)
    gen = str(root / 'G.ckpt')
    save_generator(gen, BlobGenerator(**TINY))
    torch.manual_seed(1)
    dec = str(root / 'decision.tar')
    save_densenet_decision_model(dec, DecisionDensenet(num_classes=4))
    return types.SimpleNamespace(generator=gen, decision=dec)


def test_diversity_mode_published_defaults_and_unmixed_blob_cf(tmp_path, images_root, files, monkeypatch):
    from tools.blobgan import counterfactuals as cf_script
    seen = {}
    real_cf, real_inv = cf_script.counterfactuals, cf_script.inv.invert_batch

    def spy_cf(*args, **kwargs):
        seen['n_iter'] = args[7]
        return real_cf(*args, **kwargs)

    def spy_inv(*args, **kwargs):
        seen['lambda_inv_decision'] = args[7]
        return real_inv(*args, **kwargs)
    monkeypatch.setattr(cf_script, 'counterfactuals', spy_cf)
    monkeypatch.setattr(cf_script.inv, 'invert_batch', spy_inv)
    out = str(tmp_path / 'cf')
    cf_script.main(['--generator', files.generator, '--dataroot', images_root, '--max_images', '2', '--batch_size', '2',
                    '--decision_model', files.decision, '--target_attributes', '0', '--n_diverse', '2',
                    '--n_iter_blobs', '1', '--lambda_lpips', '0', '--out_dir', out, '--device', 'cpu'])
    assert seen == {'n_iter': 2, 'lambda_inv_decision': 0.1}
    meta = torch.load(os.path.join(out, 'metadata_0000.pt'), weights_only=True)
    entry, base = meta['att_0'], meta['blob_optim']
    a = entry['Assignment']  # (images, counterfactuals, blobs)
    for j in range(2):  # the rendered layout scales the saved (published, unmixed) change by A
        mixed = base['xs'] + a[:, j] * (entry['blob_cf'][j]['xs'] - base['xs'])
        assert torch.allclose(entry['blob_cf_mixed'][j]['xs'], mixed, atol=1e-6)
    assert not torch.allclose(entry['blob_cf'][0]['xs'], entry['blob_cf_mixed'][0]['xs'])


def test_inversion_decision_feature_term(files, images_root):
    from models.blobgan.io import load_generator
    from tools.blobgan.common import FolderImages, list_images
    from tools.blobgan.octet.counterfactual import load_decision_model
    g = load_generator(files.generator)
    images = torch.stack([FolderImages(list_images(images_root, 2), 32, 32)[i][0] for i in range(2)])
    dec = DecisionWrapper(load_decision_model(files.decision))
    h0 = invert(g, images, n_iter_blobs=1, decision=dec, lambda_decision=0.0)['history'][0]
    h1 = invert(g, images, n_iter_blobs=1, decision=dec, lambda_decision=0.1)['history'][0]
    assert h1 > h0


def test_load_inversion_accepts_a_blobganex_inversions_file(tmp_path, images_root, files):
    from tools.blobgan import counterfactuals as cf_script
    g = BlobGenerator(**TINY)
    names = sorted(os.listdir(images_root))[:3]
    with torch.no_grad():
        layouts = {n: {k: v for k, v in g.layout(torch.randn(1, 8)).items()} for n in names}
    path = str(tmp_path / 'validation_rec_reproducible.pt')
    torch.save(layouts, path)
    out = str(tmp_path / 'cf')
    report = cf_script.main(['--generator', files.generator, '--load_inversion', path, '--dataroot', images_root,
                             '--decision_model', files.decision, '--invert_only', '--batch_size', '2',
                             '--out_dir', out, '--device', 'cpu', '--lambda_lpips', '0'])
    assert len(report) == 2
    first = torch.load(os.path.join(out, 'metadata_0000.pt'), weights_only=True)
    second = torch.load(os.path.join(out, 'metadata_0001.pt'), weights_only=True)
    assert first['image_names'] == names[:2] and second['image_names'] == names[2:]
    for k in LAYOUT_KEYS:
        assert torch.equal(first['blob_optim'][k], torch.cat([layouts[n][k] for n in names[:2]]))
    torch.save({'a': torch.zeros(1)}, str(tmp_path / 'bad.pt'))
    with pytest.raises(ValueError, match='inversions file'):
        cf_script.main(['--generator', files.generator, '--load_inversion', str(tmp_path / 'bad.pt'),
                        '--decision_model', files.decision, '--invert_only', '--out_dir', out, '--device', 'cpu',
                        '--lambda_lpips', '0'])


def test_fid_real_resize_without_antialias_as_published():
    from torchvision.transforms import functional as F
    from metrics.clean_fid import real_transform
    x = np.zeros((64, 128, 3), np.uint8)
    x[::2, ::2] = 255  # a fine checkerboard: antialiasing changes it most
    t = torch.from_numpy(x).permute(2, 0, 1)
    out = real_transform(16, 2.0)(x)
    assert np.array_equal(out, F.resize(t, [16, 32], antialias=False).permute(1, 2, 0).numpy())
    assert not np.array_equal(out, real_transform(16, 2.0, antialias=True)(x))


def test_training_fid_samples_clamped_jittered_and_50k_by_default(tmp_path, monkeypatch):
    from metrics import clean_fid
    from models import create_model
    from options.train_options import TrainOptions
    args = ['--model', 'blobgan', '--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path), '--crop_size', '32',
            '--size_in', '8', '--n_blobs', '2', '--style_dim', '8', '--feature_dim', '8', '--noise_dim', '8',
            '--layout_hidden', '16', '--layout_layers', '3', '--g_c_model', '2', '--d_c_model', '2',
            '--gpu_ids', '-1', '--display_id', '0', '--fid_every', '1', '--fid_stats_name', 'x']
    opt = TrainOptions(args).parse()
    assert opt.fid_num_gen == 50000 and not opt.fid_no_jitter
    model = create_model(opt)
    calls = []
    forward = model.netG_ema.forward
    monkeypatch.setattr(model.netG_ema, 'forward', lambda *a, **k: calls.append(k.get('jitter')) or forward(*a, **k) * 50)

    def fake_fid(gen_fn, name, num_gen, *rest):
        img = gen_fn(torch.zeros(2, 8))
        assert img.min() >= 0 and img.max() <= 255 and num_gen == 50000
        return 1.0
    monkeypatch.setattr(clean_fid, 'generator_fid', fake_fid)
    monkeypatch.setattr(model, 'save_networks', lambda label: None)
    model.monitor_fid()
    assert calls == [True] and model.loss_fid == 1.0


def test_clean_fid_is_a_registered_metric_and_both_fid_paths_write_metrics_json(tmp_path, images_root, monkeypatch,
                                                                                  clean_fid_inception):
    """clean_fid is registered (lower is better, computed only when named) and reached through metrics.evaluate:
    tools.evaluate (the writer of test.py and --eval_freq) scores an image folder with it, and BlobGAN's training-time
    FID hands its generator samples to it; both write the one metrics.json format, read by one reader. (One real
    FID, with the 64-feature stand-in Inception; test_blobgan_train runs the generator path for real.)"""
    import shutil
    import metrics as M
    from metrics import clean_fid
    from models import create_model
    from options.train_options import TrainOptions
    from tools import evaluate as evaluate_tool
    m = M.get_metric('clean_fid')
    assert (m.kind, m.backend, m.higher_is_better, M.higher_is_better('clean_fid')) == \
        ('fidelity', 'clean-fid', False, False)
    assert 'clean_fid' in M.metric_names('fidelity') and 'clean_fid' not in M.metric_names(default_only=True)
    weights = clean_fid_inception
    stats = str(tmp_path / 'stats')
    files = clean_fid.list_files(images_root)
    clean_fid.make_stats(files[:4], 'tiny', 32, weights=weights, stats_dir=stats, batch_size=4)
    common = dict(weights_path=weights, real_cache_name='tiny', cache_dir=stats, device='cpu')
    with pytest.raises(ValueError, match='different Inception files'):
        M.evaluate(files, metrics='fid,clean_fid', **common)
    with pytest.raises(ValueError, match='GeneratorSamples'):
        M.evaluate(torch.zeros(2, 3, 32, 32), metrics='clean_fid', **common)

    generated = tmp_path / 'generated'
    generated.mkdir()
    for f in files[4:]:
        shutil.copy(f, generated)
    results_json = str(tmp_path / 'metrics.json')
    out = evaluate_tool.main(['--generated', str(generated), '--real_stats', 'tiny', '--cache_dir', stats,
                              '--metrics', 'clean_fid', '--fidelity_weights', weights, '--device', 'cpu',
                              '--batch_size', '4', '--json', results_json])

    calls = []

    def recorded_fid(gen_fn, *args):
        calls.append(args)
        return 2.5
    monkeypatch.setattr(clean_fid, 'generator_fid', recorded_fid)
    args = ['--model', 'blobgan', '--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path), '--crop_size', '32',
            '--size_in', '8', '--n_blobs', '2', '--style_dim', '8', '--feature_dim', '8', '--noise_dim', '8',
            '--layout_hidden', '16', '--layout_layers', '3', '--g_c_model', '2', '--d_c_model', '2', '--gpu_ids', '-1',
            '--display_id', '0', '--fid_every', '1', '--fid_stats_name', 'tiny', '--fid_stats_dir', stats,
            '--fid_weights', weights, '--fid_num_gen', '4', '--batch_size', '2']
    model = create_model(TrainOptions(args).parse())
    model.save_networks = lambda label: None
    model.monitor_fid()
    assert calls == [('tiny', 4, 8, 2, weights, stats, 'cpu')]  # GeneratorSamples(fn, z_dim 8, 4, batch 2)
    assert M.read_metrics_json(results_json) == pytest.approx(out) and out['clean_fid'] > 0 and len(out) == 1
    assert M.read_metrics_json(os.path.join(model.save_dir, 'best_fid.json')) == {'fid': 2.5, 'step': 0}


def test_ema_after_step_flag_restores_the_previous_update(tmp_path):
    from models import create_model
    from options.train_options import TrainOptions
    args = ['--model', 'blobgan', '--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path), '--crop_size', '32',
            '--size_in', '8', '--n_blobs', '2', '--style_dim', '8', '--feature_dim', '8', '--noise_dim', '8',
            '--layout_hidden', '16', '--layout_layers', '3', '--g_c_model', '2', '--d_c_model', '2',
            '--gpu_ids', '-1', '--display_id', '0', '--batch_size', '2']
    real = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    dec = 0.5 ** (32 / 10000)
    for after in (False, True):
        opt = TrainOptions(args + (['--ema_after_step'] if after else [])).parse()
        model = create_model(opt)
        model.setup(opt)
        name, buf = next(iter(model.netG.named_buffers()))
        buf.add_(1.0)  # a buffer that differs from the EMA's: copied only with --ema_after_step
        ema_before = model.netG_ema.synthesis.conv1.conv.weight.clone()
        g_before = model.netG.synthesis.conv1.conv.weight.detach().clone()
        model.set_input({'A': real, 'A_paths': ['a', 'b']})
        model.optimize_parameters()
        g_used = model.netG.synthesis.conv1.conv.weight if after else g_before
        assert torch.allclose(model.netG_ema.synthesis.conv1.conv.weight, dec * ema_before + (1 - dec) * g_used,
                              atol=1e-7)
        assert torch.equal(dict(model.netG_ema.named_buffers())[name], buf) == after
