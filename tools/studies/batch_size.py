"""Study: does the batch size change pix2pix's results? Trains pix2pix with batch sizes 1, 4, 16 and 64 (same
epochs, same seed), tests each and writes comparisons/batch_size/ (FID, KID, IS, PSNR, SSIM, L1).

    python -m tools.studies.batch_size --quick --gpu_ids -1 --random_fidelity_weights   # CPU demo
    python -m tools.studies.batch_size --dataroot datasets/facades --fidelity_weights pt_inception.pth
"""
import sys

from tools.studies.study_common import run_study
from util.cli import run_cli

VARIANTS = [(f'bs{b}', ['--model', 'pix2pix', '--batch_size', str(b)]) for b in (1, 4, 16, 64)]


def main(argv=None):
    run_study('batch_size', VARIANTS, __doc__, argv, default_quick_images=64,
              notes=['Same number of epochs for every batch size, so larger batches take fewer optimisation steps '
                     '(as in the original study).'])
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
