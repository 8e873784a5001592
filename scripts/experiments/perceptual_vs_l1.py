"""Study: VGG19 perceptual loss (SPADE) against pix2pix's L1 term. Variants: pix2pix (L1), perceptual (VGG
replaces L1) and perceptual_l1 (VGG + L1). Writes comparisons/perceptual_vs_l1/.

    python scripts/experiments/perceptual_vs_l1.py --quick --gpu_ids -1 --random_fidelity_weights --vgg_weights random
    python scripts/experiments/perceptual_vs_l1.py --dataroot datasets/facades --vgg_weights imagenet

--vgg_weights: 'imagenet' (torchvision's VGG19 ImageNet weights, downloaded once), a local file, or 'random'
(offline demo only: an untrained VGG is not a perceptual loss, and the report says so).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_common import main_wrapper, run_study  # noqa: E402


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    vgg = 'imagenet'
    if '--vgg_weights' in argv:
        i = argv.index('--vgg_weights')
        if i + 1 >= len(argv):
            print('error: --vgg_weights needs a value (imagenet, a file or random)', file=sys.stderr)
            return 2
        vgg = argv[i + 1]
        del argv[i:i + 2]
    variants = [('l1', ['--model', 'pix2pix']),
                ('perceptual', ['--model', 'perceptual', '--vgg_weights', vgg]),
                ('perceptual_l1', ['--model', 'perceptual', '--vgg_weights', vgg, '--keep_L1'])]
    notes = ['VGG19 weights were RANDOM (offline demo): the "perceptual" runs do not use a real perceptual loss.'] \
        if vgg == 'random' else []
    return main_wrapper(lambda: run_study('perceptual_vs_l1', variants, __doc__, argv, notes=notes))


if __name__ == '__main__':
    sys.exit(main())
