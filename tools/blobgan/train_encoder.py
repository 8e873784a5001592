"""Fine-tune a pretrained BlobGAN encoder on generated + real images (OCTET's second encoder stage).

    python -m tools.blobgan.train_encoder --generator checkpoints/NAME/latest_blobgan_G_ema.ckpt \
        --encoder checkpoints/NAME/encoder_pretrained.ckpt --dataroot DIR --out checkpoints/NAME/encoder.ckpt

Each step takes a generated batch (latent MSE + reconstruction) and a real batch (reconstruction only:
pixel L1, plus VGG perceptual loss with --vgg_weights). The target layer --mlp_idx is read from the encoder.
"""
import argparse
import sys

from models.blobgan.io import load_encoder
from tools.blobgan import pretrain_encoder as pre
from tools.blobgan.common import FolderImages, infinite_batches, list_images


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    pre.add_common(p)
    p.add_argument('--encoder', required=True, help='encoder from pretrain_encoder.py (or train_encoder.py)')
    p.add_argument('--dataroot', required=True, help='folder of real images')
    p.add_argument('--max_images', type=int, default=None, help='use at most this many real images')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device, gen, perceptual = pre.setup(args)
    encoder, mlp_idx, _ = load_encoder(args.encoder, device)
    h, w = gen.out_shape
    real = FolderImages(list_images(args.dataroot, args.max_images), h, w)
    return pre.run(args, encoder, gen, perceptual, device, mlp_idx, infinite_batches(real, args.batch_size, args.seed),
                   stage='train')


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
