"""Study: does the batch size change pix2pix's results? Trains pix2pix with batch sizes 1, 4, 16, 64 and 256 (the
DLIM study's five; same epochs, same seed), tests each and writes comparisons/batch_size/ (FID, KID, IS, PSNR,
SSIM, L1).

    python -m tools.studies.batch_size --quick --gpu_ids -1 --random_fidelity_weights   # CPU demo
    python -m tools.studies.batch_size --dataroot datasets/facades --fidelity_weights pt_inception.pth
"""
import sys

from tools.studies.study_common import run_study, training_images
from util.cli import run_cli

BATCH_SIZES = (1, 4, 16, 64, 256)  # nmproduction/DLIM README, "Batch size experiments"
VARIANTS = [(f'bs{b}', ['--model', 'pix2pix', '--batch_size', str(b)]) for b in BATCH_SIZES]


def oversized_note(opt):
    """A report line when some batch sizes exceed the training images (their batches are the whole set)."""
    n = training_images(opt)
    big = [b for b in BATCH_SIZES if n is not None and b > n]
    if not big:
        return ''
    return (f"Only {n} training images: batch size(s) {', '.join(map(str, big))} took the whole set as one "
            f"batch (the facades train split has 400).")


def main(argv=None):
    run_study('batch_size', VARIANTS, __doc__, argv, default_quick_images=64,
              notes=['Same number of epochs for every batch size, so larger batches take fewer optimisation steps '
                     '(as in the original study).', oversized_note])
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
