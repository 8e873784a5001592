"""Pretrain the BlobGAN inversion encoder on generated images (OCTET's first encoder stage).

    python -m tools.blobgan.pretrain_encoder --generator checkpoints/NAME/latest_blobgan_G_ema.ckpt \
        --out checkpoints/NAME/encoder_pretrained.ckpt --mlp_idx -1 --n_iters 100000 --batch_size 8 --lr 1e-4

The encoder (StyleGAN2 discriminator trunk) predicts the layout network's activation entering layer --mlp_idx
(-1: the last hidden layer, size --layout_hidden); inverting there is far smaller than the blob space.
Loss: lambda_latent * MSE(latent) + lambda_l1 * L1(image) (+ lambda_perc * VGG when --vgg_weights is given).
"""
import argparse
import os
import sys

import torch

from models.blobgan.encoder_training import encoder_step, freeze, generated_batch
from models.blobgan.io import load_encoder, load_generator, make_encoder, save_encoder
from models.blobgan.perceptual import VGGPerceptualLoss
from tools.blobgan.common import resolve_device


def add_common(p):
    p.add_argument('--generator', required=True, help='generator bundle (<label>_blobgan_G_ema.ckpt)')
    p.add_argument('--out', required=True, help='where to write the encoder checkpoint')
    p.add_argument('--n_iters', type=int, default=10000, help='optimisation steps')
    p.add_argument('--batch_size', type=int, default=8, help='images per step (per source)')
    p.add_argument('--lr', type=float, default=1e-4, help='Adam learning rate')
    p.add_argument('--lambda_latent', type=float, default=1.0, help='weight of the latent MSE (generated images)')
    p.add_argument('--lambda_l1', type=float, default=1.0, help='weight of the pixel L1 reconstruction loss')
    p.add_argument('--lambda_perc', type=float, default=1.0, help='weight of the VGG loss (only with --vgg_weights)')
    p.add_argument('--vgg_weights', default=None, help='local torchvision vgg16 weights for the perceptual loss')
    p.add_argument('--channel_max', type=int, default=None, help='encoder width cap (default: the generator\'s)')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--seed', type=int, default=0, help='random seed')
    p.add_argument('--log_every', type=int, default=100, help='print losses every N steps')
    p.add_argument('--save_every', type=int, default=1000, help='write the checkpoint every N steps')
    return p


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument('--mlp_idx', type=int, default=-1, help='layout-MLP layer whose input the encoder predicts')
    p.add_argument('--resume', default=None, help='continue from this encoder checkpoint')
    return p


def setup(args):
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    gen = freeze(load_generator(args.generator, device))
    perceptual = VGGPerceptualLoss(args.vgg_weights).to(device) if args.vgg_weights else None
    return device, gen, perceptual


def run(args, encoder, gen, perceptual, device, mlp_idx, real_batches=None, stage='pretrain'):
    encoder.train()
    opt = torch.optim.Adam(encoder.parameters(), lr=args.lr, betas=(0.9, 0.999))
    history = []
    for it in range(1, args.n_iters + 1):
        img, h = generated_batch(gen, args.batch_size, mlp_idx, device)
        real = next(real_batches)[0].to(device) if real_batches is not None else None
        losses = encoder_step(encoder, gen, opt, mlp_idx, img, h, real, args.lambda_latent, args.lambda_l1,
                              args.lambda_perc if perceptual is not None else 0.0, perceptual)
        history.append(losses)
        if it % args.log_every == 0 or it == 1 or it == args.n_iters:
            print(f'[{stage}] step {it}/{args.n_iters} ' + ' '.join(f'{k}: {v:.4f}' for k, v in losses.items()))
        if it % args.save_every == 0 or it == args.n_iters:
            save_encoder(args.out, encoder, {'generator': os.path.abspath(args.generator), 'stage': stage,
                                             'steps': it, 'history': history})
    print(f'encoder written to {args.out}')
    return history


def main(argv=None):
    args = build_parser().parse_args(argv)
    device, gen, perceptual = setup(args)
    if args.resume:
        encoder, mlp_idx, _ = load_encoder(args.resume, device)
    else:
        mlp_idx = args.mlp_idx
        encoder = make_encoder(gen, mlp_idx, channel_max=args.channel_max).to(device)
    return run(args, encoder, gen, perceptual, device, mlp_idx)


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
