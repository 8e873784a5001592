"""Object-aware counterfactual explanations (OCTET) of a classifier with a BlobGAN.

    python -m tools.blobgan.counterfactuals --generator checkpoints/NAME/latest_blobgan_G_ema.ckpt \
        --encoder checkpoints/NAME/encoder.ckpt --dataroot DIR --decision_model decision_densenet.pth \
        --decision_arch densenet121 --target_attributes 0 1 2 3 \
        --target_features xs ys sizes covs features spatial_style [--target_blobs 2 5] [--n_diverse 3]

Images (real ones from --dataroot, inverted first; or --num_generated samples) are turned into blob layouts;
for every target attribute the chosen blob parameters are optimised until the decision flips (sigmoid outputs:
the attribute's yes/no is flipped; softmax: the attribute's class is reached) while a proximity loss keeps the
layout close. Per batch: snapshot_<b>.png (rows: originals, reconstructions, one row per attribute and
counterfactual) and metadata_<b>.pt with image_names, latent_enc, blob_optim, init_scores and
att_<a>: {final_scores, blob_cf, flipped} (lists over counterfactuals in --n_diverse mode).
"""
import argparse
import os
import sys

import torch

from models.blobgan.counterfactual import (
    DEFAULT_LRS,
    DecisionWrapper,
    counterfactuals,
    load_decision_model,
)
from models.blobgan.layout import LAYOUT_KEYS
from tools.blobgan import invert as inv
from tools.blobgan.common import save_grid, to_cpu


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inv.add_inversion_args(p)
    d = p.add_argument_group('decision model')
    d.add_argument('--decision_model', required=True, help='torchvision classifier checkpoint (state dict)')
    d.add_argument('--decision_arch', default=None, help='torchvision architecture if the file does not name it')
    d.add_argument('--decision_num_classes', type=int, default=None, help='number of outputs if not in the file')
    d.add_argument('--decision_activation', default='sigmoid', choices=['sigmoid', 'softmax'],
                   help='sigmoid: independent yes/no attributes (e.g. forward/stop/left/right); softmax: classes')
    d.add_argument('--decision_size', type=int, nargs='+', default=None, help='resize images to H [W] for the model')
    d.add_argument('--decision_normalize', default='imagenet', choices=['imagenet', 'none'],
                   help='input normalisation of the decision model')
    c = p.add_argument_group('counterfactual optimisation')
    c.add_argument('--target_attributes', type=int, nargs='+', default=[0], help='attributes (outputs) to flip')
    c.add_argument('--target_features', nargs='+', default=list(LAYOUT_KEYS), choices=list(LAYOUT_KEYS),
                   help='blob parameters that may change')
    c.add_argument('--target_blobs', type=int, nargs='+', default=None,
                   help='only these foreground blobs may change (default: all blobs and the background)')
    c.add_argument('--n_iter', type=int, default=100, help='optimisation steps per attribute')
    c.add_argument('--lambda_prox', type=float, default=1.0, help='weight of the proximity loss')
    for key, lr in DEFAULT_LRS.items():
        c.add_argument(f'--lr_{key}', type=float, default=lr, help=f'Adam learning rate of {key}')
    c.add_argument('--n_diverse', type=int, default=1, help='counterfactuals per image (diversity mode when > 1)')
    c.add_argument('--lambda_div', type=float, default=1.0, help='weight of the diversity loss')
    c.add_argument('--keep_optimising', action='store_true',
                   help='run all --n_iter steps instead of keeping the first iterate that flips the decision')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.manual_seed(args.seed)
    device, gen, encoder, mlp_idx, perceptual = inv.setup(args)
    model = load_decision_model(args.decision_model, args.decision_arch, args.decision_num_classes)
    size = tuple(args.decision_size) if args.decision_size else None
    decision = DecisionWrapper(model, size[0] if size and len(size) == 1 else size, args.decision_normalize).to(device)
    lrs = {key: getattr(args, f'lr_{key}') for key in LAYOUT_KEYS}
    os.makedirs(args.out_dir, exist_ok=True)
    report = []
    for b, (images, names, true_layout) in enumerate(inv.image_batches(args, gen, device)):
        if true_layout is not None and args.n_iter_latent == 0 and args.n_iter_blobs == 0:
            layout, latent_enc, recon = true_layout, None, gen.render(true_layout)  # generated: exact layout known
        else:
            res, latent_enc, _ = inv.invert_batch(args, gen, encoder, mlp_idx, perceptual, images)
            layout, recon = res['layout'], res['recon']
        meta = {'image_names': names, 'latent_enc': latent_enc, 'blob_optim': layout}
        rows = [images, recon]
        for att in args.target_attributes:
            out = counterfactuals(gen, decision, layout, att, args.target_features, args.target_blobs, lrs,
                                  args.n_iter, args.lambda_prox, activation=args.decision_activation,
                                  n_diverse=args.n_diverse, lambda_div=args.lambda_div, seed=args.seed + att,
                                  stop_when_flipped=not args.keep_optimising)
            meta.setdefault('init_scores', out['init_scores'])
            single = args.n_diverse == 1
            meta[f'att_{att}'] = {
                'final_scores': out['final_scores'][0] if single else out['final_scores'],
                'blob_cf': out['layouts'][0] if single else out['layouts'],
                'flipped': out['flipped'][0] if single else out['flipped'],
            }
            rows.extend(out['images'])
            rate = torch.stack(out['flipped']).float().mean().item()
            print(f'batch {b} attribute {att}: decision flipped for {rate:.0%} of {len(names)} images '
                  f'x {args.n_diverse} counterfactual(s)')
            report.append({'batch': b, 'attribute': att, 'flip_rate': rate})
        save_grid(rows, os.path.join(args.out_dir, f'snapshot_{b:04d}.png'))
        torch.save(to_cpu(meta), os.path.join(args.out_dir, f'metadata_{b:04d}.pt'))
    print(f'wrote snapshots and metadata of {len({r["batch"] for r in report})} batches to {args.out_dir}')
    return report


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
