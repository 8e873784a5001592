"""pix2pix that stays stochastic at test time, to draw several different outputs for one input.

Two sources of randomness (--stochastic_mode):
  dropout       the generator's dropout layers stay active at test time, even with --eval (rate --dropout_rate);
  weight_noise  Gaussian noise is added to the generator's convolution weights for each sample (--noise_std,
                relative to each weight tensor's standard deviation); dropout is then switched off.
Training is plain pix2pix. With --n_samples K, test.py writes K outputs per input side by side (fake_B,
fake_B_2, ..., fake_B_K) and reports their diversity: the mean pairwise L1 distance between the samples of
one input (pixels in [0, 1]), averaged over inputs. Outputs follow --seed: same seed, same samples.
"""
import contextlib
import itertools

import torch
import torch.nn as nn

from util.errors import OptionError
from .pix2pix_model import Pix2PixModel

STOCHASTIC_MODES = ('dropout', 'weight_noise')


class StochasticModel(Pix2PixModel):
    """pix2pix with test-time dropout or weight noise and K samples per input."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser = Pix2PixModel.modify_commandline_options(parser, is_train)
        parser.add_argument('--stochastic_mode', type=str, default='dropout', choices=STOCHASTIC_MODES,
                            help='test-time randomness: dropout (kept active at test time) or weight_noise '
                                 '(Gaussian noise on the generator weights)')
        parser.add_argument('--noise_std', type=float, default=0.1,
                            help='weight_noise: std of the noise added to each conv weight, relative to that '
                                 "weight tensor's own std")
        parser.add_argument('--n_samples', type=int, default=1,
                            help='test: outputs drawn per input (shown side by side; diversity reported when > 1)')
        return parser

    @classmethod
    def check_options(cls, opt):
        super().check_options(opt)
        if opt.n_samples < 1:
            raise OptionError(f'--n_samples must be at least 1 (got {opt.n_samples})')
        if opt.noise_std < 0:
            raise OptionError(f'--noise_std must be >= 0 (got {opt.noise_std})')

    def __init__(self, opt):
        super().__init__(opt)
        self.dropout_layers = [m for m in self.netG.modules() if isinstance(m, nn.Dropout)]
        if opt.stochastic_mode == 'dropout' and not self.dropout_layers:
            reason = '--no_dropout is set' if opt.no_dropout else f'--netG {opt.netG} has no dropout layers'
            raise ValueError(f'--stochastic_mode dropout needs generator dropout, but {reason}: drop --no_dropout, '
                             f'use a generator with dropout (unet_64 or larger, resnet_*) or --stochastic_mode weight_noise')
        self.sample_names = ['fake_B'] + [f'fake_B_{k}' for k in range(2, opt.n_samples + 1)]
        if not self.isTrain:
            self.visual_names = ['real_A'] + self.sample_names + ['real_B']
        self._diversity_sum = 0.0
        self._diversity_count = 0

    @contextlib.contextmanager
    def stochastic_generator(self):
        """Within this context the generator is random: dropout active, or noisy weights (restored after)."""
        modes = [m.training for m in self.dropout_layers]
        saved = []
        try:
            for m in self.dropout_layers:
                m.train(self.opt.stochastic_mode == 'dropout')
            if self.opt.stochastic_mode == 'weight_noise' and self.opt.noise_std > 0:
                with torch.no_grad():
                    for m in self.netG.modules():
                        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                            w = m.weight
                            saved.append((w, w.detach().clone()))
                            w.add_(torch.randn_like(w) * (self.opt.noise_std * w.std()))
            yield
        finally:
            with torch.no_grad():
                for w, original in saved:
                    w.copy_(original)
            for m, mode in zip(self.dropout_layers, modes):
                m.train(mode)

    def test(self):
        """Draw --n_samples outputs per input (fake_B, fake_B_2, ...) and accumulate their diversity."""
        samples = []
        with torch.inference_mode(), self.autocast():
            for _ in range(self.opt.n_samples):
                with self.stochastic_generator():
                    self.forward()
                samples.append(self.fake_B)
            self.compute_visuals()
        for name, sample in zip(self.sample_names, samples):
            setattr(self, name, sample)
        if len(samples) > 1:
            for i in range(samples[0].shape[0]):
                pairs = [(a[i].float() - b[i].float()).abs().mean() / 2.0  # [-1, 1] -> [0, 1] pixel scale
                         for a, b in itertools.combinations(samples, 2)]
                self._diversity_sum += float(torch.stack(pairs).mean())
                self._diversity_count += 1

    def test_metrics(self):
        """{'diversity': mean pairwise L1 between samples} once inputs were tested with --n_samples > 1."""
        if self._diversity_count == 0:
            return {}
        return {'diversity': self._diversity_sum / self._diversity_count, 'n_samples': float(self.opt.n_samples)}
