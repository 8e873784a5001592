"""Score generated images: FID/KID/IS (torch-fidelity), clean-fid's FID and PSNR/SSIM/L1 (paired), printed and
saved as metrics.json.

Examples:
    python -m tools.evaluate --generated DIR_FAKE --real DIR_REAL --metrics fid,kid,psnr
    python -m tools.evaluate --results_dir results/facades_pix2pix/test_latest      # writes metrics.json there
    python -m tools.evaluate --generated DIR --real_stats facades --metrics fid       # cached real statistics
    python -m tools.evaluate --results_dir R --fidelity_weights pt_inception.pth      # offline Inception weights
    python -m tools.evaluate --generated DIR --real_stats bdd --metrics clean_fid \
        --fidelity_weights inception-2015-12-05.pt                                      # BlobGAN's published FID
"""
import argparse
import os
import warnings

import metrics as M
from util.cli import run_cli


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group('images (either --generated [--real | --real_stats] or --results_dir)')
    src.add_argument('--generated', default=None, help='folder of generated images')
    src.add_argument('--real', default=None, help='folder of real images (paired metrics match file names)')
    src.add_argument('--results_dir', default=None,
                     help='a test.py results folder (results/NAME/<phase>_<epoch> or its images/ subfolder): '
                          'generated and real images are told apart by --fake_suffix / --real_suffix')
    src.add_argument('--fake_suffix', default='_fake_B', help='file-stem suffix of generated images in --results_dir')
    src.add_argument('--real_suffix', default='_real_B', help='file-stem suffix of real images in --results_dir')
    p.add_argument('--metrics', default=None,
                   help=f"comma-separated subset of {','.join(M.metric_names())} (aliases: is, mae); default: all "
                        "but clean_fid, or fid,kid,isc when there are no real images to pair with")
    p.add_argument('--fidelity_weights', default=None,
                   help="local InceptionV3 weights for FID/KID/IS; default: torch-fidelity's download "
                        f"({M.official_weights_url()}); for clean_fid: clean-fid's TorchScript "
                        f"{M.clean_fid.INCEPTION_FILE}")
    p.add_argument('--real_stats', default=None,
                   help='name of cached real-image statistics (lowercased); with --real the cache is built '
                        'or refreshed, without it the cache must exist (clean_fid: made by tools.blobgan.setup_fid)')
    p.add_argument('--cache_dir', default=None,
                   help=f'folder of cached real-image statistics (default {M.DEFAULT_CACHE_DIR}; clean_fid: '
                        f'{M.clean_fid.DEFAULT_STATS_DIR})')
    p.add_argument('--resize', type=int, default=None,
                   help='resize and centre-crop images to this square size for FID/KID/IS (needed when sizes differ)')
    p.add_argument('--fid_dims', type=int, default=2048, choices=M.FID_DIMS,
                   help='Inception feature size for FID/KID; only 2048 gives standard, comparable numbers')
    p.add_argument('--batch_size', type=int, default=32, help='Inception batch size')
    p.add_argument('--device', default=None, help='cpu or cuda (default: cuda when available)')
    p.add_argument('--seed', type=int, default=2020, help='seed of the KID subsets and IS splits')
    p.add_argument('--json', default=None,
                   help='write the metrics to this JSON file (default with --results_dir: <results_dir>/metrics.json)')
    p.add_argument('--verbose', action='store_true', help="show torch-fidelity's progress output")
    return p


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    # library warnings (e.g. non-official Inception weights) as one readable line, not a source dump
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    json_path = opt.json
    if opt.results_dir:
        if opt.generated or opt.real:
            raise ValueError('give either --results_dir or --generated/--real, not both')
        generated, real = M.results_dir_images(opt.results_dir, opt.fake_suffix, opt.real_suffix)
        # pairs are matched by the file stem without these suffixes
        suffixes = dict(gen_suffix=opt.fake_suffix, real_suffix=opt.real_suffix)
        phase_dir = os.path.normpath(opt.results_dir)
        if os.path.basename(phase_dir) == 'images':  # metrics.json belongs next to index.html, not the images
            phase_dir = os.path.dirname(phase_dir)
        json_path = json_path or os.path.join(phase_dir, 'metrics.json')
    elif opt.generated:
        generated, real = opt.generated, opt.real
        suffixes = {}
    else:
        raise ValueError('nothing to evaluate: give --generated DIR (with --real DIR or --real_stats NAME) '
                         'or --results_dir DIR')
    if opt.metrics is None:
        metrics = list(M.metric_names(default_only=True) if real is not None else
                       M.metric_names('fidelity', default_only=True))
    else:
        metrics = M.parse_metrics(opt.metrics)
    result = M.evaluate(generated, real, metrics, weights_path=opt.fidelity_weights,
                        real_cache_name=opt.real_stats, cache_dir=opt.cache_dir, device=opt.device,
                        batch_size=opt.batch_size, resize=opt.resize, dims=opt.fid_dims, seed=opt.seed,
                        verbose=opt.verbose, **suffixes)
    print(M.format_metrics(result))
    if json_path:
        M.write_metrics_json(json_path, result)
        print(f"wrote {json_path}")
    return result


if __name__ == '__main__':
    run_cli(main)
