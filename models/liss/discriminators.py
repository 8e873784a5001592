"""The discriminators LiSS adds to CycleGAN's: the gray discriminators of the colourisation task and, with
--D_rotation, the SSGAN rotation head of every discriminator with its losses.

:class:`LissDiscriminators` is a mixin of models/liss_model.py's LissModel (placed before CycleGANModel, whose
discriminator loss it extends).
"""
import itertools

import torch
import torch.nn.functional as F

from .. import networks
from ..base_model import unwrap
from .generator import ROTATION_CLASSES, RotationDiscriminator
from .tasks import rotation_batch


class LissDiscriminators:
    """Gray discriminators, rotation heads and the rotation / gray adversarial terms."""

    def build_discriminators(self):
        """Wrap D_A / D_B with rotation heads (--D_rotation), build the gray discriminators (--lambda_gray_gan
        > 0 with the gray task) and one optimizer over all; returns the loss names they add."""
        opt, extra = self.opt, []
        norm_layer = networks.get_norm_layer(opt.norm)
        if opt.D_rotation:
            extra += ['DR_A', 'DR_B', 'G_DR_A', 'G_DR_B']
            self.netD_A = RotationDiscriminator(self.netD_A, opt.output_nc, opt.crop_size, norm_layer)
            self.netD_B = RotationDiscriminator(self.netD_B, opt.input_nc, opt.crop_size, norm_layer)
            networks.init_net(self.netD_A.rotation_head, opt.init_type, opt.init_gain)
            networks.init_net(self.netD_B.rotation_head, opt.init_type, opt.init_gain)
        self.gray_gan = 'gray' in self.aux_tasks and opt.lambda_gray_gan > 0
        if self.gray_gan:  # D_A_gray judges colourised A images, D_B_gray colourised B images (as published)
            self.netD_A_gray = networks.define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                                 opt.init_type, opt.init_gain, opt=opt)
            self.netD_B_gray = networks.define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                                 opt.init_type, opt.init_gain, opt=opt)
            if opt.D_rotation:  # published: every LiSS discriminator has the rotation head, the gray ones too
                self.netD_A_gray = RotationDiscriminator(self.netD_A_gray, opt.input_nc, opt.crop_size, norm_layer)
                self.netD_B_gray = RotationDiscriminator(self.netD_B_gray, opt.output_nc, opt.crop_size, norm_layer)
                networks.init_net(self.netD_A_gray.rotation_head, opt.init_type, opt.init_gain)
                networks.init_net(self.netD_B_gray.rotation_head, opt.init_type, opt.init_gain)
            self.model_names += ['D_A_gray', 'D_B_gray']
            extra += ['D_A_gray', 'D_B_gray']
        if opt.D_rotation or self.gray_gan:
            self.optimizer_D = self.make_optimizer(itertools.chain(*[net.parameters() for net in self.discriminators()]))
            self.optimizers = [self.optimizer_G, self.optimizer_D]
        return extra

    def discriminators(self):
        names = ['D_A', 'D_B'] + (['D_A_gray', 'D_B_gray'] if getattr(self, 'gray_gan', False) else [])
        return [getattr(self, 'net' + n) for n in names]

    def gray_discriminator(self, d):
        return getattr(self, f'netD_{d}_gray')

    def gray_loss(self, d, colour, real):
        """(1 - w) L1 + w GAN(D_<d>_gray(colour) is real), w = --lambda_gray_gan (published 0.1)."""
        w = self.opt.lambda_gray_gan if getattr(self, 'gray_gan', False) else 0.0
        loss = F.l1_loss(colour.float(), real.float())
        if w > 0:
            with self.autocast():
                pred = self.gray_discriminator(d)(colour)
            loss = (1.0 - w) * loss + w * self.criterionGAN(pred, True, for_discriminator=False)
        return loss

    def rotation_images(self, d):
        """Real images of domain ``d`` whose rotations the discriminators classify: the current batch, or for
        one step after a sequential/liss switch those of the previous input (LissModel.set_input)."""
        source = getattr(self, '_rotation_source', None) or {'A': self.real_A, 'B': self.real_B}
        return source[d]

    def rotation_pairs(self):
        """(domain label, D, real images, generated images) for the discriminators' rotation task."""
        if self.opt.D_rotation_domain == 'judged':
            return (('A', self.netD_A, self.rotation_images('B'), self.fake_B),
                    ('B', self.netD_B, self.rotation_images('A'), self.fake_A))
        return (('A', self.netD_A, self.rotation_images('A'), self.fake_A),
                ('B', self.netD_B, self.rotation_images('B'), self.fake_B))

    def add_rotation_generator_loss(self, total):
        """``total`` plus the generators' published rotation term |CE(D on rotated fakes) - CE(D on rotated
        reals)| x --lambda_DR of each domain."""
        for d, netD, real, fake in self.rotation_pairs():
            x_fake, y_fake = rotation_batch(fake)
            x_real, y_real = rotation_batch(real)
            with self.autocast():
                ce_fake = self.criterionCE(unwrap(netD).rotation_logits(x_fake).float(), y_fake)
                ce_real = self.criterionCE(unwrap(netD).rotation_logits(x_real).float(), y_real)
            loss = torch.abs(ce_fake - ce_real) * self.opt.lambda_DR
            setattr(self, f'loss_G_DR_{d}', loss)
            total = total + loss
        return total

    def discriminator_loss(self, netD, real, fake):
        """The GAN D loss plus, with --D_rotation, the published rotation terms: CE over the 4 rotations of real
        images, plus CE over those rotations mixed with the current generated images (5th class)."""
        total, loss_real, loss_fake = super().discriminator_loss(netD, real, fake)
        if self.opt.D_rotation and netD in (self.netD_A, self.netD_B):
            d, _, rot_real, rot_fake = next(p for p in self.rotation_pairs() if p[1] is netD)
            x, y = rotation_batch(rot_real)
            with self.autocast():
                logits_real = unwrap(netD).rotation_logits(x).float()
                logits_fake = unwrap(netD).rotation_logits(rot_fake.detach()).float()
            generated = torch.full((rot_fake.shape[0],), ROTATION_CLASSES - 1, device=y.device, dtype=y.dtype)
            loss = (self.criterionCE(logits_real, y)
                    + self.criterionCE(torch.cat([logits_real, logits_fake]), torch.cat([y, generated])))
            setattr(self, f'loss_DR_{d}', loss)
            total = total + loss
        return total, loss_real, loss_fake

    def backward_D_gray(self):
        """Gray discriminators: real images vs the current colourisations (no image pool, as published); with
        --D_rotation they also classify the rotations of the real images (as published)."""
        for d, real in (('A', self.real_A), ('B', self.real_B)):
            netD = self.gray_discriminator(d)
            loss, _, _ = super().discriminator_loss(netD, real, self._gray_colour[d])
            if self.opt.D_rotation:
                x, y = rotation_batch(self.rotation_images(d))
                with self.autocast():
                    logits = unwrap(netD).rotation_logits(x).float()
                loss = loss + self.criterionCE(logits, y)
            setattr(self, f'loss_D_{d}_gray', loss)
            self.backward(loss)
