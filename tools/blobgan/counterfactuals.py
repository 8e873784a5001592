"""Object-aware counterfactual explanations (OCTET) of a classifier with a BlobGAN, as BlobGANEX does them.

    python -m tools.blobgan.counterfactuals --generator G.ckpt --encoder enc.ckpt --dataroot DIR \
        --decision_model decision_densenet.tar --vgg_weights vgg16-397923af.pth --target_attributes 0 1 2 3 \
        [--target_blobs 2 5] [--n_diverse 3] [--prox_weights xs=6 ys=6 sizes=1 covs=1 features=20 spatial_style=20]

Images (real ones from --dataroot, inverted first, or inversions saved by tools.blobgan.invert / an earlier run with
--load_inversion; or --num_generated scenes, truncated by 0.3) become blob layouts; for every target attribute the
chosen blob parameters are optimised for 200 steps (sigmoid outputs: the attribute's yes/no flipped; softmax: the
class reached) with the L1 proximity loss. --invert_only stops after the inversion. Per batch: snapshot_<b>.png and
metadata_<b>.pt with image_names, blob_optim, init_scores and att_<a>: {final_scores, blob_cf, flipped, lpips,
Assignment (diversity mode)}; lists over counterfactuals in --n_diverse mode.
"""
import argparse
import glob
import os
import sys

import torch

from tools.blobgan.octet.counterfactual import PUBLISHED_CF, PUBLISHED_DIVERSE, DecisionDensenet, DecisionWrapper, \
    counterfactuals, load_decision_model
from models.blobgan.layout import LAYOUT_KEYS, check_layout
from tools.blobgan import invert as inv
from tools.blobgan.common import load_cropped, save_grid, to_cpu


