"""Adversarial objectives (GANLoss), pix2pixHD feature matching, the WGAN-GP gradient penalty and the one
discriminator loss that combines them (:func:`discriminator_loss`, :func:`wgan_gp_term`)."""
import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.networks import objectives


def final_predictions(prediction):
    """Flatten a discriminator output into a list of prediction tensors (one per scale)."""
    if torch.is_tensor(prediction):
        return [prediction]
    predictions = []
    for item in prediction:
        predictions.append(item[-1] if isinstance(item, (list, tuple)) else item)
    return predictions


class GANLoss(nn.Module):
    """The adversarial objective, for both the discriminator and the generator.

    ``gan_mode`` is any --gan_mode value of models/networks/objectives.py; ``self.gan_mode`` is its criterion:
      vanilla: non-saturating cross-entropy on logits;
      lsgan: least squares towards 1 / 0;
      wgangp: Wasserstein critic, -mean(real) + mean(fake) (use with :func:`gradient_penalty` or clipping);
      hinge: D minimises mean(relu(1 - real)) + mean(relu(1 + fake)); G minimises -mean(fake).
    Losses are computed in fp32 whatever the autocast precision, and multiscale outputs are averaged.
    """

    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.gan_mode = objectives.lookup(gan_mode).criterion
        self.register_buffer('real_label', torch.tensor(target_real_label), persistent=False)
        self.register_buffer('fake_label', torch.tensor(target_fake_label), persistent=False)

    def get_target_tensor(self, prediction, target_is_real):
        target = self.real_label if target_is_real else self.fake_label
        return target.to(prediction.device).expand_as(prediction)

    def _single(self, prediction, target_is_real, for_discriminator):
        prediction = prediction.float()
        if self.gan_mode == 'vanilla':
            return F.binary_cross_entropy_with_logits(prediction, self.get_target_tensor(prediction, target_is_real))
        if self.gan_mode == 'lsgan':
            return F.mse_loss(prediction, self.get_target_tensor(prediction, target_is_real))
        if self.gan_mode == 'wgangp':
            return -prediction.mean() if target_is_real else prediction.mean()
        # hinge
        if for_discriminator:
            if target_is_real:
                return F.relu(1.0 - prediction).mean()
            return F.relu(1.0 + prediction).mean()
        if not target_is_real:
            raise ValueError('the hinge generator loss is only defined for target_is_real=True')
        return -prediction.mean()

    def forward(self, prediction, target_is_real, for_discriminator=True):
        predictions = final_predictions(prediction)
        losses = [self._single(p, target_is_real, for_discriminator) for p in predictions]
        return sum(losses) / len(losses)


def feature_matching_loss(pred_fake, pred_real):
    """pix2pixHD feature matching: L1 between the discriminator's intermediate features on fake and real
    inputs, summed over layers and averaged over scales (real features are targets: no gradient to them).

    Needs a discriminator that returns features (``multiscale``, ``sesame``): lists ending with the prediction.
    """
    def scales(pred):
        if torch.is_tensor(pred) or not all(isinstance(p, (list, tuple)) for p in pred):
            raise ValueError('feature matching (--lambda_feat > 0) needs a discriminator that returns intermediate '
                             'features: use --netD multiscale or --netD sesame, or set --lambda_feat 0')
        return pred
    fake_scales, real_scales = scales(pred_fake), scales(pred_real)
    total = 0.0
    for fake_feats, real_feats in zip(fake_scales, real_scales):
        for fake, real in zip(fake_feats[:-1], real_feats[:-1]):
            total = total + F.l1_loss(fake.float(), real.detach().float())
    return total / len(fake_scales)


def gradient_penalty(netD, real_data, fake_data, constant=1.0, lambda_gp=10.0, type='mixed'):
    """WGAN-GP gradient penalty (Gulrajani et al.): lambda * E[(||grad D(x_hat)||_2 - constant)^2].

    ``type`` picks x_hat: 'real', 'fake' or 'mixed' (random interpolation). Returns a scalar tensor.
    """
    if lambda_gp <= 0.0:
        return torch.zeros((), device=real_data.device)
    if type == 'real':
        interpolates = real_data
    elif type == 'fake':
        interpolates = fake_data
    elif type == 'mixed':
        alpha = torch.rand(real_data.shape[0], 1, 1, 1, device=real_data.device)
        interpolates = alpha * real_data + (1 - alpha) * fake_data
    else:
        raise ValueError(f"gradient penalty type '{type}' is not one of real, fake, mixed")
    interpolates = interpolates.detach().requires_grad_(True)
    gradients = input_gradients(final_predictions(netD(interpolates)), interpolates)
    return ((gradients.norm(2, dim=1) - constant) ** 2).mean() * lambda_gp


def input_gradients(outputs, inputs):
    """Gradient of the summed ``outputs`` (a tensor or a list, one per scale) with respect to ``inputs``, one fp32
    row per sample, kept in the graph so a penalty on it trains the discriminator (WGAN-GP, R1)."""
    outputs = [outputs] if torch.is_tensor(outputs) else outputs
    gradients = torch.autograd.grad(outputs=[o.float().sum() for o in outputs], inputs=inputs,
                                    create_graph=True, retain_graph=True)[0]
    return gradients.reshape(inputs.size(0), -1).float()


def wgan_gp_term(criterion, netD, real, fake, lambda_gp):
    """The gradient penalty a discriminator loss adds: :func:`gradient_penalty` for --gan_mode wgangp with
    --lambda_gp > 0, else None (every other objective, or the penalty turned off)."""
    if criterion.gan_mode != 'wgangp' or lambda_gp <= 0:
        return None
    return gradient_penalty(netD, real, fake, lambda_gp=lambda_gp)


def discriminator_loss(criterion, netD, real, fake, lambda_gp=0.0, autocast=contextlib.nullcontext):
    """D loss 0.5 * (L(D(real), real) + L(D(fake), fake)), plus the gradient penalty for WGAN-GP.

    ``criterion`` is a :class:`GANLoss`; ``autocast`` a context factory for the forward passes (mixed precision).
    Returns (total, real term, fake term); the fake input is detached so G gets no gradient from it.
    """
    fake = fake.detach()
    with autocast():
        pred_real = netD(real)
        pred_fake = netD(fake)
    loss_real = criterion(pred_real, True)
    loss_fake = criterion(pred_fake, False)
    loss = 0.5 * (loss_real + loss_fake)
    penalty = wgan_gp_term(criterion, netD, real, fake, lambda_gp)
    if penalty is not None:
        loss = loss + penalty
    return loss, loss_real, loss_fake
