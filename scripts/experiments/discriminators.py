"""Study: pix2pix with the basic PatchGAN, the pix2pixHD multiscale discriminator and the SESAME two-stream
discriminator (both with --num_D 2 and feature matching --lambda_feat 10). Writes comparisons/discriminators/.

    python scripts/experiments/discriminators.py --quick --gpu_ids -1 --random_fidelity_weights
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_common import main_wrapper, run_study  # noqa: E402

VARIANTS = [('basic', ['--model', 'pix2pix', '--netD', 'basic']),
            ('multiscale', ['--model', 'pix2pix', '--netD', 'multiscale', '--num_D', '2', '--lambda_feat', '10']),
            ('sesame', ['--model', 'pix2pix', '--netD', 'sesame', '--num_D', '2', '--lambda_feat', '10'])]


def main(argv=None):
    return main_wrapper(lambda: run_study('discriminators', VARIANTS, __doc__, argv))


if __name__ == '__main__':
    sys.exit(main())
