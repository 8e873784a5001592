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
