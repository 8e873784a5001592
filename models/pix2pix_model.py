"""pix2pix (Isola et al., CVPR 2017): conditional GAN with a U-Net generator, a PatchGAN on (input, output)
pairs and an L1 reconstruction term."""
import torch

from .base_model import BaseModel
from . import networks


class Pix2PixModel(BaseModel):
    """Learns A -> B (or B -> A with --direction BtoA) from paired images (--dataset_mode aligned).

    Objective: GAN(G, D) + lambda_L1 * ||G(A) - B||_1 with a conditional discriminator D(A, .).
    """

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(norm='batch', netG='unet_256', dataset_mode='aligned')
        if is_train:
            parser.set_defaults(pool_size=0, gan_mode='vanilla')
            parser.add_argument('--lambda_L1', type=float, default=100.0, help='weight for the L1 loss')
            parser.add_argument('--lambda_feat', type=float, default=0.0,
                                help='weight of the discriminator feature-matching loss (pix2pixHD; 10 there); needs a '
                                     'discriminator returning features: --netD multiscale or sesame; 0 disables it')
            parser.add_argument('--norm_D', type=str, default='spectralinstance', choices=networks.SESAME_NORMS,
                                help='normalisation of the --netD sesame discriminator (OpenSESAME: spectralinstance = '
                                     'spectral norm then instance norm); --norm stays the generator\'s')
            parser.add_argument('--sesame_padding', type=int, default=2, choices=[1, 2],
                                help='padding of the --netD sesame 4x4 convs: 2 as OpenSESAME, 1 as DLIM\'s own '
                                     'sesamDis (configs/dlim_sesam_own.yaml)')
            parser.add_argument('--sesame_last_stride', type=int, default=1, choices=[1, 2],
                                help='stride of the last conv of each --netD sesame stream: 1 as OpenSESAME, 2 as '
                                     'DLIM\'s own sesamDis (whose stride-1 test never fires with 3 convs)')
            parser.add_argument('--ttur', action='store_true',
                                help='two time-scale update rule (OpenSESAME/SPADE\'s default): G learns at --lr / 2 '
                                     'and D at --lr x 2, both with Adam-like betas (0, 0.9) instead of --beta1/--beta2')
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.loss_names = ['G_GAN', 'G_L1', 'D_real', 'D_fake']
        self.loss_G_feat = 0.0
        if self.isTrain and getattr(opt, 'lambda_feat', 0.0) > 0:
            self.loss_names.insert(1, 'G_feat')
        self.visual_names = ['real_A', 'fake_B', 'real_B']
        self.model_names = ['G', 'D'] if self.isTrain else ['G']
        self.netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                      opt.init_type, opt.init_gain, dropout_rate=opt.dropout_rate)
        if self.isTrain:
            self.netD = networks.define_D(opt.input_nc + opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.norm,
                                          opt.init_type, opt.init_gain, opt=opt, condition_nc=opt.input_nc)
            self.criterionGAN = networks.GANLoss(opt.gan_mode).to(self.device)
            self.criterionL1 = torch.nn.L1Loss()
            lr_G, lr_D, betas = opt.lr, opt.lr, (None, None)
            if getattr(opt, 'ttur', False):
                lr_G, lr_D, betas = opt.lr / 2, opt.lr * 2, (0.0, 0.9)
            self.optimizer_G = self.make_optimizer(self.netG.parameters(), lr=lr_G, beta1=betas[0], beta2=betas[1])
            self.optimizer_D = self.make_optimizer(self.netD.parameters(), lr=lr_D, beta1=betas[0], beta2=betas[1])
            self.optimizers = [self.optimizer_G, self.optimizer_D]

    def set_input(self, input):
        self.set_input_pair(input)

    def forward(self):
        self.fake_B = self.netG(self.real_A)

    def backward_D(self):
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        self.loss_D, self.loss_D_real, self.loss_D_fake = self.discriminator_loss(self.netD, real_AB, fake_AB)
        self.backward(self.loss_D)

    def generator_adversarial_loss(self):
        """GAN term of the generator: the conditional D should call (A, G(A)) real.

        With --lambda_feat > 0 it also sets ``self.loss_G_feat``, the feature-matching term between D's
        features of (A, G(A)) and of (A, B).
        """
        with self.autocast():
            pred_fake = self.netD(torch.cat((self.real_A, self.fake_B), 1))
        if getattr(self.opt, 'lambda_feat', 0.0) > 0:
            with torch.no_grad(), self.autocast():
                pred_real = self.netD(torch.cat((self.real_A, self.real_B), 1))
            self.loss_G_feat = networks.feature_matching_loss(pred_fake, pred_real) * self.opt.lambda_feat
        return self.criterionGAN(pred_fake, True, for_discriminator=False)

    def reconstruction_loss(self):
        """Paired term of the generator: lambda_L1 * L1(G(A), B). Variants (perceptual, ...) override this."""
        return self.criterionL1(self.fake_B.float(), self.real_B.float()) * self.opt.lambda_L1

    def backward_G(self):
        self.loss_G_GAN = self.generator_adversarial_loss()
        self.loss_G_L1 = self.reconstruction_loss()
        self.loss_G = self.loss_G_GAN + self.loss_G_L1 + self.loss_G_feat
        self.backward(self.loss_G)

    def optimize_parameters(self):
        with self.autocast():
            self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D()
        self.step(self.optimizer_D)
        self.set_requires_grad(self.netD, False)
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self.step(self.optimizer_G)
