"""Pretrain the BlobGAN inversion encoder on generated images (OCTET's first encoder stage, BlobGANEX
pretrain_encoder.py): latent MSE only, Adam lr 0.005, StepLR(2500, 0.5), batch 8, 150k iterations.

    python -m tools.blobgan.pretrain_encoder --generator checkpoints/NAME/latest_blobgan_G_ema.ckpt \
        --out checkpoints/NAME/encoder_pretrained.ckpt [--mlp_idx -1 --n_iters 150000 --batch_size 8 --lr 0.005]

The encoder (StyleGAN2 discriminator architecture without minibatch stddev) predicts the layout network's activation
entering layer --mlp_idx (-1: the last linear layer's 1024-d input); inverting there is far smaller than the blob space.
"""
import argparse
import os
import sys

import torch

from tools.blobgan.octet.encoder_training import PUBLISHED_PRETRAIN, freeze, generated_batch, pretrain_step
from models.blobgan.io import load_encoder, load_generator, make_encoder, save_encoder
from tools.blobgan.common import resolve_device


def add_common(p, defaults):
    p.add_argument('--generator', required=True, help='generator bundle (<label>_blobgan_G_ema.ckpt) or published .ckpt')
    p.add_argument('--out', required=True, help='where to write the encoder checkpoint')
    p.add_argument('--n_iters', type=int, default=defaults['n_iters'], help='optimisation steps')
    p.add_argument('--batch_size', type=int, default=defaults['batch_size'], help='images per step (per source)')
    p.add_argument('--lr', type=float, default=defaults['lr'], help='Adam learning rate')
    p.add_argument('--step_size', type=int, default=defaults['step_size'], help='StepLR: halve the lr every N steps')
    p.add_argument('--gamma', type=float, default=defaults['gamma'], help='StepLR factor')
    p.add_argument('--encoder_c_model', type=int, default=64,
                   help='encoder width unit (StyleGAN2 discriminator widths: 512, 512, 256, 128 at 256 px)')
    p.add_argument('--device', default='auto', help='cpu, cuda or auto')
    p.add_argument('--seed', type=int, default=0, help='random seed')
    p.add_argument('--log_every', type=int, default=100, help='print losses every N steps')
    p.add_argument('--save_every', type=int, default=2000, help='write the checkpoint every N steps')
    p.add_argument('--render', default='published', choices=['published', 'fixed'],
                   help="how generated images are rendered: 'published' (fresh per-layer noise and the generator's "
                        "training jitter, as BlobGANEX's encoder scripts) or 'fixed' (constant noise, no jitter)")
    return p


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p, PUBLISHED_PRETRAIN)
    p.add_argument('--mlp_idx', type=int, default=-1, help='layout-MLP layer whose input the encoder predicts')
    p.add_argument('--resume', default=None, help='continue from this encoder checkpoint')
    return p


def run(args, encoder, stage, step_fn):
    """Adam + StepLR loop shared by both encoder stages; step_fn(optimizer) -> dict of float losses."""
    encoder.train()
    opt = torch.optim.Adam(encoder.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.step_size, gamma=args.gamma)
    history = []
    for it in range(1, args.n_iters + 1):
        losses = step_fn(opt)
        sched.step()
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
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    gen = freeze(load_generator(args.generator, device))
    if args.resume:
        encoder, mlp_idx, _ = load_encoder(args.resume, device, gen)
    else:
        mlp_idx = args.mlp_idx
        encoder = make_encoder(gen, mlp_idx, c_model=args.encoder_c_model).to(device)

    def step(opt):
        img, h, _, _ = generated_batch(gen, args.batch_size, mlp_idx, device, args.render == 'published')
        return pretrain_step(encoder, gen, opt, mlp_idx, img, h)
    return run(args, encoder, 'pretrain', step)


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
