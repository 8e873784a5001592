"""Invert images into BlobGAN blobs: encoder estimate, then optimisation (latent, then blob parameters).

    python -m tools.blobgan.invert --generator checkpoints/NAME/latest_blobgan_G_ema.ckpt \
        --encoder checkpoints/NAME/encoder.ckpt --dataroot DIR --out_dir results/NAME/inversion \
        [--n_iter_latent 200 --n_iter_blobs 200 --vgg_weights vgg16.pth]

Without --dataroot, --num_generated generated images are inverted (their layouts are known, useful to check).
Per batch: snapshot_<b>.png (rows: originals, encoder reconstructions, optimised reconstructions, layouts) and
inversion_<b>.pt with image_names, latent_enc, latent, blob_optim, history. Without --encoder the optimisation
starts from the mean latent.
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

from models.blobgan.draw import draw_layout
from models.blobgan.encoder_training import freeze
from models.blobgan.inversion import invert
from models.blobgan.io import load_encoder, load_generator
from models.blobgan.perceptual import VGGPerceptualLoss
from tools.blobgan.common import (
    FolderImages,
    list_images,
    resolve_device,
    save_grid,
    to_cpu,
)


def add_inversion_args(p):
    p.add_argument('--generator', required=True, help='generator bundle (<label>_blobgan_G_ema.ckpt)')
    p.add_argument('--encoder', default=None, help='encoder checkpoint (start point of the optimisation)')
    p.add_argument('--dataroot', default=None, help='folder of real images to invert')
    p.add_argument('--max_images', type=int, default=None, help='invert at most this many images')
    p.add_argument('--num_generated', type=int, default=4, help='without --dataroot: invert this many samples')
    p.add_argument('--batch_size', type=int, default=4, help='images optimised together')
    p.add_argument('--n_iter_latent', type=int, default=200, help='steps optimising the latent at mlp_idx')
    p.add_argument('--n_iter_blobs', type=int, default=100, help='steps optimising the blob parameters')
    p.add_argument('--lr_latent', type=float, default=0.01, help='Adam lr of the latent stage')
    p.add_argument('--lr_blobs', type=float, default=0.01, help='Adam lr of the blob stage')
    p.add_argument('--lambda_l1', type=float, default=1.0, help='pixel L1 weight')
    p.add_argument('--lambda_perc', type=float, default=1.0, help='VGG perceptual weight (with --vgg_weights)')
    p.add_argument('--vgg_weights', default=None, help='local torchvision vgg16 weights for the perceptual loss')
    p.add_argument('--mlp_idx', type=int, default=-1, help='latent layer when no encoder is given')
    p.add_argument('--out_dir', required=True, help='where snapshots and metadata go')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--seed', type=int, default=0, help='seed for generated images')
    return p


def image_batches(args, gen, device):
    """Yields (images, names, true_layout_or_None) batches from --dataroot or generated samples."""
    if args.dataroot:
        h, w = gen.out_shape
        ds = FolderImages(list_images(args.dataroot, args.max_images), h, w)
        loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=False)
        for imgs, names in loader:
            yield imgs.to(device), list(names), None
    else:
        g = torch.Generator().manual_seed(args.seed)
        for start in range(0, args.num_generated, args.batch_size):
            n = min(args.batch_size, args.num_generated - start)
            with torch.no_grad():
                img, lay = gen(gen.sample_noise(n, generator=g, device=device), noise_mode='const', return_layout=True)
            yield img, [f'generated_{start + i:05d}' for i in range(n)], lay


def setup(args):
    device = resolve_device(args.device)
    gen = freeze(load_generator(args.generator, device))
    encoder, mlp_idx = None, args.mlp_idx
    if args.encoder:
        encoder, mlp_idx, _ = load_encoder(args.encoder, device)
    perceptual = VGGPerceptualLoss(args.vgg_weights).to(device) if args.vgg_weights else None
    return device, gen, encoder, mlp_idx, perceptual


def invert_batch(args, gen, encoder, mlp_idx, perceptual, images):
    """Encoder + optimisation for one batch; returns (result dict, encoder latent or None, encoder recon)."""
    latent_enc, rec_enc = None, None
    if encoder is not None:
        with torch.no_grad():
            latent_enc = encoder(images)
            rec_enc = gen.from_latent(latent_enc, mlp_idx, noise_mode='const')
    res = invert(gen, images, latent_enc, mlp_idx, args.n_iter_latent, args.n_iter_blobs, args.lr_latent,
                 args.lr_blobs, perceptual, args.lambda_l1, args.lambda_perc if perceptual is not None else 0.0)
    return res, latent_enc, rec_enc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_inversion_args(p).parse_args(argv)
    torch.manual_seed(args.seed)
    device, gen, encoder, mlp_idx, perceptual = setup(args)
    os.makedirs(args.out_dir, exist_ok=True)
    summary = []
    for b, (images, names, _) in enumerate(image_batches(args, gen, device)):
        res, latent_enc, rec_enc = invert_batch(args, gen, encoder, mlp_idx, perceptual, images)
        start_l1 = F.l1_loss(rec_enc, images).item() if rec_enc is not None else None
        end_l1 = F.l1_loss(res['recon'], images).item()
        rows = [images] + ([rec_enc] if rec_enc is not None else []) + \
               [res['recon'], draw_layout(res['recon'], res['layout'], gen.sharpness)]
        save_grid(rows, os.path.join(args.out_dir, f'snapshot_{b:04d}.png'))
        torch.save(to_cpu({'image_names': names, 'latent_enc': latent_enc, 'latent': res['latent'],
                           'blob_optim': res['layout'], 'history': res['history'], 'mlp_idx': mlp_idx}),
                   os.path.join(args.out_dir, f'inversion_{b:04d}.pt'))
        hist = res['history']
        print(f'batch {b}: {len(names)} images, loss {hist[0]:.4f} -> {hist[-1]:.4f}, pixel L1 '
              + (f'encoder {start_l1:.4f} -> ' if start_l1 is not None else '') + f'optimised {end_l1:.4f}')
        summary.append({'batch': b, 'loss_start': hist[0], 'loss_end': hist[-1], 'l1': end_l1})
    print(f'wrote {len(summary)} batches to {args.out_dir}')
    return summary


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
