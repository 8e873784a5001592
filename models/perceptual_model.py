"""pix2pix with a VGG19 perceptual loss (as in SPADE) replacing, or added to, the L1 reconstruction term."""
from .pix2pix_model import Pix2PixModel
from .vgg import VGGLoss


class PerceptualModel(Pix2PixModel):
    """Objective: GAN(G, D) + lambda_vgg * VGG(G(A), B) [+ lambda_L1 * L1(G(A), B) with --keep_L1].

    VGG(x, y) = sum over relu1_1..relu5_1 of w_i * L1(phi_i(x), phi_i(y)), w = 1/32, 1/16, 1/8, 1/4, 1
    (see models/vgg.py). The VGG19 is a frozen loss network: it is not in model_names, so it is neither
    optimised nor saved in checkpoints, and testing does not need its weights.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser = Pix2PixModel.modify_commandline_options(parser, is_train)
        if is_train:
            parser.add_argument('--lambda_vgg', type=float, default=10.0, help='weight of the VGG19 perceptual loss')
            parser.add_argument('--keep_L1', action='store_true',
                                help='keep the L1 term (weight --lambda_L1) next to the perceptual loss instead of replacing it')
            parser.add_argument('--vgg_weights', type=str, default='imagenet',
                                help="VGG19 weights: 'imagenet' (torchvision's VGG19_Weights.IMAGENET1K_V1, downloaded "
                                     "once), a local state_dict file, or 'random' (tests/offline smoke runs only)")
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        if self.isTrain:
            if opt.vgg_weights == 'random':
                print('warning: --vgg_weights random: the "perceptual" loss uses an untrained VGG19 (for tests only)')
            self.criterionVGG = VGGLoss(opt.vgg_weights).to(self.device)
            self.loss_names = [n for n in self.loss_names if n != 'G_L1']
            self.loss_names.insert(self.loss_names.index('G_GAN') + 1, 'G_VGG')
            if opt.keep_L1:
                self.loss_names.insert(self.loss_names.index('G_VGG') + 1, 'G_L1')

    def reconstruction_loss(self):
        """lambda_vgg * VGG(G(A), B), plus lambda_L1 * L1 with --keep_L1."""
        with self.autocast():
            self.loss_G_VGG = self.criterionVGG(self.fake_B, self.real_B) * self.opt.lambda_vgg
        self.loss_G_pixel = super().reconstruction_loss() if self.opt.keep_L1 else 0.0
        return self.loss_G_VGG + self.loss_G_pixel

    def backward_G(self):
        super().backward_G()
        self.loss_G_L1 = self.loss_G_pixel  # report the L1 term alone (super stored the whole reconstruction term)
