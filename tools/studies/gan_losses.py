"""Study: the four adversarial objectives of SPADE on pix2pix: original (cross-entropy), ls (least squares),
hinge and w (the plain Wasserstein critic, as the DLIM study ran it; WGAN-GP is --extra "--lambda_gp 10").
Writes comparisons/gan_losses/.

    python -m tools.studies.gan_losses --quick --gpu_ids -1 --random_fidelity_weights
"""
import sys

from tools.studies.study_common import run_study
from util.cli import run_cli

VARIANTS = [(mode, ['--model', 'adversarial_losses', '--gan_mode', mode]) for mode in ('original', 'ls', 'hinge', 'w')]


def main(argv=None):
    run_study('gan_losses', VARIANTS, __doc__, argv)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
