"""The classic code's training and test steps, as the reference the benchmark compares against.

The classic pytorch-CycleGAN-and-pix2pix step is re-created here with this project's networks (whose
architectures and parameter names are the classic ones) and the classic step's own sequence of operations:
fp32, contiguous tensors, one plain Adam per optimizer group, ``set_requires_grad`` toggling, the discriminator
evaluated as the classic ``optimize_parameters`` does (pix2pix: three D forwards; CycleGAN: identity, cycle and
pooled fakes), and inference as ``torch.no_grad()`` around the generator. No autocast, no channels_last, no
compilation, no fused optimizer: the speed of the code a user of the classic repository runs today.
"""
import itertools
import random

import torch
from torch import nn

from models import networks

def _set_requires_grad(nets, flag):
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


class _ClassicGANLoss(nn.Module):
    """The classic GANLoss: a target tensor of the prediction's shape, BCE-with-logits or MSE against it."""

    def __init__(self, mode):
        super().__init__()
        self.loss = nn.BCEWithLogitsLoss() if mode == 'vanilla' else nn.MSELoss()

    def forward(self, prediction, target_is_real):
        target = torch.tensor(1.0 if target_is_real else 0.0, device=prediction.device).expand_as(prediction)
        return self.loss(prediction, target)


class _ClassicPool:
    """The classic image pool: past fakes returned half of the time once full (per image)."""

    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.unsqueeze(0).detach()
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


class ClassicStep:
    """Common part: the networks the options describe (as the classic factories build them), plain Adam."""

    def __init__(self, opt):
        self.opt = opt
        self.device = torch.device(opt.device)
        self.criterionGAN = _ClassicGANLoss(opt.gan_mode).to(self.device)
        self.criterionL1 = nn.L1Loss()

    def _make_G(self, input_nc, output_nc):
        o = self.opt
        return networks.define_G(input_nc, output_nc, o.ngf, o.netG, o.norm, not o.no_dropout, o.init_type,
                                 o.init_gain).to(self.device)

    def _make_D(self, input_nc):
        o = self.opt
        return networks.define_D(input_nc, o.ndf, 'basic', o.n_layers_D, o.norm, o.init_type, o.init_gain).to(self.device)

    def _adam(self, *nets):
        return torch.optim.Adam(itertools.chain(*(n.parameters() for n in nets)), lr=self.opt.lr,
                                betas=(self.opt.beta1, 0.999))

    def set_input(self, batch):
        self.real_A = batch['A'].to(self.device)
        self.real_B = batch['B'].to(self.device)


class ClassicPix2PixStep(ClassicStep):
    """pix2pix: U-Net G, PatchGAN D on (input, output) pairs, vanilla GAN + 100 L1."""

    def __init__(self, opt):
        super().__init__(opt)
        self.netG = self._make_G(opt.input_nc, opt.output_nc)
        self.netD = self._make_D(opt.input_nc + opt.output_nc)
        self.optimizer_G, self.optimizer_D = self._adam(self.netG), self._adam(self.netD)

    def train_step(self):
        self.fake_B = self.netG(self.real_A)
        _set_requires_grad([self.netD], True)
        self.optimizer_D.zero_grad()
        pred_fake = self.netD(torch.cat((self.real_A, self.fake_B), 1).detach())
        pred_real = self.netD(torch.cat((self.real_A, self.real_B), 1))
        self.loss_D = (self.criterionGAN(pred_fake, False) + self.criterionGAN(pred_real, True)) * 0.5
        self.loss_D.backward()
        self.optimizer_D.step()
        _set_requires_grad([self.netD], False)
        self.optimizer_G.zero_grad()
        pred_fake = self.netD(torch.cat((self.real_A, self.fake_B), 1))
        self.loss_G = (self.criterionGAN(pred_fake, True)
                       + self.criterionL1(self.fake_B, self.real_B) * self.opt.lambda_L1)
        self.loss_G.backward()
        self.optimizer_G.step()

    def test(self):
        with torch.no_grad():
            self.fake_B = self.netG(self.real_A)

    def get_current_losses(self):
        return {'G': self.loss_G.item(), 'D': self.loss_D.item()}


class ClassicCycleGANStep(ClassicStep):
    """CycleGAN: two ResNet G, two PatchGAN D, LSGAN, cycle 10, identity 0.5, pools of 50."""

    def __init__(self, opt):
        super().__init__(opt)
        self.netG_A = self._make_G(opt.input_nc, opt.output_nc)
        self.netG_B = self._make_G(opt.output_nc, opt.input_nc)
        self.netD_A = self._make_D(opt.output_nc)
        self.netD_B = self._make_D(opt.input_nc)
        self.optimizer_G = self._adam(self.netG_A, self.netG_B)
        self.optimizer_D = self._adam(self.netD_A, self.netD_B)
        self.pool_A, self.pool_B = _ClassicPool(opt.pool_size), _ClassicPool(opt.pool_size)
        self.lambda_A, self.lambda_B, self.lambda_idt = opt.lambda_A, opt.lambda_B, opt.lambda_identity

    def _backward_D(self, netD, real, fake):
        loss = (self.criterionGAN(netD(real), True) + self.criterionGAN(netD(fake.detach()), False)) * 0.5
        loss.backward()
        return loss

    def train_step(self):
        fake_B = self.netG_A(self.real_A)
        rec_A = self.netG_B(fake_B)
        fake_A = self.netG_B(self.real_B)
        rec_B = self.netG_A(fake_A)
        _set_requires_grad([self.netD_A, self.netD_B], False)
        self.optimizer_G.zero_grad()
        idt_A = self.netG_A(self.real_B)
        idt_B = self.netG_B(self.real_A)
        self.loss_G = (self.criterionL1(idt_A, self.real_B) * self.lambda_B * self.lambda_idt
                       + self.criterionL1(idt_B, self.real_A) * self.lambda_A * self.lambda_idt
                       + self.criterionGAN(self.netD_A(fake_B), True)
                       + self.criterionGAN(self.netD_B(fake_A), True)
                       + self.criterionL1(rec_A, self.real_A) * self.lambda_A
                       + self.criterionL1(rec_B, self.real_B) * self.lambda_B)
        self.loss_G.backward()
        self.optimizer_G.step()
        _set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad()
        self.loss_D = (self._backward_D(self.netD_A, self.real_B, self.pool_B.query(fake_B))
                       + self._backward_D(self.netD_B, self.real_A, self.pool_A.query(fake_A)))
        self.optimizer_D.step()

    def test(self):
        with torch.no_grad():  # the classic test runs the whole forward: both translations and both cycles
            self.fake_B = self.netG_A(self.real_A)
            self.rec_A = self.netG_B(self.fake_B)
            self.fake_A = self.netG_B(self.real_B)
            self.rec_B = self.netG_A(self.fake_A)

    def get_current_losses(self):
        return {'G': self.loss_G.item(), 'D': self.loss_D.item()}


def classic_step(opt):
    """The classic step of ``opt.model`` ('pix2pix' or 'cycle_gan'), networks as ``opt`` describes them."""
    cls = {'pix2pix': ClassicPix2PixStep, 'cycle_gan': ClassicCycleGANStep}.get(opt.model)
    if cls is None:
        raise ValueError(f"--reference needs --model pix2pix or cycle_gan (the classic code's models), not '{opt.model}'")
    return cls(opt)
