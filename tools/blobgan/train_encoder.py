"""Train a pretrained BlobGAN encoder on generated + real images (OCTET's second encoder stage, BlobGANEX
train_encoder.py): Adam lr 0.002, StepLR(5000, 0.5), batch 2, 150k iterations, losses

    fake: 1 * MSE + 1 * LPIPS + 0.1 * decision-feature MSE + 10 * blob-parameter MSE
    real: 0.1 * MSE + 1 * LPIPS + 0.05 * decision-feature MSE

    python -m tools.blobgan.train_encoder --generator G.ckpt --encoder enc_pre.ckpt --dataroot DIR --out enc.ckpt \
        --vgg_weights vgg16-397923af.pth --decision_model decision_densenet.tar

LPIPS needs --vgg_weights (torchvision's vgg16 file, or 'imagenet'); the decision terms need --decision_model (the
published DecisionDensenetModel checkpoint). Without them those terms are left out (say so with --lambda_* 0).
"""
import argparse
import sys

from tools.blobgan.octet.counterfactual import DecisionWrapper, load_decision_model
from tools.blobgan.octet.encoder_training import (PUBLISHED_TRAIN, PUBLISHED_TRAIN_LAMBDAS, blob_values, freeze,
                                                  generated_batch, train_step)
from models.blobgan.io import load_encoder, load_generator
from models.blobgan.lpips_loss import LPIPSLoss
from tools.blobgan import pretrain_encoder as pre
from tools.blobgan.common import FolderImages, add_resize_arg, infinite_batches, list_images, resolve_device


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    pre.add_common(p, PUBLISHED_TRAIN)
    p.add_argument('--encoder', required=True, help='encoder from pretrain_encoder (or train_encoder)')
    p.add_argument('--dataroot', required=True, help='folder of real images')
    p.add_argument('--max_images', type=int, default=None, help='use at most this many real images')
    p.add_argument('--vgg_weights', default=None, help="VGG16 weights for LPIPS (torchvision file or 'imagenet')")
    p.add_argument('--lpips_lin_weights', default=None,
                   help="LPIPS linear-layer weights (default: the lpips package's vgg.pth)")
    p.add_argument('--decision_model', default=None, help='DecisionDensenetModel checkpoint for the decision terms')
    p.add_argument('--decision_input_range', default='minus1_1', choices=['minus1_1', 'zero_one', 'imagenet'],
                   help='decision model input (published: the [-1, 1] images unchanged)')
    for key, value in PUBLISHED_TRAIN_LAMBDAS.items():
        p.add_argument(f'--lambda_{key}', type=float, default=value, help=f'weight of {key} (published {value})')
    p.add_argument('--blob_mse', default='published', choices=['published', 'raw'],
                   help="blob-parameter MSE: 'published' (jittered centres, processed 2x2 covariances without "
                        "gradient, as BlobGANEX) or 'raw' (the raw 4-d shape values, with gradient)")
    return add_resize_arg(p)


def main(argv=None):
    args = build_parser().parse_args(argv)
    import torch
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    gen = freeze(load_generator(args.generator, device))
    encoder, mlp_idx, _ = load_encoder(args.encoder, device, gen)
    lambdas = {key: getattr(args, f'lambda_{key}') for key in PUBLISHED_TRAIN_LAMBDAS}
    lpips = LPIPSLoss(args.vgg_weights, args.lpips_lin_weights).to(device) if args.vgg_weights else None
    if lpips is None and (lambdas['fake_LPIPS'] or lambdas['real_LPIPS']):
        print('note: no --vgg_weights: the LPIPS terms are left out', file=sys.stderr)
    decision = None
    if args.decision_model:
        decision = DecisionWrapper(load_decision_model(args.decision_model),
                                   input_range=args.decision_input_range).to(device)
    h, w = gen.out_shape
    real = infinite_batches(FolderImages(list_images(args.dataroot, args.max_images), h, w, args.image_resize),
                            args.batch_size,
                            args.seed)

    render, mse = args.render == 'published', args.blob_mse == 'published'

    def step(opt):
        img, _, layout, placed = generated_batch(gen, args.batch_size, mlp_idx, device, render)
        return train_step(encoder, gen, opt, mlp_idx, img, blob_values(layout, placed, mse), next(real)[0].to(device),
                          lambdas, lpips, decision, render, mse)
    return pre.run(args, encoder, 'train', step)


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
