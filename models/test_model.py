"""One-directional inference with a single generator, e.g. one half of a CycleGAN or published weights."""
from .base_model import BaseModel
from . import networks


class TestModel(BaseModel):
    """Loads ``<epoch>_net_G<model_suffix>.pth`` and translates --dataset_mode single images. Test only."""

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        if is_train:
            parser.error('--model test is for test.py only; train with --model cycle_gan or pix2pix')
        parser.set_defaults(dataset_mode='single')
        parser.add_argument('--model_suffix', type=str, default='',
                            help='loads <epoch>_net_G<model_suffix>.pth, e.g. _A for the G_A of a CycleGAN run')
        return parser

    def __init__(self, opt):
        assert not opt.isTrain, 'TestModel cannot be used during training time'
        super().__init__(opt)
        self.loss_names = []
        self.visual_names = ['real', 'fake']
        self.model_names = ['G' + opt.model_suffix]
        self.netG = networks.define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                                      opt.init_type, opt.init_gain, dropout_rate=opt.dropout_rate)
        setattr(self, 'netG' + opt.model_suffix, self.netG)

    def set_input(self, input):
        self.real = self.to_device(input['A'])
        self.image_paths = input['A_paths']

    def forward(self):
        self.fake = getattr(self, 'netG' + self.opt.model_suffix)(self.real)

    def optimize_parameters(self):
        raise RuntimeError('TestModel is for inference only')
