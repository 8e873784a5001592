"""Study: stochastic pix2pix at test time: dropout kept active (rate 0.5 and the seed study's 0.95) against
Gaussian weight noise. Each run draws 4 samples per input; the report shows quality next to diversity
(mean pairwise L1 between samples). Writes comparisons/stochastic/.

    python -m tools.studies.stochastic --quick --gpu_ids -1 --random_fidelity_weights
"""
import sys

from tools.studies.study_common import run_study
from util.cli import run_cli

VARIANTS = [('dropout50', ['--model', 'stochastic', '--stochastic_mode', 'dropout', '--dropout_rate', '0.5']),
            ('dropout95', ['--model', 'stochastic', '--stochastic_mode', 'dropout', '--dropout_rate', '0.95']),
            ('weight_noise', ['--model', 'stochastic', '--stochastic_mode', 'weight_noise', '--noise_std', '0.1'])]


def main(argv=None):
    run_study('stochastic', VARIANTS, __doc__, argv, test_args=['--n_samples', '4'])
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
