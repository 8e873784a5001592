"""BlobGAN through train.py / test.py: a few iterations at 32 px, exact resume mid-accumulation, samples page."""
import os
import shutil

import pytest
import torch

TINY_BLOBGAN = ['--model', 'blobgan', '--crop_size', '32', '--size_in', '8', '--n_blobs', '3', '--style_dim', '8',
                '--feature_dim', '8', '--noise_dim', '8', '--layout_hidden', '16', '--layout_layers', '3',
                '--g_c_model', '2', '--d_c_model', '2', '--batch_size', '2', '--num_threads', '0',
                '--gpu_ids', '-1', '--print_freq', '2', '--display_freq', '2', '--seed', '3']


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def test_train_resume_exact_with_accumulation_and_test_samples(tmp_path, images_root, train_cli, test_cli):
    ck = str(tmp_path / 'ck')
    common = TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--n_epochs', '1',
                             '--accumulate_grad_batches', '4', '--d_reg_every', '2', '--fixed_noise',
                             '--save_latest_freq', '6', '--save_by_iter']
    # uninterrupted run: 8 images / batch 2 = 4 batches = one optimizer step; the state saved after 6 images
    # is 3 batches into the accumulation window, so it must carry the partial gradient sums
    assert train_cli(common + ['--name', 'full']) == 0
    full = os.path.join(ck, 'full')
    extra = _state(os.path.join(full, 'iter_6_train_state.pth'))['extra']
    assert extra['steps'] == 0 and extra['micro'] == 3 and extra['grads']['G'] and extra['grads']['D']
    final = _state(os.path.join(full, 'latest_train_state.pth'))['extra']
    assert final['steps'] == 1 and final['micro'] == 0 and not final['grads']
    # EMA differs from G after training (decay < 1) and is saved as a network and as a script bundle
    g, g_ema = _state(os.path.join(full, 'latest_net_G.pth')), _state(os.path.join(full, 'latest_net_G_ema.pth'))
    assert any(not torch.equal(g[k], g_ema[k]) for k in g if k.endswith('weight'))
    assert os.path.isfile(os.path.join(full, 'latest_blobgan_G_ema.ckpt'))

    # resume from the iter_6 state in a copy and finish: same weights as the uninterrupted run
    part = os.path.join(ck, 'part')
    os.makedirs(part)
    for f in os.listdir(full):
        if f.startswith('iter_6_') or f.endswith(('.yaml', '.json')):
            shutil.copy(os.path.join(full, f), part)
    assert train_cli(common + ['--name', 'part', '--continue_train', '--load_iter', '6']) == 0
    for net in ('G', 'D', 'G_ema'):
        a = _state(os.path.join(full, f'latest_net_{net}.pth'))
        b = _state(os.path.join(part, f'latest_net_{net}.pth'))
        for k in a:
            assert torch.equal(a[k], b[k]), f'{net}.{k} differs after resume'

    # test.py: --num_samples samples with layouts on the results page, reproducible with --fixed_noise
    res = str(tmp_path / 'res')
    args = ['--model', 'blobgan', '--name', 'full', '--checkpoints_dir', ck, '--results_dir', res,
            '--num_samples', '3', '--gpu_ids', '-1', '--num_threads', '0', '--fixed_noise']
    assert test_cli(args) == 0
    images = os.path.join(res, 'full', 'test_latest', 'images')
    names = sorted(os.listdir(images))
    assert names == sorted(f'sample_{i:04d}_{v}.png' for i in range(3) for v in ('fake', 'layout', 'blobs'))
    with open(os.path.join(res, 'full', 'test_latest', 'index.html')) as f:
        assert 'sample_0002_layout.png' in f.read()
    first = open(os.path.join(images, 'sample_0001_fake.png'), 'rb').read()
    assert test_cli(args) == 0
    assert open(os.path.join(images, 'sample_0001_fake.png'), 'rb').read() == first
    # --truncate pulls the layouts towards the mean: other samples, same page
    assert test_cli(args + ['--truncate', '0.7']) == 0
    assert open(os.path.join(images, 'sample_0001_fake.png'), 'rb').read() != first


def test_rectangular_training_step(tmp_path, images_root, train_cli):
    ck = str(tmp_path / 'ck')
    args = TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--name', 'rect', '--aspect_ratio',
                           '2', '--n_epochs', '1', '--max_dataset_size', '4']
    assert train_cli(args) == 0
    from models.blobgan.io import load_generator
    gen = load_generator(os.path.join(ck, 'rect', 'latest_blobgan_G_ema.ckpt'))
    assert gen(gen.sample_noise(1)).shape == (1, 3, 32, 64)


