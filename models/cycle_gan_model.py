"""CycleGAN (Zhu et al., ICCV 2017): unpaired translation with two generators, two discriminators and
cycle-consistency."""
import itertools

import torch

from util.errors import OptionError
from .base_model import BaseModel
from . import networks


class CycleGANModel(BaseModel):
    """Learns G_A: A -> B and G_B: B -> A from unpaired images (--dataset_mode unaligned).

    Objective: GAN(G_A, D_A) + GAN(G_B, D_B) + lambda_A ||G_B(G_A(A)) - A|| + lambda_B ||G_A(G_B(B)) - B||
    + lambda_identity * (lambda_B ||G_A(B) - B|| + lambda_A ||G_B(A) - A||).
    """

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(no_dropout=True)
        if is_train:
            parser.add_argument('--lambda_A', type=float, default=10.0, help='weight for cycle loss (A -> B -> A)')
            parser.add_argument('--lambda_B', type=float, default=10.0, help='weight for cycle loss (B -> A -> B)')
            parser.add_argument('--lambda_identity', type=float, default=0.5,
                                help='weight of the identity mapping loss, relative to lambda_A/lambda_B '
                                     '(0.1 makes it 10x smaller than the cycle loss)')
        return parser

    @classmethod
    def check_options(cls, opt):
        super().check_options(opt)
        if opt.isTrain and opt.lambda_identity > 0.0 and opt.input_nc != opt.output_nc:
            raise OptionError('the identity loss needs --input_nc == --output_nc; set --lambda_identity 0')

    def __init__(self, opt):
        super().__init__(opt)
        self.loss_names = ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B']
        visual_names_A = ['real_A', 'fake_B', 'rec_A']
        visual_names_B = ['real_B', 'fake_A', 'rec_B']
        if self.isTrain and opt.lambda_identity > 0.0:
            visual_names_A.append('idt_B')
            visual_names_B.append('idt_A')
        self.visual_names = visual_names_A + visual_names_B
        self.model_names = ['G_A', 'G_B', 'D_A', 'D_B'] if self.isTrain else ['G_A', 'G_B']
        self.netG_A = self.build_generator(opt.input_nc, opt.output_nc)
        self.netG_B = self.build_generator(opt.output_nc, opt.input_nc)
        if self.isTrain:
            self.netD_A = networks.define_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                            opt.init_type, opt.init_gain, opt=opt)
            self.netD_B = networks.define_D(opt.input_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                            opt.init_type, opt.init_gain, opt=opt)
            self.fake_A_pool = self.make_pool('fake_A')
            self.fake_B_pool = self.make_pool('fake_B')
            self.criterionGAN = networks.GANLoss(opt.gan_mode).to(self.device)
            self.criterionCycle = torch.nn.L1Loss()
            self.criterionIdt = torch.nn.L1Loss()
            self.optimizer_G = self.make_optimizer(self.generator_parameters())
            self.optimizer_D = self.make_optimizer(itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()))
            self.optimizers = [self.optimizer_G, self.optimizer_D]

    def build_generator(self, input_nc, output_nc):
        opt = self.opt
        return networks.define_G(input_nc, output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                 opt.init_type, opt.init_gain, dropout_rate=opt.dropout_rate)

    def generator_parameters(self):
        return itertools.chain(self.netG_A.parameters(), self.netG_B.parameters())

    def set_input(self, input):
        self.set_input_pair(input)

    def forward(self):
        self.fake_B = self.netG_A(self.real_A)
        self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = self.netG_B(self.real_B)
        self.rec_B = self.netG_A(self.fake_A)

    def backward_D_A(self):
        fake_B = self.fake_B_pool.query(self.fake_B)
        self.loss_D_A, _, _ = self.discriminator_loss(self.netD_A, self.real_B, fake_B)
        self.backward(self.loss_D_A)

    def backward_D_B(self):
        fake_A = self.fake_A_pool.query(self.fake_A)
        self.loss_D_B, _, _ = self.discriminator_loss(self.netD_B, self.real_A, fake_A)
        self.backward(self.loss_D_B)

    def identity_losses(self):
        lambda_idt, lambda_A, lambda_B = self.opt.lambda_identity, self.opt.lambda_A, self.opt.lambda_B
        if lambda_idt <= 0:
            return 0.0, 0.0
        with self.autocast():
            self.idt_A = self.netG_A(self.real_B)
            self.idt_B = self.netG_B(self.real_A)
        loss_idt_A = self.criterionIdt(self.idt_A.float(), self.real_B.float()) * lambda_B * lambda_idt
        loss_idt_B = self.criterionIdt(self.idt_B.float(), self.real_A.float()) * lambda_A * lambda_idt
        return loss_idt_A, loss_idt_B

    def generator_loss(self):
        """The CycleGAN generator objective (adversarial + cycle + identity); subclasses add terms to it."""
        self.loss_idt_A, self.loss_idt_B = self.identity_losses()
        with self.autocast():
            pred_A = self.netD_A(self.fake_B)
            pred_B = self.netD_B(self.fake_A)
        self.loss_G_A = self.criterionGAN(pred_A, True, for_discriminator=False)
        self.loss_G_B = self.criterionGAN(pred_B, True, for_discriminator=False)
        self.loss_cycle_A = self.criterionCycle(self.rec_A.float(), self.real_A.float()) * self.opt.lambda_A
        self.loss_cycle_B = self.criterionCycle(self.rec_B.float(), self.real_B.float()) * self.opt.lambda_B
        return (self.loss_G_A + self.loss_G_B + self.loss_cycle_A + self.loss_cycle_B
                + self.loss_idt_A + self.loss_idt_B)

    def optimize_parameters(self):
        # one cast cache for the step: each generator's weights are cast once for its three calls
        # (translation, cycle, identity), each discriminator's once for real and fake
        with self.cast_cache():
            with self.autocast():
                self.forward()
            self.set_requires_grad([self.netD_A, self.netD_B], False)
            self.optimizer_G.zero_grad(set_to_none=True)
            self.loss_G = self.generator_loss()
            self.backward(self.loss_G)
            self.step(self.optimizer_G)
            self.set_requires_grad([self.netD_A, self.netD_B], True)
            self.optimizer_D.zero_grad(set_to_none=True)
            self.backward_D_A()
            self.backward_D_B()
            self.step(self.optimizer_D)
