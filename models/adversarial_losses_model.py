"""pix2pix trained with a choice of adversarial objective, the GAN-loss study of SPADE (Park et al., CVPR 2019):
--gan_mode original | ls | hinge | w."""
import torch

from util.errors import OptionError
from .pix2pix_model import Pix2PixModel


class AdversarialLossesModel(Pix2PixModel):
    """pix2pix whose adversarial term is selected by --gan_mode; everything else is pix2pix.

    original: non-saturating cross-entropy; ls: least squares; hinge: D uses max(0, 1 - D(real)) and
    max(0, 1 + D(fake)), G uses -D(fake); w: Wasserstein critic (D: -D(real) + D(fake), G: -D(fake)) kept
    Lipschitz by the gradient penalty (--lambda_gp) and/or weight clipping (--clip_weights). The losses
    themselves live in networks.GANLoss, shared by every model.
    """

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser = Pix2PixModel.modify_commandline_options(parser, is_train)
        if is_train:
            parser.set_defaults(gan_mode='original')
            parser.add_argument('--clip_weights', type=float, default=0.0,
                                help='clamp every discriminator parameter to [-c, c] after each D step (the original '
                                     'WGAN critic constraint, e.g. 0.01 with --gan_mode w); 0 disables it')
        return parser

    @classmethod
    def check_options(cls, opt):
        super().check_options(opt)
        if opt.isTrain and opt.clip_weights < 0:
            raise OptionError(f'--clip_weights must be >= 0 (got {opt.clip_weights})')

    def step(self, optimizer):
        super().step(optimizer)
        if self.isTrain and self.opt.clip_weights > 0 and optimizer is self.optimizer_D:
            with torch.no_grad():
                for param in self.netD.parameters():
                    param.clamp_(-self.opt.clip_weights, self.opt.clip_weights)
