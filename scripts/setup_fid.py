"""Precompute FID statistics of real images for BlobGAN (torch-fidelity, project-local cache).

    python scripts/setup_fid.py --path DIR --name bdd_rect_256 --n_imgs 50_000 --shuffle -bs 32 --device cuda \
        [--size 256 --aspect_ratio 2] [--inception_weights pt_inception.pth]

Statistics go to the project's .fid_stats/ folder (or --stats_dir), never into site-packages; names are
lowercased. Give --size/--aspect_ratio (or --generator CKPT) so real images are cropped to the generator's
shape, as compute_fid.py's samples are.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.blobgan.script_utils import Uint8Images, list_images  # noqa: E402
import metrics as M  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument('--stats_dir', default=None, help=f'cache folder (default {M.DEFAULT_CACHE_DIR})')
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
    files = list_images(args.path, args.n_imgs, args.shuffle, args.seed)
    size, ar = args.size, args.aspect_ratio
    if args.generator:
        from models.blobgan.io import load_generator
        cfg = load_generator(args.generator).config
        size, ar = cfg['size'], cfg['aspect_ratio']
    if size:
        real = Uint8Images(files, size, int(round(size * ar)))
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
