"""Dataset modes, preprocessing, image formats and bad-input errors."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from data import create_dataset, create_eval_dataset
from data.base_dataset import BadImageError, load_image, to_tensor
from options.train_options import TrainOptions
from datasets.make_synthetic_dataset import make_paired, make_unpaired


def make_opt(root, tmp_path, *extra):
    args = ['--dataroot', str(root), '--checkpoints_dir', str(tmp_path / 'ck'), '--num_threads', '0',
            '--seed', '3'] + [str(e) for e in extra]
    return TrainOptions(args).parse()


def first_batch(opt, epoch=1):
    dataset = create_dataset(opt)
    dataset.set_epoch(epoch)
    return next(iter(dataset))


def test_aligned_pairs_get_the_same_crop_and_flip(tmp_path):
    root = tmp_path / 'same'
    os.makedirs(root / 'train')
    half = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(np.concatenate([half, half], 1)).save(root / 'train' / 'x.png')
    for seed_epoch in range(1, 6):
        batch = first_batch(make_opt(root, tmp_path, '--dataset_mode', 'aligned', '--load_size', '40',
                                     '--crop_size', '24'), epoch=seed_epoch)
        assert batch['A'].shape == (1, 3, 24, 24)
        assert torch.equal(batch['A'], batch['B'])


def test_unaligned_and_single_modes(tmp_path):
    make_unpaired(str(tmp_path / 'u'), 36, {'train': 3, 'test': 2}, seed=0, with_depth=True)
    opt = make_opt(tmp_path / 'u', tmp_path, '--dataset_mode', 'unaligned', '--load_size', '36', '--crop_size', '32')
    dataset = create_dataset(opt)
    assert len(dataset) == 3  # depth maps in trainA/depths are not images of domain A
    batch = first_batch(opt)
    assert batch['A'].shape == batch['B'].shape == (1, 3, 32, 32)
    assert batch['A'].min() >= -1 and batch['A'].max() <= 1
    opt = make_opt(tmp_path / 'u' / 'testA', tmp_path, '--dataset_mode', 'single', '--load_size', '32', '--crop_size', '32')
    assert first_batch(opt)['A'].shape == (1, 3, 32, 32)


def test_colorization_mode(tmp_path):
    make_paired(str(tmp_path / 'c'), 32, {'train': 2}, seed=0)
    opt = make_opt(tmp_path / 'c', tmp_path, '--model', 'colorization', '--load_size', '32', '--crop_size', '32')
    batch = first_batch(opt)
    assert batch['A'].shape == (1, 1, 32, 32) and batch['B'].shape == (1, 2, 32, 32)
    assert batch['A'].min() >= -1 and batch['A'].max() <= 1


@pytest.mark.parametrize('preprocess,size,expected', [
    ('resize_and_crop', (50, 30), (32, 32)),
    ('crop', (50, 40), (32, 32)),
    ('scale_width', (60, 30), (32, 36)),  # height kept >= crop_size
    ('scale_width_and_crop', (60, 30), (32, 32)),
    ('none', (50, 30), (32, 48)),
])
def test_preprocess_sizes(tmp_path, preprocess, size, expected):
    folder = tmp_path / 'img'
    os.makedirs(folder)
    Image.new('RGB', size, (10, 200, 30)).save(folder / 'a.png')
    opt = make_opt(folder, tmp_path, '--dataset_mode', 'single', '--preprocess', preprocess, '--load_size', '36',
                   '--crop_size', '32', '--netG', 'resnet_9blocks')
    assert tuple(first_batch(opt)['A'].shape[2:]) == expected


def test_preprocess_none_rounds_to_what_the_unet_needs(tmp_path):
    folder = tmp_path / 'img'
    os.makedirs(folder)
    Image.new('RGB', (70, 40), (10, 200, 30)).save(folder / 'a.png')
    opt = make_opt(folder, tmp_path, '--dataset_mode', 'single', '--preprocess', 'none', '--netG', 'unet_32')
    assert tuple(first_batch(opt)['A'].shape[2:]) == (32, 64)


def test_image_formats(tmp_path):
    gray = tmp_path / 'gray.png'
    Image.fromarray(np.full((8, 10), 100, np.uint8), 'L').save(gray)
    assert load_image(str(gray)).getpixel((0, 0)) == (100, 100, 100)
    rgba = tmp_path / 'rgba.png'
    Image.new('RGBA', (8, 8), (255, 0, 0, 0)).save(rgba)
    assert load_image(str(rgba)).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    deep = tmp_path / 'deep.png'
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(deep)
    assert load_image(str(deep)).getpixel((0, 0)) == (255, 255, 255)
    Image.fromarray(np.full((8, 8), 257 * 128, np.uint16)).save(deep)
    assert load_image(str(deep), mode='L').getpixel((0, 0)) == 128
    palette = tmp_path / 'p.png'
    Image.new('RGB', (8, 8), (0, 0, 255)).convert('P').save(palette)
    assert load_image(str(palette)).getpixel((1, 1)) == (0, 0, 255)


def test_missing_and_empty_folders_show_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist.*\n.*expected layout'):
        create_dataset(make_opt(tmp_path / 'nothing', tmp_path, '--dataset_mode', 'aligned'))
    os.makedirs(tmp_path / 'empty' / 'trainA')
    with pytest.raises(FileNotFoundError, match='contains no images'):
        create_dataset(make_opt(tmp_path / 'empty', tmp_path, '--dataset_mode', 'unaligned'))


def test_corrupt_image_names_its_path_or_is_skipped(tmp_path):
    folder = tmp_path / 'bad'
    os.makedirs(folder)
    Image.new('RGB', (32, 32), (1, 2, 3)).save(folder / 'a_good.png')
    (folder / 'b_broken.png').write_bytes(b'\x89PNG\r\n\x1a\nnot really a png')
    opt = make_opt(folder, tmp_path, '--dataset_mode', 'single', '--serial_batches', '--batch_size', '2',
                   '--load_size', '32', '--crop_size', '32')
    with pytest.raises(BadImageError, match='b_broken.png.*--skip_bad_images'):
        list(create_dataset(opt))
    opt = make_opt(folder, tmp_path, '--dataset_mode', 'single', '--serial_batches', '--batch_size', '2',
                   '--load_size', '32', '--crop_size', '32', '--skip_bad_images')
    batches = list(create_dataset(opt))
    assert batches[0]['A_paths'] == [str(folder / 'a_good.png')] * 2


def test_items_do_not_depend_on_workers_or_resume_position(tmp_path):
    make_paired(str(tmp_path / 'p'), 40, {'train': 6}, seed=1)
    args = ['--dataset_mode', 'aligned', '--load_size', '40', '--crop_size', '32', '--batch_size', '2']
    serial = create_dataset(make_opt(tmp_path / 'p', tmp_path, *args))
    serial.set_epoch(2)
    batches = list(serial)
    workers = create_dataset(make_opt(tmp_path / 'p', tmp_path, *args, '--num_threads', '2'))
    workers.set_epoch(2)
    for ours, theirs in zip(batches, workers):
        assert torch.equal(ours['A'], theirs['A']) and ours['A_paths'] == theirs['A_paths']
    serial.set_epoch(2, start_batch=1)
    assert torch.equal(next(iter(serial))['A'], batches[1]['A'])
    serial.set_epoch(3)
    assert [b['A_paths'] for b in serial] != [b['A_paths'] for b in batches]  # a new order each epoch


def test_skip_bad_images_with_nothing_readable_is_a_clear_error(tmp_path):
    folder = tmp_path / 'allbad'
    os.makedirs(folder)
    for name in ('a.png', 'b.png'):
        (folder / name).write_bytes(b'not an image')
    opt = make_opt(folder, tmp_path, '--dataset_mode', 'single', '--skip_bad_images', '--load_size', '32',
                   '--crop_size', '32')
    with pytest.raises(BadImageError, match='every image of the dataset is unreadable.*b.png|a.png'):
        list(create_dataset(opt))


def test_eval_dataset_reads_the_held_out_split_in_order_unsharded_and_sized_like_test(tmp_path):
    make_paired(str(tmp_path / 'p'), 40, {'train': 2, 'val': 5}, seed=0)
    opt = make_opt(tmp_path / 'p', tmp_path, '--model', 'pix2pix', '--preprocess', 'crop', '--crop_size', '32',
                   '--batch_size', '2')
    opt.world_size, opt.rank = 2, 1  # another process of a distributed run: the held-out split is not sharded
    dataset = create_eval_dataset(opt, 'val', 3)
    assert (opt.phase, opt.preprocess, opt.world_size) == ('train', 'crop', 2)  # the run's options are untouched
    batches = list(dataset)
    assert [os.path.basename(p) for b in batches for p in b['A_paths']] == ['1.png', '2.png', '3.png']
    assert batches[0]['A'].shape == (2, 3, 32, 32)
    # like test.py: the whole image resized to --crop_size, no random crop position and no flip
    AB = load_image(str(tmp_path / 'p' / 'val' / '1.png'))
    whole = to_tensor(AB.crop((0, 0, 40, 40)).resize((32, 32), Image.BICUBIC))
    assert torch.allclose(batches[0]['A'][0], whole)
    assert torch.equal(next(iter(dataset))['A'], batches[0]['A'])  # the same items at every pass
    cropped = next(iter(create_eval_dataset(opt, 'val', 3, test_preprocess=False)))['A'][0]
    assert cropped.shape == (3, 32, 32) and not torch.allclose(cropped, whole)  # training preprocessing (crop)
