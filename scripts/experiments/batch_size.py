"""Study: does the batch size change pix2pix's results? Trains pix2pix with batch sizes 1, 4, 16 and 64 (same
epochs, same seed), tests each and writes comparisons/batch_size/ (FID, KID, IS, PSNR, SSIM, L1).

    python scripts/experiments/batch_size.py --quick --gpu_ids -1 --random_fidelity_weights   # CPU demo
    python scripts/experiments/batch_size.py --dataroot datasets/facades --fidelity_weights pt_inception.pth
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_common import main_wrapper, run_study  # noqa: E402

VARIANTS = [(f'bs{b}', ['--model', 'pix2pix', '--batch_size', str(b)]) for b in (1, 4, 16, 64)]


def main(argv=None):
    return main_wrapper(lambda: run_study('batch_size', VARIANTS, __doc__, argv, default_quick_images=64,
                                          notes=['Same number of epochs for every batch size, so larger batches take '
                                                 'fewer optimisation steps (as in the original study).']))


if __name__ == '__main__':
    sys.exit(main())
