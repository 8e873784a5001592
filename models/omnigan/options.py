"""Command-line options of --model omnigan (models/omnigan_model.py): the published defaults of
cc-ai/omnigan@432cfa1 (shared/trainer/defaults.yaml), each deliberate difference one flag away."""
from .classifier import CLASSIFIER_CHOICES
from .discriminators import NETD_CHOICES
from .generator import CONDITION_CHOICES, TASK_ACTIVATIONS
from .losses import CLASSIFIER_CHOICES as CLASSIFIER_LOSS_CHOICES, RECON_CHOICES, WATER_CHOICES
from .optim import IDLE_CHOICES
from util.errors import OptionError

# options that shape the saved networks: test.py takes them from the training run
ARCHITECTURE_OPTIONS = (
    "tasks", "omni_encoder", "omni_enc_dim", "omni_n_downsample", "omni_enc_n_res", "omni_dec_n_res",
    "omni_task_activation", "omni_n_classes", "omni_norm", "omni_enc_norm", "omni_activation", "omni_condition",
    "omni_translation", "omni_classifier", "deeplab_layers", "deeplab_proj_dim", "spade_nhidden", "spade_norm",
    "spade_spectral", "spade_kernel_size", "omni_cls_dim")


def add_omnigan_options(parser, is_train=True):
    """Add omnigan's options to `parser` and set its defaults for the shared ones; returns the parser."""
    # published: resize 256 -> random crop 224 -> resize back to 256 (--omni_final_size), kaiming initialisation
    # of the decoders, D and C, ExtraAdam at lr 5e-4 (beta1 0.9 for G, 0.5 for D and C), lr halved every 30 epochs
    parser.set_defaults(dataset_mode="omni", norm="instance", load_size=256, crop_size=224, init_type="kaiming",
                        init_gain=0.2)
    if is_train:
        parser.set_defaults(optimizer="extraadam", lr=0.0005, beta1=0.5, lr_policy="step", lr_decay_iters=30)
    parser.add_argument("--tasks", type=str, default="a,d,h,s,t,w",
                        help="heads to build, among a (adaptation), d (depth), h (height), s (segmentation), "
                             "t (translation), w (water); t needs at least one of d,h,s,w as its condition")
    parser.add_argument("--omni_encoder", type=str, default="munit", choices=["munit", "deeplabv2"],
                        help="encoder: MUNIT content encoder or DeepLab-v2 ResNet features + resblocks")
    parser.add_argument("--omni_enc_dim", type=int, default=64, help="MUNIT encoder width after the first conv")
    parser.add_argument("--omni_n_downsample", type=int, default=2,
                        help="MUNIT encoder downsamplings (decoders upsample as many times; deeplabv2 uses 3)")
    parser.add_argument("--omni_enc_n_res", type=int, default=4, help="residual blocks at the end of the encoder")
    parser.add_argument("--omni_dec_n_res", type=int, default=4,
                        help="residual blocks at the start of each task / adaptation decoder (published 4)")
    parser.add_argument("--omni_task_activation", type=str, default="tanh", choices=TASK_ACTIVATIONS,
                        help="output activation of the d, h, s decoders: tanh (published) or none (raw "
                             "outputs); w always outputs logits, a always tanh")
    parser.add_argument("--omni_n_classes", type=int, default=19, help="segmentation classes (label 255 is ignored)")
    parser.add_argument("--omni_norm", type=str, default="in", choices=["in", "bn", "ln", "none"],
                        help="normalisation in the encoder and decoder residual blocks (published: in)")
    parser.add_argument("--omni_enc_norm", type=str, default="spectral",
                        choices=["spectral", "in", "bn", "ln", "none"],
                        help="normalisation of the MUNIT encoder's projection and downsampling convolutions "
                             "(published: spectral norm on the convolution; in: this project's earlier choice)")
    parser.add_argument("--omni_activation", type=str, default="lrelu", choices=["lrelu", "relu"],
                        help="activation of the encoder and the task / adaptation decoders (published: lrelu)")
    parser.add_argument("--omni_condition", type=str, default="raw", choices=CONDITION_CHOICES,
                        help="SPADE condition of the translation decoder: raw (published: the d, h, s, w outputs in "
                             "that order, w through tanh) or probs (order h, d, s, w with softmax(s), sigmoid(w))")
    parser.add_argument("--omni_translation", type=str, default="shared", choices=["shared", "separate"],
                        help="translation decoders: shared (published: one decoder told f or n by a 2-channel bit "
                             "in its condition) or separate (one decoder per target, t[f] and t[n])")
    parser.add_argument("--omni_classifier", type=str, default="published", choices=CLASSIFIER_CHOICES,
                        help="domain classifier C: published (MaxPool, two ResNet basic blocks with batch norm, "
                             "AvgPool, Linear) or conv (two strided conv blocks of --omni_cls_dim, no norm)")
    parser.add_argument("--deeplab_weights", type=str, default="",
                        help="local file with DeepLab-v2 ResNet weights for --omni_encoder deeplabv2 "
                             "(empty: random initialisation)")
    parser.add_argument("--deeplab_layers", type=str, default="3,4,23,3",
                        help="bottleneck blocks per ResNet stage of the DeepLab-v2 encoder (ResNet-101: 3,4,23,3)")
    parser.add_argument("--deeplab_proj_dim", type=int, default=512,
                        help="channels the 2048 DeepLab-v2 features are projected to before the resblocks")
    parser.add_argument("--spade_nhidden", type=int, default=128, help="hidden channels of each SPADE layer")
    parser.add_argument("--spade_norm", type=str, default="instance", choices=["instance", "batch"],
                        help="parameter-free normalisation inside SPADE")
    parser.add_argument("--spade_spectral", dest="spade_spectral", action="store_true", default=True,
                        help="spectral normalisation on the SPADE residual block convolutions (default on, "
                             "as published)")
    parser.add_argument("--no_spade_spectral", dest="spade_spectral", action="store_false",
                        help="turn the SPADE spectral normalisation off")
    parser.add_argument("--spade_kernel_size", type=int, default=3,
                        help="kernel size of the convolutions inside the SPADE layers")
    parser.add_argument("--omni_cls_dim", type=int, default=128,
                    help="width of the domain classifier C with --omni_classifier conv (the published C's "
                         "widths follow the encoder: channels / 2, / 4)")
    parser.add_argument("--omni_val_freq", type=int, default=1,
                        help="every this many epochs, score the generator on the val lists (task and G losses "
                             "as val_<name>, images of the first batch); 0 turns validation off")
    parser.add_argument("--omni_val_num", type=int, default=50, help="items of the val lists scored")
    parser.add_argument("--omni_netD", type=str, default="patch", choices=NETD_CHOICES,
                        help="discriminators: patch (published single-scale spectral-norm PatchGAN) or "
                             "multiscale (pix2pixHD, --num_D scales)")
    if is_train:
        parser.add_argument("--lambda_gan_a", type=float, default=1.0, help="weight of the adaptation GAN loss")
        parser.add_argument("--lambda_gan_t", type=float, default=1.0, help="weight of the translation GAN loss")
        parser.add_argument("--lambda_cycle_a", type=float, default=1.0, help="weight of the adaptation cycle loss")
        parser.add_argument("--lambda_cycle_t", type=float, default=1.0, help="weight of the translation cycle loss")
        parser.add_argument("--lambda_auto_a", type=float, default=1.0,
                            help="weight of the adaptation auto-encoding (same-domain reconstruction) loss")
        parser.add_argument("--lambda_auto_t", type=float, default=1.0,
                            help="weight of the translation auto-encoding loss (representation phase)")
        parser.add_argument("--lambda_sm", type=float, default=1.0,
                            help="weight of the semantic matching loss (segmentation of the translation vs the "
                                 "source's)")
        parser.add_argument("--lambda_dm", type=float, default=1.0,
                            help="weight of the depth matching loss (depth of the translation vs the source's)")
        parser.add_argument("--lambda_d", type=float, default=1.0, help="weight of the depth loss")
        parser.add_argument("--lambda_h", type=float, default=1.0, help="weight of the height loss")
        parser.add_argument("--lambda_s", type=float, default=1.0, help="weight of the segmentation loss")
        parser.add_argument("--lambda_w", type=float, default=1.0, help="weight of the water-mask loss")
        parser.add_argument("--lambda_classifier", type=float, default=1.0,
                            help="weight of the generator's loss for fooling the domain classifier (0: off)")
        parser.add_argument("--lambda_C", type=float, default=1.0, help="weight of the domain classifier loss (0: off)")
        parser.add_argument("--cycle_loss", type=str, default="l2", choices=RECON_CHOICES, help="cycle loss")
        parser.add_argument("--auto_loss", type=str, default="l2", choices=RECON_CHOICES, help="auto-encoding loss")
        parser.add_argument("--depth_loss", type=str, default="l2", choices=RECON_CHOICES, help="depth loss")
        parser.add_argument("--height_loss", type=str, default="l2", choices=RECON_CHOICES, help="height loss")
        parser.add_argument("--water_loss", type=str, default="bce", choices=WATER_CHOICES, help="water-mask loss")
        parser.add_argument("--classifier_loss", type=str, default="ce", choices=CLASSIFIER_LOSS_CHOICES,
                            help="loss of C and of the generator fooling C (ce: C is told the real/sim-swapped "
                                 "domain; l1/l2: the 1/4-filled vector)")
        parser.add_argument("--d_soft_shift", type=float, default=0.2,
                            help="discriminator label smoothing: real targets 1-u, fake targets u, u ~ U(0, "
                                 "this) drawn per loss term (lsgan/vanilla); 0 turns it off")
        parser.add_argument("--d_flip_prob", type=float, default=0.05,
                            help="probability that a discriminator loss term gets the opposite label; 0: off")
        parser.add_argument("--matching_grad", type=str, default="none", choices=["none", "fake"],
                            help="gradient of the sm/dm matching losses: none (published: both sides detached, "
                                 "the terms are only measured) or fake (through the translated image)")
        parser.add_argument("--matching_mask", type=str, default="random", choices=["random", "none"],
                            help="pixels the sm/dm losses count: random (published placeholder: a fresh 0/1 "
                                 "mask per term) or none (every pixel)")
        parser.add_argument("--omni_detach_condition", action="store_true",
                            help="treat the SPADE condition as given (no gradient from the translation losses "
                                 "into the task decoders); published: not detached")
        parser.add_argument("--repr_steps", type=int, default=10000,
                            help="iterations of the representation phase before the translation phase starts "
                                 "(0: translation from the start)")
        parser.add_argument("--repr_epochs", type=int, default=-1,
                            help="if >= 0, switch to translation after this many epochs instead of --repr_steps")
        parser.add_argument("--repr_freeze", action="store_true",
                            help="freeze the encoder during the translation phase (published "
                                 "freeze_representation; the task decoders keep training)")
        parser.add_argument("--encoder_lr_mult", type=float, default=1.0,
                            help="encoder learning rate multiplier in the translation phase (without --repr_freeze)")
        parser.add_argument("--extraadam_idle", type=str, default="momentum", choices=IDLE_CHOICES,
                            help="ExtraAdam on parameters without gradient: momentum (published under torch "
                                 "1.4: zeroed gradients are kept, so Adam's momentum keeps moving a parameter "
                                 "that had one, and an update without gradient keeps the extrapolated value) "
                                 "or anchor (gradients set to None; such a parameter stays at its anchor)")
        parser.add_argument("--beta1_G", type=float, default=0.9,
                            help="beta1 of the generator's optimizers (D and C use --beta1)")
        parser.add_argument("--lr_gamma", type=float, default=0.5,
                            help="factor of the lr every --lr_decay_iters epochs with --lr_policy step")
    # comet's --log_level (0 none, 1 aggregated, 2 all) is a visualizer option; see aggregated_loss_names
    return parser


def deeplab_layers(opt):
    """--deeplab_layers as a tuple of 4 integers (OptionError otherwise)."""
    try:
        return tuple(int(n) for n in str(opt.deeplab_layers).split(","))
    except ValueError:
        raise OptionError(f"--deeplab_layers {opt.deeplab_layers!r} must be 4 comma-separated integers") from None


def check_options(opt):
    """The OmniGAN option checks (OmniganModel.check_options, run while parsing, before anything is written)."""
    deeplab_layers(opt)
    if opt.input_nc != 3:
        raise OptionError("omnigan works on RGB images: use --input_nc 3")
    if opt.isTrain and str(opt.optimizer).lower() == "extraadam" and opt.lookahead:
        raise OptionError("--lookahead does not combine with --optimizer extraadam")
