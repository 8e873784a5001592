"""Study: pix2pix with the basic PatchGAN, the pix2pixHD multiscale discriminator as DLIM built it (2 scales,
no feature matching) and the SESAME discriminator with OpenSESAME's defaults (2 scales, 4 layers, spectral +
instance norm, hinge loss, feature matching 10). Writes comparisons/discriminators/.

    python -m tools.studies.discriminators --quick --gpu_ids -1 --random_fidelity_weights
"""
import sys

from tools.studies.study_common import run_study
from util.cli import run_cli

VARIANTS = [('basic', ['--model', 'pix2pix', '--netD', 'basic']),
            ('multiscale', ['--model', 'pix2pix', '--netD', 'multiscale', '--num_D', '2', '--lambda_feat', '0']),
            ('sesame', ['--model', 'pix2pix', '--netD', 'sesame'])]  # hinge, feature matching 10, 4 layers


def main(argv=None):
    run_study('discriminators', VARIANTS, __doc__, argv)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
