"""How many images per second the dataset modes deliver, per loader worker and in total.

    python -m tools.bench.data_loading --mode aligned --size 256 --count 64 --workers 0 2
    python -m tools.bench.data_loading --mode unaligned --size 256 --count 64 --workers 0 2 --json out.json

It writes ``--count`` synthetic JPEG files of ``--size`` px (aligned: A|B pairs 2 x size wide, unaligned: one
folder per domain) to a temporary folder, builds the loader through the real option parser and
``data.create_dataset`` (default --preprocess: resize to load_size, random crop, flip), and times whole
epochs. With 0 workers the main process loads, so its CPU time per item is what one worker spends; with N
workers the wall-clock rate is what training gets. ``--stages`` also times one item's stages (decode,
resize, crop and flip, tensor) so that the slowest one shows.
"""
import argparse
import contextlib
import io
import json
import os
import random
import tempfile
import time

import torch
from PIL import Image

from data import create_dataset
from data.base_dataset import get_params, get_transform, load_image, to_tensor
from datasets.make_synthetic_dataset import make_paired, make_unpaired
from options.train_options import TrainOptions
from util.cli import run_cli


def write_jpegs(root, mode, size, count, seed=0):
    """Synthetic PNG datasets converted to quality-90 JPEG files (as the published pix2pix/CycleGAN sets)."""
    if mode == 'aligned':
        make_paired(root, size, {'train': count}, seed)
    else:
        make_unpaired(root, size, {'train': count}, seed)
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.png'):
                path = os.path.join(folder, name)
                Image.open(path).convert('RGB').save(path[:-4] + '.jpg', quality=90)
                os.remove(path)


def build_loader(root, mode, size, batch_size, workers):
    args = ['--dataroot', root, '--dataset_mode', mode, '--model', 'pix2pix' if mode == 'aligned' else 'cycle_gan',
            '--load_size', str(int(round(size * 286 / 256))), '--crop_size', str(size), '--batch_size', str(batch_size),
            '--num_threads', str(workers), '--gpu_ids', '-1', '--seed', '0', '--name', 'bench_data',
            '--checkpoints_dir', os.path.join(root, 'ck'), '--display_id', '0']
    with contextlib.redirect_stdout(io.StringIO()):  # the options table
        opt = TrainOptions(args).parse(save=False)
        return opt, create_dataset(opt)


def time_epochs(loader, epochs):
    """Images per second over ``epochs`` whole epochs (after one warm-up epoch that starts the workers)."""
    loader.set_epoch(1)
    for _ in loader:
        pass
    images, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    for epoch in range(2, 2 + epochs):
        loader.set_epoch(epoch)
        for batch in loader:
            images += batch['A'].shape[0]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {'images': images, 'images_per_s': images / wall, 'main_cpu_ms_per_image': 1000 * cpu / images}


def time_stages(opt, path, repeats, aligned):
    """CPU milliseconds per stage of one item (one image, or both halves of one A|B file), averaged over ``repeats``."""
    stages = {'decode': 0.0, 'resize_crop_flip': 0.0, 'to_tensor': 0.0}
    for i in range(repeats):
        t0 = time.process_time()
        img = load_image(path)
        w, h = img.size
        parts = [img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))] if aligned else [img]
        t1 = time.process_time()
        params = get_params(opt, parts[0].size, random.Random(i))
        parts = [get_transform(opt, params, convert=False)(part) for part in parts]
        t2 = time.process_time()
        for part in parts:
            to_tensor(part)
        t3 = time.process_time()
        stages['decode'] += t1 - t0
        stages['resize_crop_flip'] += t2 - t1
        stages['to_tensor'] += t3 - t2
    return {k: 1000 * v / repeats for k, v in stages.items()}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--mode', default='aligned', choices=['aligned', 'unaligned'], help='dataset mode to measure')
    p.add_argument('--size', type=int, default=256, help='crop size in pixels (files are this size per domain)')
    p.add_argument('--count', type=int, default=64, help='number of files (pairs, or images per domain)')
    p.add_argument('--batch_size', type=int, default=16, help='loader batch size')
    p.add_argument('--workers', type=int, nargs='+', default=[0, 2], help='--num_threads values to measure')
    p.add_argument('--epochs', type=int, default=2, help='timed epochs per worker count (after one warm-up epoch)')
    p.add_argument('--stages', type=int, default=20, help='items for the per-stage timing (0: skip)')
    p.add_argument('--json', default=None, help='also write the results to this JSON file')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)  # as in a loader worker (torch sets one thread there): the 0-worker row is one worker
    results = {'mode': args.mode, 'size': args.size, 'count': args.count, 'cpu_count': os.cpu_count(), 'runs': {}}
    with tempfile.TemporaryDirectory() as root:
        write_jpegs(root, args.mode, args.size, args.count)
        for workers in args.workers:
            opt, loader = build_loader(root, args.mode, args.size, args.batch_size, workers)
            results['runs'][workers] = time_epochs(loader, args.epochs)
            r = results['runs'][workers]
            print(f"{args.mode}, {args.size} px JPEG, --num_threads {workers}: {r['images_per_s']:.1f} images/s "
                  f"(main process {r['main_cpu_ms_per_image']:.1f} CPU ms per image)")
        if args.stages:
            folder = os.path.join(root, 'train' if args.mode == 'aligned' else 'trainA')
            path = os.path.join(folder, sorted(os.listdir(folder))[0])
            results['stages_ms'] = time_stages(opt, path, args.stages, args.mode == 'aligned')
            print('one item, CPU ms per stage: ' + ', '.join(f'{k} {v:.2f}' for k, v in results['stages_ms'].items()))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
