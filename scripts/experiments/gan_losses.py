"""Study: the four adversarial objectives of SPADE on pix2pix: original (cross-entropy), ls (least squares),
hinge and w (Wasserstein critic with gradient penalty, --lambda_gp 10). Writes comparisons/gan_losses/.

    python scripts/experiments/gan_losses.py --quick --gpu_ids -1 --random_fidelity_weights
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_common import main_wrapper, run_study  # noqa: E402

VARIANTS = [(mode, ['--model', 'adversarial_losses', '--gan_mode', mode]) for mode in ('original', 'ls', 'hinge', 'w')]


def main(argv=None):
    return main_wrapper(lambda: run_study('gan_losses', VARIANTS, __doc__, argv))


if __name__ == '__main__':
    sys.exit(main())
