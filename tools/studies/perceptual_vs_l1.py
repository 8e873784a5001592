"""Study: VGG19 perceptual loss (SPADE) against pix2pix's L1 term. Variants: pix2pix (L1), perceptual (VGG
replaces L1) and perceptual_l1 (VGG + L1). Writes comparisons/perceptual_vs_l1/.

    python -m tools.studies.perceptual_vs_l1 --quick --gpu_ids -1 --random_fidelity_weights --vgg_weights random
    python -m tools.studies.perceptual_vs_l1 --dataroot datasets/facades --vgg_weights imagenet

--vgg_weights: 'imagenet' (torchvision's VGG19 ImageNet weights, downloaded once), a local file, or 'random'
(offline demo only: an untrained VGG is not a perceptual loss, and the report says so).
"""
import sys

from tools.studies.study_common import run_study
from util.cli import run_cli


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    vgg = 'imagenet'
    if '--vgg_weights' in argv:
        i = argv.index('--vgg_weights')
        if i + 1 >= len(argv):
            raise ValueError('--vgg_weights needs a value (imagenet, a file or random)')
        vgg = argv[i + 1]
        del argv[i:i + 2]
    variants = [('l1', ['--model', 'pix2pix']),
                ('perceptual', ['--model', 'perceptual', '--vgg_weights', vgg]),
                ('perceptual_l1', ['--model', 'perceptual', '--vgg_weights', vgg, '--keep_L1'])]
    notes = ['VGG19 weights were RANDOM (offline demo): the "perceptual" runs do not use a real perceptual loss.'] \
        if vgg == 'random' else []
    run_study('perceptual_vs_l1', variants, __doc__, argv, notes=notes)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
