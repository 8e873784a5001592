"""Precompute FID statistics of real images for BlobGAN (clean-fid as published, or torch-fidelity).

    python -m tools.blobgan.setup_fid --path DIR --name bdd_rect_256 --n_imgs 50_000 --shuffle -bs 32 --device cuda \
        [--size 256 --aspect_ratio 2] [--fid_backend clean-fid|torch-fidelity] [--txt files.txt] [--center_crop] [-j 4]

clean-fid (default, BlobGANEX setup_fid.py): images resized to the generator's shape, clean resize, TorchScript
Inception (--inception_weights inception-2015-12-05.pt or 'download'); --txt lists file names relative to --path,
--center_crop resizes the shorter side and crops a square. torch-fidelity: --inception_weights pt_inception file.

Statistics go to the project's .fid_stats/ folder (or --stats_dir), never into site-packages; names are
lowercased. Give --size/--aspect_ratio (or --generator CKPT) so real images are cropped to the generator's
shape, as compute_fid.py's samples are.
"""
import argparse
import sys

import torch

import metrics as M
from metrics import clean_fid
from tools.blobgan.common import Uint8Images, list_images


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--fid_backend', default='clean-fid', choices=list(M.FID_BY_BACKEND),
                   help='FID implementation: clean-fid (published BlobGAN/BlobGANEX numbers) or torch-fidelity')
    p.add_argument('--txt', default=None, help='clean-fid: text file of image names relative to --path')
    p.add_argument('--center_crop', action='store_true',
                   help='clean-fid: resize the shorter side to --size and crop a centre square (square generators)')
    p.add_argument('--antialias', action='store_true',
                   help='clean-fid: antialias the resize to the generator shape (published: none, the uint8 tensor '
                        'resize of torchvision 0.12)')
    p.add_argument('-j', '--num_workers', type=int, default=0, help='clean-fid: image loading workers')
    p.add_argument('--action', default='compute_new', choices=['compute_new', 'info'],
                   help='compute_new: (re)compute statistics; info: show what is cached under --name')
    p.add_argument('--path', help='folder of real images (searched recursively)')
    p.add_argument('--name', required=True, help='statistics name (lowercased), used by compute_fid.py')
    p.add_argument('--n_imgs', type=int, default=50000, help='number of real images to use (50_000 is accepted)')
    p.add_argument('--shuffle', action='store_true', help='pick a random subset of --n_imgs images (--seed)')
    p.add_argument('--seed', type=int, default=0, help='seed of --shuffle')
    p.add_argument('-bs', '--batch_size', type=int, default=32, help='Inception batch size')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--size', type=int, default=None, help='crop images to this height (the generator\'s size)')
    p.add_argument('--aspect_ratio', type=float, default=1.0, help='width / height of the crops (with --size)')
    p.add_argument('--generator', default=None, help='take --size and --aspect_ratio from this generator checkpoint')
    p.add_argument('--inception_weights', default=None,
                   help='local InceptionV3 weights file (torch-fidelity\'s pt_inception-2015-12-05 file)')
    p.add_argument('--stats_dir', default=None,
                   help=f'cache folder (default {M.DEFAULT_CACHE_DIR}; clean-fid: {clean_fid.DEFAULT_STATS_DIR})')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    name = M.normalize_cache_name(args.name)
    if name != args.name:
        print(f'note: statistics name {args.name!r} is stored as {name!r}')
    if args.action == 'info':
        info = M.cached_statistics_info(name, args.inception_weights, args.stats_dir)
        print(info)
        return info
    if not args.path:
        raise ValueError('--path DIR is required to compute statistics')
    size, ar = args.size, args.aspect_ratio
    if args.generator:
        from models.blobgan.io import load_generator
        cfg = load_generator(args.generator).config
        size, ar = cfg['size'], cfg['aspect_ratio']
    if args.fid_backend == clean_fid.BACKEND:
        if not size:
            raise ValueError('clean-fid statistics need the generator shape: --size (and --aspect_ratio) or --generator')
        files = clean_fid.list_files(args.path, args.txt, args.n_imgs, args.shuffle, args.seed)
        device = 'cuda' if args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available()) else 'cpu'
        out = clean_fid.make_stats(files, name, size, ar, args.center_crop, args.inception_weights, args.stats_dir,
                                   args.batch_size, args.num_workers, device, antialias=args.antialias)
        print(f"clean-fid statistics '{name}' of {out['num_images']} images from {args.path} written to {out['path']}")
        return out
    if args.txt or args.center_crop:
        raise ValueError('--txt and --center_crop are clean-fid options (--fid_backend clean-fid)')
    files = list_images(args.path, args.n_imgs, args.shuffle, args.seed)
    if size:
        real = Uint8Images(files, size, round(size * ar))
    else:
        real = files
    device = 'cuda' if args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available()) else 'cpu'
    out = M.cache_real_statistics(real, name, weights_path=args.inception_weights, cache_dir=args.stats_dir,
                                  device=device, batch_size=args.batch_size)
    print(f"cached FID statistics '{name}' of {int(out['num_images'])} images from {args.path} in "
          f"{args.stats_dir or M.DEFAULT_CACHE_DIR} (Inception Score of the real set {out['isc']:.3f})")
    return out


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
