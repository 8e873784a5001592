"""The zoo's GANLoss with Ganzo's label tricks (vanilla and lsgan objectives only):

  soft labels   real targets drawn uniformly in [0.9, 1.0], fake targets in [0.0, 0.1] (per element); the
                generator's targets are soft real ones too (as Ganzo's), unless soft_G_labels is off;
  noisy labels  with probability --noisy_labels_freq the real targets become fake ones, and (independently)
                the fake targets become real ones, for that discriminator step (never the generator's).

Draws come from the global RNG, whose state is in the training checkpoint, so resumed runs draw the same labels.
"""
import torch

from models import networks

TARGET_MODES = ('vanilla', 'lsgan')


class LabelTrickGANLoss(networks.GANLoss):
    def __init__(self, gan_mode, soft_labels=False, noisy_labels=False, noisy_labels_freq=0.1, soft_G_labels=False):
        super().__init__(gan_mode)
        if (soft_labels or noisy_labels) and self.gan_mode not in TARGET_MODES:
            raise ValueError(f'--soft_labels/--noisy_labels change the targets of --gan_mode vanilla or lsgan; '
                             f'--gan_mode {gan_mode} has none')
        self.soft_labels = soft_labels
        self.noisy_labels = noisy_labels
        self.noisy_labels_freq = noisy_labels_freq
        self.soft_G_labels = soft_G_labels
        self._for_discriminator = False
        self._flip = {True: False, False: False}
        self.last_targets = {}  # target_is_real -> the target tensor used in the last discriminator call

    def start_discriminator_step(self):
        """Decide, once per discriminator step, whether its real and its fake labels are flipped."""
        if self.noisy_labels:
            self._flip = {flag: bool(torch.rand(()) < self.noisy_labels_freq) for flag in (True, False)}
        else:
            self._flip = {True: False, False: False}

    def _label(self, prediction, real):
        if self.soft_labels:
            low = 0.9 if real else 0.0
            return torch.rand(prediction.shape, device=prediction.device) * 0.1 + low
        return torch.full(prediction.shape, 1.0 if real else 0.0, device=prediction.device)

    def get_target_tensor(self, prediction, target_is_real):
        if not self._for_discriminator and self.soft_G_labels:
            return self._label(prediction, target_is_real)
        if not (self._for_discriminator and (self.soft_labels or self.noisy_labels)):
            return super().get_target_tensor(prediction, target_is_real)
        real = target_is_real != self._flip[target_is_real]
        target = self._label(prediction, real)
        self.last_targets[target_is_real] = target.detach()
        return target

    def forward(self, prediction, target_is_real, for_discriminator=True):
        self._for_discriminator = for_discriminator
        try:
            return super().forward(prediction, target_is_real, for_discriminator)
        finally:
            self._for_discriminator = False
