"""Invert images into BlobGAN blobs as OCTET does: the encoder's layout, then 400 Adam steps on the blob parameters
(lr 0.02, sizes 0.04, StepLR(100, 0.5)) for LPIPS + 0.1 MSE + 0.1 proximity to the encoder's layout.

    python -m tools.blobgan.invert --generator G.ckpt --encoder enc.ckpt --dataroot DIR --out_dir inv \
        --vgg_weights vgg16-397923af.pth

Without --dataroot, --num_generated generated images are inverted (their layouts are known, useful to check).
Per batch: snapshot_<b>.png (rows: originals, encoder reconstructions, optimised reconstructions, layouts) and
inversion_<b>.pt with image_names, latent_enc, latent, blob_optim, lpips, history; counterfactuals can reuse them
(--load_inversion). Without --encoder the optimisation starts from the mean latent.
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

from models.blobgan.draw import draw_layout
from tools.blobgan.octet.encoder_training import freeze
from tools.blobgan.octet.inversion import PUBLISHED_INV, invert
from models.blobgan.io import load_encoder, load_generator
from models.blobgan.lpips_loss import LPIPSLoss
from tools.blobgan.common import FolderImages, add_resize_arg, list_images, resolve_device, save_grid, to_cpu


def add_inversion_args(p):
    p.add_argument('--generator', required=True, help='generator bundle (<label>_blobgan_G_ema.ckpt) or published .ckpt')
    p.add_argument('--encoder', default=None, help='encoder checkpoint (start point of the optimisation)')
    p.add_argument('--dataroot', default=None, help='folder of real images to invert')
    p.add_argument('--max_images', type=int, default=None, help='invert at most this many images')
    p.add_argument('--num_generated', type=int, default=4, help='without --dataroot: use this many generated scenes')
    p.add_argument('--truncate', type=float, default=0.3,
                   help='truncation of generated scenes (published 0.3; 0 = none)')
    p.add_argument('--batch_size', type=int, default=6, help='images optimised together (published 6)')
    p.add_argument('--n_iter_latent', type=int, default=0,
                   help='optional first stage on the latent at mlp_idx (not in the published code: 0)')
    p.add_argument('--n_iter_blobs', type=int, default=PUBLISHED_INV['n_iter'], help='steps on the blob parameters')
    p.add_argument('--lr_latent', type=float, default=0.01, help='Adam lr of the optional latent stage')
    p.add_argument('--lr_blobs', type=float, default=PUBLISHED_INV['lr'], help='Adam lr of the blob parameters')
    p.add_argument('--lr_blob_sizes', type=float, default=PUBLISHED_INV['lr_sizes'], help='Adam lr of the blob sizes in the inversion')
    p.add_argument('--step_size', type=int, default=PUBLISHED_INV['step_size'], help='StepLR period (steps)')
    p.add_argument('--gamma', type=float, default=PUBLISHED_INV['gamma'], help='StepLR factor')
    p.add_argument('--lambda_lpips', type=float, default=PUBLISHED_INV['lambda_lpips'], help='LPIPS weight')
    p.add_argument('--lambda_mse', type=float, default=PUBLISHED_INV['lambda_mse'], help='pixel MSE weight')
    p.add_argument('--lambda_inv_prox', type=float, default=PUBLISHED_INV['lambda_prox'],
                   help='weight of the proximity (MSE) to the encoder layout')
    p.add_argument('--vgg_weights', default=None,
                   help="VGG16 weights for LPIPS (torchvision's vgg16 file, or 'imagenet' to download)")
    p.add_argument('--lpips_lin_weights', default=None,
                   help="LPIPS linear-layer weights file (default: the lpips package's vgg.pth)")
    p.add_argument('--mlp_idx', type=int, default=-1, help='latent layer when no encoder is given')
    p.add_argument('--out_dir', required=True, help='where snapshots and metadata go')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--seed', type=int, default=0, help='seed for generated images')
    return add_resize_arg(p)


def image_batches(args, gen, device):
    """Yields (images, names, true_layout_or_None) batches from --dataroot or generated (truncated) samples."""
    if args.dataroot:
        h, w = gen.out_shape
        ds = FolderImages(list_images(args.dataroot, args.max_images), h, w, args.image_resize)
        loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=False)
        for imgs, names in loader:
            yield imgs.to(device), list(names), None
    else:
        g = torch.Generator().manual_seed(args.seed)
        for start in range(0, args.num_generated, args.batch_size):
            n = min(args.batch_size, args.num_generated - start)
            with torch.no_grad():
                img, lay = gen(gen.sample_noise(n, generator=g, device=device), noise_mode='const',
                               return_layout=True, truncate=args.truncate or None)
            yield img, [f'generated_{start + i:05d}' for i in range(n)], lay


def setup(args):
    device = resolve_device(args.device)
    gen = freeze(load_generator(args.generator, device))
    encoder, mlp_idx = None, args.mlp_idx
    if args.encoder:
        encoder, mlp_idx, _ = load_encoder(args.encoder, device, gen)
    lpips = None
    if args.lambda_lpips > 0:
        if not args.vgg_weights:
            raise ValueError("the published inversion loss is LPIPS-based: pass --vgg_weights (torchvision's vgg16 "
                             "file, or 'imagenet'), or --lambda_lpips 0 to leave LPIPS out")
        lpips = LPIPSLoss(args.vgg_weights, args.lpips_lin_weights).to(device)
    return device, gen, encoder, mlp_idx, lpips


def invert_batch(args, gen, encoder, mlp_idx, lpips, images, decision=None, lambda_decision=0.0):
    """Encoder + optimisation for one batch; returns (result dict, encoder latent or None, encoder recon).
    ``lambda_decision`` > 0 adds the decision-feature MSE of ``decision`` (published in the diversity script)."""
    latent_enc, rec_enc = None, None
    if encoder is not None:
        with torch.no_grad():
            latent_enc = encoder(images)
            rec_enc = gen.from_latent(latent_enc, mlp_idx, noise_mode='const')
    res = invert(gen, images, latent_enc, mlp_idx, args.n_iter_latent, args.n_iter_blobs, args.lr_latent,
                 args.lr_blobs, args.lr_blob_sizes, args.step_size, args.gamma, lpips, decision, args.lambda_lpips,
                 args.lambda_mse, args.lambda_inv_prox, lambda_decision)
    return res, latent_enc, rec_enc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_inversion_args(p).parse_args(argv)
    torch.manual_seed(args.seed)
    device, gen, encoder, mlp_idx, lpips = setup(args)
    os.makedirs(args.out_dir, exist_ok=True)
    summary = []
    for b, (images, names, _) in enumerate(image_batches(args, gen, device)):
        res, latent_enc, rec_enc = invert_batch(args, gen, encoder, mlp_idx, lpips, images)
        start_l1 = F.l1_loss(rec_enc, images).item() if rec_enc is not None else None
        end_l1 = F.l1_loss(res['recon'], images).item()
        rows = [images] + ([rec_enc] if rec_enc is not None else []) + \
               [res['recon'], draw_layout(res['recon'], res['layout'], gen.ab_norm)]
        save_grid(rows, os.path.join(args.out_dir, f'snapshot_{b:04d}.png'))
        torch.save(to_cpu({'image_names': names, 'latent_enc': latent_enc, 'latent': res['latent'],
                           'blob_optim': res['layout'], 'lpips': res['lpips'], 'history': res['history'],
                           'mlp_idx': mlp_idx}),
                   os.path.join(args.out_dir, f'inversion_{b:04d}.pt'))
        hist = res['history'] or [float('nan')]
        print(f'batch {b}: {len(names)} images, loss {hist[0]:.4f} -> {hist[-1]:.4f}, pixel L1 '
              + (f'encoder {start_l1:.4f} -> ' if start_l1 is not None else '') + f'optimised {end_l1:.4f}')
        summary.append({'batch': b, 'loss_start': hist[0], 'loss_end': hist[-1], 'l1': end_l1})
    print(f'wrote {len(summary)} batches to {args.out_dir}')
    return summary


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