def parse_weights(items):
    """['xs=6', 'sizes=1'] -> {'xs': 6.0, 'sizes': 1.0}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition('=')
        if not sep or key not in LAYOUT_KEYS:
            raise ValueError(f'--prox_weights takes KEY=VALUE with KEY in {list(LAYOUT_KEYS)}, got {item!r}')
        try:
            out[key] = float(value)
        except ValueError:
            raise ValueError(f'--prox_weights {item!r}: {value!r} is not a number') from None
    return out


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inv.add_inversion_args(p)
    d = p.add_argument_group('decision model')
    d.add_argument('--decision_model', required=True,
                   help='DecisionDensenetModel checkpoint (decision_densenet.tar) or a torchvision classifier file')
    d.add_argument('--decision_arch', default=None, help='torchvision architecture if the file does not name it')
    d.add_argument('--decision_num_classes', type=int, default=None, help='number of outputs if not in the file')
    d.add_argument('--decision_activation', default='sigmoid', choices=['sigmoid', 'softmax'],
                   help='sigmoid: independent yes/no attributes (published: forward/stop/left/right); softmax: classes')
    d.add_argument('--decision_size', type=int, nargs='+', default=None,
                   help='resize images to H [W] for the model (published: none)')
    d.add_argument('--decision_input_range', default='minus1_1', choices=['minus1_1', 'zero_one', 'imagenet'],
                   help='decision model input: the generator\'s [-1, 1] images unchanged (published), [0, 1], or '
                        'ImageNet-normalised')
    c = p.add_argument_group('counterfactual optimisation')
    c.add_argument('--target_attributes', type=int, nargs='+', default=[0, 1, 2, 3], help='attributes to flip')
    c.add_argument('--target_features', nargs='+', default=list(LAYOUT_KEYS), choices=list(LAYOUT_KEYS),
                   help='blob parameters that may change')
    c.add_argument('--target_blobs', type=int, nargs='+', default=None,
                   help='only these foreground blobs may change (blob targeting; default: all and the background)')
    c.add_argument('--n_iter', type=int, default=None,
                   help=f"optimisation steps per attribute (published {PUBLISHED_CF['n_iter']}; "
                        f"{PUBLISHED_DIVERSE['n_iter']} with --n_diverse > 1, the diversity script's n_iters)")
    c.add_argument('--lambda_inv_decision', type=float, default=None,
                   help=f"weight of the decision-feature MSE in the inversion (published 0; "
                        f"{PUBLISHED_DIVERSE['lambda_inv_decision']} with --n_diverse > 1; needs a "
                        f"DecisionDensenetModel checkpoint)")
    c.add_argument('--lambda_prox', type=float, default=None,
                   help='weight of the proximity loss (published 0.1; 0.5 with --n_diverse > 1)')
    c.add_argument('--prox_weights', nargs='+', default=None, metavar='KEY=W',
                   help='per-key L1 proximity weights (published xs=6 ys=6 sizes=1 covs=1 features=20 '
                        'spatial_style=20; diversity mode 10 10 1 1 10 10)')
    for key in LAYOUT_KEYS:
        c.add_argument(f'--lr_{key}', type=float, default=None,
                       help=f'Adam lr of {key} (published {PUBLISHED_CF["lrs"][key]}; diversity mode '
                            f'{PUBLISHED_DIVERSE["lrs"][key]})')
    c.add_argument('--n_diverse', type=int, default=1,
                   help='counterfactuals per image optimised together with the assignment matrix (diversity mode)')
    c.add_argument('--lambda_div', type=float, default=PUBLISHED_DIVERSE['lambda_div'],
                   help='weight of the assignment entropy in diversity mode (published 0.4)')
    c.add_argument('--keep_first_flip', action='store_true',
                   help="keep each image's first iterate that flips the decision and stop early (published: run all "
                        "--n_iter steps and keep the last)")
    c.add_argument('--load_inversion', default=None,
                   help='reuse saved inversions: an inversion_*.pt / metadata_*.pt file or a folder of them, or '
                        "BlobGANEX's inversions_path file (image name -> layout)")
    c.add_argument('--invert_only', action='store_true', help='only run (and save) the inversion, no counterfactuals')
    return p


def _inversion_files(path):
    """Saved inversions: one file, or the inversion_*.pt / metadata_*.pt files of a folder."""
    files = sorted(glob.glob(os.path.join(path, 'inversion_*.pt')) + glob.glob(os.path.join(path, 'metadata_*.pt'))) \
        if os.path.isdir(path) else [path]
    if not files or not all(os.path.isfile(f) for f in files):
        raise FileNotFoundError(f'--load_inversion {path!r}: no inversion_*.pt or metadata_*.pt files')
    return files


def _saved_layouts(path, batch_size):
    """(names, layout) batches of one saved file: our {'image_names', 'blob_optim'} files, or BlobGANEX's
    ``inversions_path`` file (a dict image name -> layout of one image, batched here by ``batch_size``)."""
    obj = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(obj, dict) and 'blob_optim' in obj:
        layout = {k: v for k, v in obj['blob_optim'].items() if k in LAYOUT_KEYS}
        n = check_layout(layout)[0]
        yield list(obj.get('image_names') or [f'image_{i}' for i in range(n)]), layout
        return
    if not (isinstance(obj, dict) and obj and all(isinstance(v, dict) and set(LAYOUT_KEYS) <= set(v)
                                                  for v in obj.values())):
        raise ValueError(f'{path!r} is neither an inversion written by tools.blobgan.invert / counterfactuals (no '
                         f'blob_optim) nor a BlobGANEX inversions file (image name -> layout)')
    names = list(obj)
    for start in range(0, len(names), batch_size):
        chunk = names[start:start + batch_size]
        layout = {k: torch.cat([obj[n][k] for n in chunk]) for k in LAYOUT_KEYS}  # each value has batch size 1
        check_layout(layout)
        yield [str(n) for n in chunk], layout


def loaded_batches(args, gen, device):
    """Batches from saved inversions (tools.blobgan.invert output, earlier metadata files, or BlobGANEX's
    inversions file); the images are read from --dataroot when all are there."""
    h, w = gen.out_shape
    for f in _inversion_files(args.load_inversion):
        for names, layout in _saved_layouts(f, args.batch_size):
            layout = {k: v.to(device) for k, v in layout.items()}
            images = None
            if args.dataroot:
                paths = [os.path.join(args.dataroot, n) for n in names]
                if all(os.path.isfile(p_) for p_ in paths):
                    images = torch.stack([load_cropped(p_, h, w, args.image_resize) for p_ in paths]).to(device)
            yield images, names, layout


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.manual_seed(args.seed)
    prox_weights = parse_weights(args.prox_weights)
    if args.load_inversion or not args.dataroot:  # nothing to invert: LPIPS is only reported, when weights are given
        args.lambda_lpips = args.lambda_lpips if args.vgg_weights else 0.0
    device, gen, encoder, mlp_idx, lpips = inv.setup(args)
    model = load_decision_model(args.decision_model, args.decision_arch, args.decision_num_classes)
    size = tuple(args.decision_size) if args.decision_size else None
    decision = DecisionWrapper(model, size[0] if size and len(size) == 1 else size, args.decision_input_range).to(device)
    lrs = {key: getattr(args, f'lr_{key}') for key in LAYOUT_KEYS if getattr(args, f'lr_{key}') is not None}
    published = PUBLISHED_DIVERSE if args.n_diverse > 1 else PUBLISHED_CF
    lambda_prox = args.lambda_prox if args.lambda_prox is not None else published['lambda_prox']
    n_iter = args.n_iter if args.n_iter is not None else published['n_iter']
    lambda_inv_decision = args.lambda_inv_decision if args.lambda_inv_decision is not None else \
        published.get('lambda_inv_decision', 0.0)
    inverting = bool(args.dataroot) and not args.load_inversion
    if inverting and lambda_inv_decision > 0 and not isinstance(model, DecisionDensenet):
        raise ValueError('the decision-feature term of the inversion (published in diversity mode) needs a '
                         'DecisionDensenetModel checkpoint; pass --lambda_inv_decision 0 for other classifiers')
    os.makedirs(args.out_dir, exist_ok=True)
    report = []
    batches = loaded_batches(args, gen, device) if args.load_inversion else inv.image_batches(args, gen, device)
    for b, (images, names, layout_in) in enumerate(batches):
        meta = {'image_names': names}
        if args.load_inversion or (layout_in is not None and not args.dataroot):
            layout = layout_in  # saved inversion, or a generated scene whose layout is known exactly
            with torch.no_grad():
                recon = gen.render(layout)
            if images is None:
                images = recon
        else:
            res, latent_enc, _ = inv.invert_batch(args, gen, encoder, mlp_idx, lpips, images, decision,
                                                  lambda_inv_decision)
            layout, recon = res['layout'], res['recon']
            meta.update(latent_enc=latent_enc, lpips=res['lpips'])
        meta['blob_optim'] = layout
        rows = [images, recon]
        if not args.invert_only:
            for att in args.target_attributes:
                out = counterfactuals(gen, decision, layout, att, args.target_features, args.target_blobs, lrs,
                                      n_iter, lambda_prox, prox_weights, args.decision_activation,
                                      args.n_diverse, args.lambda_div, args.seed + att, args.keep_first_flip)
                meta['init_scores'] = out['init_scores']
                single = args.n_diverse == 1
                entry = {'final_scores': out['final_scores'][0] if single else out['final_scores'],
                         'blob_cf': out['layouts'][0] if single else out['optimised'],
                         'flipped': out['flipped'][0] if single else out['flipped']}
                if not single:  # published blob_cf: the optimised values; the rendered layouts scale them by A
                    entry['blob_cf_mixed'] = out['layouts']
                if lpips is not None:
                    with torch.no_grad():
                        scores = [lpips(img, images).cpu() for img in out['images']]
                    entry['lpips'] = scores[0] if single else scores
                if out['assignment'] is not None:
                    entry['Assignment'] = out['assignment']
                meta[f'att_{att}'] = entry
                rows.extend(out['images'])
                rate = torch.stack(out['flipped']).float().mean().item()
                print(f'batch {b} attribute {att}: decision flipped for {rate:.0%} of {len(names)} images '
                      f'x {args.n_diverse} counterfactual(s)')
                report.append({'batch': b, 'attribute': att, 'flip_rate': rate})
        else:
            report.append({'batch': b, 'attribute': None, 'flip_rate': None})
        save_grid(rows, os.path.join(args.out_dir, f'snapshot_{b:04d}.png'))
        torch.save(to_cpu(meta), os.path.join(args.out_dir, f'metadata_{b:04d}.pt'))
    print(f'wrote snapshots and metadata of {len({r["batch"] for r in report})} batches to {args.out_dir}')
    return report


if __name__ == '__main__':
    from util.cli import run_cli
    sys.exit(0 if run_cli(main) is not None else 1)