def test_bad_options_are_clear(tmp_path, images_root, train_cli):
    ck = str(tmp_path / 'ck')
    with pytest.raises(ValueError, match='fid_stats_name'):
        train_cli(TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--fid_every', '5'])
    with pytest.raises(ValueError, match='powers of two'):
        train_cli(TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--size_in', '12'])
    with pytest.raises(ValueError, match='gan_mode lsgan is not used by --model blobgan'):
        train_cli(TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--gan_mode', 'lsgan'])


@pytest.mark.parametrize('preset,expect', [
    ('blobgan40', dict(n_blobs=40, aspect_ratio=2.0, style_dim=256, feature_dim=256, size_in=8, batch_size=10,
                       detach_blob_shapes=True)),
    ('blobgan_bedroom', dict(n_blobs=10, aspect_ratio=1.0, style_dim=512, feature_dim=768, size_in=16, batch_size=24,
                             detach_blob_shapes=False)),
    ('blobgan_kitchen', dict(n_blobs=10, feature_dim=768)),
    ('blobgan_conference', dict(n_blobs=10, feature_dim=768)),
])
def test_published_config_presets(tmp_path, preset, expect):
    from options.train_options import TrainOptions
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    opt = TrainOptions(['--config', os.path.join(root, 'configs', f'{preset}.yaml'), '--dataroot', str(tmp_path),
                        '--checkpoints_dir', str(tmp_path), '--display_id', '0', '--gpu_ids', '-1']).parse()
    assert opt.model == 'blobgan'
    for key, value in expect.items():
        assert getattr(opt, key) == value, key
    # published optimisation defaults
    assert (opt.lr, opt.beta1, opt.beta2, opt.adam_eps, opt.lambda_R1, opt.d_reg_every) == (0.002, 0.0, 0.99, 1e-5,
                                                                                            50, 16)
    assert (opt.feature_jitter_xy, opt.feature_jitter_shift, opt.feature_jitter_angle) == (0.04, 0.5, 0.1)
    assert abs(opt.ema_decay - 0.5 ** (32 / 10000)) < 1e-12 and not opt.no_norm_features and opt.g_c_model == 96


def test_published_optimisers_r1_schedule_and_ema(tmp_path):
    from models import create_model
    from options.train_options import TrainOptions
    opt = TrainOptions(TINY_BLOBGAN + ['--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path),
                                       '--display_id', '0', '--d_reg_every', '3']).parse()
    model = create_model(opt)
    model.setup(opt)
    g, d = model.optimizer_G, model.optimizer_D
    assert isinstance(g, torch.optim.AdamW) and isinstance(d, torch.optim.AdamW)
    gg, dg = g.param_groups[0], d.param_groups[0]
    r = 3 / 4  # lazy ratio d_reg_every / (d_reg_every + 1)
    assert gg['eps'] == 1e-5 and gg['weight_decay'] == 0 and gg['lr'] == 0.002 and gg['betas'] == (0.0, 0.99)
    assert abs(dg['lr'] - 0.002 * r) < 1e-12 and abs(dg['betas'][1] - 0.99 ** r) < 1e-12 and dg['betas'][0] == 0.0
    torch.manual_seed(0)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    r1_steps = []
    for step in range(6):
        model.loss_R1 = None
        ema_before = model.netG_ema.synthesis.conv1.conv.weight.clone()
        g_before = model.netG.synthesis.conv1.conv.weight.clone()
        model.set_input({'A': real, 'A_paths': ['a', 'b']})
        model.optimize_parameters()
        if model.loss_R1 is not None:
            r1_steps.append(step)
        # EMA as published: ema <- d * ema + (1 - d) * G before this step's update, d = 0.5 ** (32 / 10000)
        dec = 0.5 ** (32 / 10000)
        g_new = model.netG.synthesis.conv1.conv.weight
        assert not torch.equal(g_new, g_before)
        assert torch.allclose(model.netG_ema.synthesis.conv1.conv.weight, dec * ema_before + (1 - dec) * g_before,
                              atol=1e-6)
    assert r1_steps == [2, 5]  # published run_at_step: (step + 1) % every == 0


def test_training_time_fid_with_clean_fid(tmp_path, images_root, clean_fid_inception, train_cli):
    """--fid_every with the published clean-fid backend (TorchScript stand-in Inception): best_fid kept."""
    from metrics import clean_fid
    weights = clean_fid_inception
    stats = str(tmp_path / 'stats')
    files = clean_fid.list_files(images_root)
    clean_fid.make_stats(files, 'tiny', 32, weights=weights, stats_dir=stats, batch_size=4)
    ck = str(tmp_path / 'ck')
    args = TINY_BLOBGAN + ['--dataroot', images_root, '--checkpoints_dir', ck, '--name', 'fid', '--n_epochs', '1',
                           '--max_dataset_size', '4', '--fid_every', '2', '--fid_stats_name', 'tiny',
                           '--fid_stats_dir', stats, '--fid_weights', weights, '--fid_num_gen', '4']
    assert train_cli(args) == 0
    import json
    with open(os.path.join(ck, 'fid', 'best_fid.json')) as f:
        best = json.load(f)
    assert best['step'] == 2 and best['fid'] > 0
    assert os.path.isfile(os.path.join(ck, 'fid', 'best_fid_blobgan_G_ema.ckpt'))
