"""FID of a BlobGAN generator against statistics cached by setup_fid.py, through metrics.evaluate: the metric
clean_fid (--fid_backend clean-fid, published) or fid (torch-fidelity); --out writes it as metrics.json does.

    python -m tools.blobgan.compute_fid checkpoints/NAME/latest_blobgan_G_ema.ckpt --num_gen 50_000 --batch_size 16 \
        --dataset_name bdd_rect_256 [--inception_weights pt_inception.pth] [--device cuda]

Samples use fresh per-layer noise from --seed. clean-fid draws its own z per batch (--batch_size) and scores the
[0, 255] float images directly. torch-fidelity: up to --max_in_memory images are scored from memory; larger
runs are written as PNGs to a temporary folder (or --save_dir) first, so 50k samples never fill the RAM.
"""
import argparse
import sys
import tempfile

import torch

from models.blobgan.io import load_generator
import metrics as M
from tools.blobgan.common import resolve_device, save_images


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='generator bundle (<label>_blobgan_G_ema.ckpt) or *_net_G_ema.pth')
    p.add_argument('--num_gen', type=int, default=50000, help='number of generated images')
    p.add_argument('--jitter', action='store_true',
                   help="sample with the generator's training jitter, as the published FID does (default: none)")
    p.add_argument('--fid_backend', default='clean-fid', choices=list(M.FID_BY_BACKEND),
                   help='FID implementation: clean-fid (published, BlobGANEX compute_clean_fid.py) or torch-fidelity')
    p.add_argument('--dataset_name', required=True, help='name given to setup_fid.py (lowercased)')
    p.add_argument('--batch_size', type=int, default=16, help='generation and Inception batch size')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--seed', type=int, default=0, help='seed of the sampled noise')
    p.add_argument('--inception_weights', default=None, help='local InceptionV3 weights file')
    p.add_argument('--stats_dir', default=None,
                   help=f'cache folder (default {M.DEFAULT_CACHE_DIR}; clean-fid: {M.clean_fid.DEFAULT_STATS_DIR})')
    p.add_argument('--max_in_memory', type=int, default=5000, help='score at most this many images from memory')
    p.add_argument('--save_dir', default=None, help='keep the generated PNGs here')
    p.add_argument('--out', default=None,
                   help='also write the result to this JSON file (metrics.json format: {"clean_fid" or "fid": ..., '
                        '"num_gen": ...})')
    return p


@torch.no_grad()
def generate_batches(gen, n, batch_size, device, seed, jitter=False):
    torch.manual_seed(seed)
    for start in range(0, n, batch_size):
        z = gen.sample_noise(min(batch_size, n - start), device=device)
        yield start, gen(z, noise_mode='random', jitter=jitter).clamp(-1, 1).cpu()


def main(argv=None):
    args = build_parser().parse_args(argv)
    name = M.normalize_cache_name(args.dataset_name)
    device = resolve_device(args.device)
    gen = load_generator(args.checkpoint, device)
    metric = M.FID_BY_BACKEND[args.fid_backend]
    tmp = None
    if metric == 'clean_fid':
        torch.manual_seed(args.seed)

        def gen_fn(z):  # published gen(z, ema=True, norm_img=True): EMA generator, random noise, [0, 255]
            return gen(z, noise_mode='random', jitter=args.jitter).add(1).div(2).mul(255)
        source = M.GeneratorSamples(gen_fn, gen.noise_dim, args.num_gen, args.batch_size)
    else:
        M.cached_statistics_info(name, args.inception_weights, args.stats_dir)  # fail early if stats are missing
        if args.num_gen < 2:
            raise ValueError('--num_gen must be at least 2')
        batches = generate_batches(gen, args.num_gen, args.batch_size, device, args.seed, args.jitter)
        if args.num_gen <= args.max_in_memory and not args.save_dir:
            source = torch.cat([b for _, b in batches])
        else:
            tmp = None if args.save_dir else tempfile.TemporaryDirectory()
            source = args.save_dir or tmp.name
            for start, batch in batches:
                save_images(batch, source, [f'{start + i:06d}.png' for i in range(batch.shape[0])])
    try:
        with torch.no_grad():
            out = M.evaluate(source, metrics=[metric], weights_path=args.inception_weights, real_cache_name=name,
                             cache_dir=args.stats_dir, device=device.type, batch_size=args.batch_size)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(f"FID {out[metric]:.4f} ({args.fid_backend}, {args.num_gen} samples of {args.checkpoint} vs '{name}')")
    if args.out:
        M.write_metrics_json(args.out, {**out, 'num_gen': args.num_gen})
    return out


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
