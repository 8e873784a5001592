"""Command-line options of the LiSS model (models/liss_model.py) and the option names its code looks up."""
from util.errors import OptionError
from .schedule import REPR_MODES, SCHEDULES
from .tasks import AUX_TASKS, jigsaw_crop_size, parse_tasks

# RAdam of the torch-optimizer package (the paper's optimizer); plain 'radam' would resolve to torch.optim's.
DEFAULT_OPTIMIZER = 'torch_optimizer.radam'
LAMBDAS = {'rotation': 'lambda_R', 'jigsaw': 'lambda_J', 'depth': 'lambda_D', 'gray': 'lambda_G'}
THRESHOLDS = {'rotation': 'rotation_acc_threshold', 'jigsaw': 'jigsaw_acc_threshold',
              'depth': 'depth_loss_threshold', 'gray': 'gray_loss_threshold', 'identity': 'i_loss_threshold'}
LEARNING_RATES = {'rotation': 'lr_rotation', 'jigsaw': 'lr_jigsaw', 'depth': 'lr_depth', 'gray': 'lr_gray'}
LISS_NETG = 'liss'  # resnet_6blocks split 3 / 3, heads with 3 residual blocks (the published --netG liss)
LISS_BLOCKS = 6


def modify_commandline_options(parser, is_train=True):
    """Add the LiSS options (LissModel.modify_commandline_options); test.py gets only those that shape the
    saved networks or its results page."""
    parser.set_defaults(no_dropout=True, dataset_mode='unaligned_depth', netG=LISS_NETG)
    # these shape the saved networks, so test.py needs them too (it takes them from the training run)
    parser.add_argument('--auxiliary_tasks', type=str, default='rotation, gray, depth, jigsaw',
                        help=f"comma-separated self-supervised tasks among {', '.join(AUX_TASKS)}; "
                             f"'' for none (then the model is CycleGAN)")
    parser.add_argument('--task_order', type=str, default='sorted', choices=['sorted', 'given'],
                        help='order of the tasks in sequential schedules: sorted = the published priority '
                             'rotation < jigsaw < depth < gray; given = as written in --auxiliary_tasks')
    parser.add_argument('--jigsaw_grid', type=int, default=3, help='the jigsaw puzzle has grid x grid tiles')
    parser.add_argument('--jigsaw_set', type=str, default='published', choices=['published', 'seeded'],
                        help="tile permutations the jigsaw head classifies: 'published' = the paper's fixed "
                             "64 permutations of a 3x3 grid; 'seeded' = --jigsaw_permutations drawn with "
                             "--jigsaw_seed (any grid)")
    parser.add_argument('--jigsaw_permutations', type=int, default=64,
                        help='size of the fixed set of tile permutations (64 for --jigsaw_set published)')
    parser.add_argument('--jigsaw_seed', type=int, default=0, help='seed drawing a --jigsaw_set seeded set')
    parser.add_argument('--jigsaw_crop', type=int, default=0,
                        help='side of the random square crop the puzzle is cut from; 0 = 222/256 of --crop_size '
                             'rounded down to a multiple of --jigsaw_grid, i.e. the published 222 px at 256 px '
                             '(configs/liss_published.yaml pins 222), and a crop that fits at any --crop_size')
    parser.add_argument('--D_rotation', action='store_true', default=False,
                        help='use rotation self-supervision in discriminators when translating (SSGAN: 4 '
                             'rotations of real images + a 5th class for generated ones)')
    parser.add_argument('--depth_target', type=str, default='log', choices=['log', 'linear'],
                        help='depth head target: log = (log(1 / (d/255)) - 2) / 2 as published; '
                             'linear = the 8-bit map scaled to [-1, 1]')
    if not is_train:
        parser.add_argument('--show_heads', action='store_true',
                            help='also write each head\'s predictions (depth map, colourised gray, rotation '
                                 'and jigsaw accuracy) to the results page')
        return parser
    parser.set_defaults(optimizer=DEFAULT_OPTIMIZER)
    parser.add_argument('--lambda_CA', type=float, default=10.0, help='weight for cycle loss (A -> B -> A)')
    parser.add_argument('--lambda_CB', type=float, default=10.0, help='weight for cycle loss (B -> A -> B)')
    parser.add_argument('--lambda_DA', type=float, default=1.0,
                        help='weight of the adversarial loss of G_A (A -> B, judged by D_A)')
    parser.add_argument('--lambda_DB', type=float, default=1.0,
                        help='weight of the adversarial loss of G_B (B -> A, judged by D_B)')
    parser.add_argument('--lambda_R', type=float, default=1.0, help='weight for rotation')
    parser.add_argument('--lambda_J', type=float, default=1.0, help='weight for jigsaw')
    parser.add_argument('--lambda_D', type=float, default=1.0, help='weight for depth')
    parser.add_argument('--lambda_G', type=float, default=1.0, help='weight for gray')
    parser.add_argument('--lambda_gray_gan', type=float, default=0.1,
                        help='share of the adversarial term in the gray loss: (1 - w) L1 + w GAN against the '
                             'gray discriminators (published 0.1; 0 = L1 only, no gray discriminators)')
    parser.add_argument('--lambda_DR', type=float, default=1.0,
                        help='weight of the generators\' |CE(fake rotations) - CE(real rotations)| under '
                             '--D_rotation (the discriminators\' rotation terms have weight 1, as published)')
    parser.add_argument('--D_rotation_domain', type=str, default='published', choices=['published', 'judged'],
                        help='images whose rotations D_A classifies: published = domain A (real and '
                             'generated A, while D_A judges B images); judged = the domain D_A judges (B)')
    parser.add_argument('--lambda_distillation', type=float, default=5.0,
                        help='weight for distillation loss (liss schedule, or representational schedules '
                             'with --repr_mode distillation)')
    parser.add_argument('--distillation_loss', type=str, default='l1', choices=['l1', 'l2'],
                        help='distance between encoder and reference-encoder features (published: l1)')
    parser.add_argument('--lambda_I', type=float, default=0.5,
                        help='identity mapping weight, relative to the cycle weights as in CycleGAN; also '
                             'the weight of the identity task of the representational schedule')
    parser.add_argument('--task_schedule', type=str, default='parallel', choices=SCHEDULES,
                        help='parallel: all tasks always; sequential: one auxiliary task after the other, then '
                             'translation; additional: tasks added one by one, then translation; liss: '
                             'sequential with distillation; representational: auxiliary tasks + identity, '
                             'then translation; representational-traduction: auxiliary tasks + translation '
                             'through frozen decoders, then translation')
    parser.add_argument('--rotation_acc_threshold', type=float, default=0.2,
                        help='held-out rotation accuracy that both domains must exceed to end the rotation phase')
    parser.add_argument('--jigsaw_acc_threshold', type=float, default=0.2,
                        help='held-out jigsaw accuracy that both domains must exceed to end the jigsaw phase')
    parser.add_argument('--depth_loss_threshold', type=float, default=0.5,
                        help='held-out depth loss that both domains must go below to end the depth phase')
    parser.add_argument('--gray_loss_threshold', type=float, default=0.5,
                        help='held-out gray loss that both domains must go below to end the gray phase')
    parser.add_argument('--i_loss_threshold', type=float, default=0.5,
                        help='held-out identity loss that both domains must go below to end pre-training '
                             '(representational only)')
    parser.add_argument('--lr_rotation', type=float, default=0, help='learning rate of the rotation head (0: --lr)')
    parser.add_argument('--lr_depth', type=float, default=0, help='learning rate of the depth head (0: --lr)')
    parser.add_argument('--lr_gray', type=float, default=0, help='learning rate of the gray head (0: --lr)')
    parser.add_argument('--lr_jigsaw', type=float, default=0, help='learning rate of the jigsaw head (0: --lr)')
    parser.add_argument('--encoder_merge_ratio', type=float, default=1.0,
                        help='Exp. moving average coefficient at each phase switch: ref = a * new + (1 - a) * old')
    parser.add_argument('--repr_mode', type=str, default='freeze', choices=REPR_MODES,
                        help='representational schedules only, once translation starts: freeze the encoder, '
                             'let gradients flow, or flow with a distillation loss to the reference encoder '
                             '(distillation); continual runs as flow, as in the published code (its help text '
                             'promises flow + distillation, its code only tests freeze and distillation)')
    parser.add_argument('--switch_inputs', type=str, default='published', choices=['published', 'current'],
                        help='rotation images of the discriminators\' rotation terms (--D_rotation) in the step '
                             'after a sequential/liss switch: published = those of the last held-out batch (the '
                             'published task iterator skips the finished tasks\' inputs once); current = the '
                             'current training batch')
    parser.add_argument('--depth_loss', type=str, default='l1', choices=['l1', 'l2'], help='depth regression loss')
    parser.add_argument('--val_phase', type=str, default='test',
                        help='held-out split (DATAROOT/<val_phase>A, B) scored to drive the task schedule '
                             '(published: test); the train split is used (with a warning) when it does not exist')
    parser.add_argument('--max_val_size', type=int, default=0,
                        help='score at most this many held-out items (0: the whole split, as published)')
    parser.add_argument('--max_epochs', type=int, default=0,
                        help='stop after this many epochs even if the schedule has not reached translation or '
                             'the lr decay is not done (0: no limit, as published, where training runs until '
                             'n_epochs_decay + 1 epochs of translation)')
    parser.add_argument('--schedule_freq', type=int, default=0,
                        help='score the held-out split and update the task schedule at the first iteration and '
                             'every this many images (0: every --display_freq images, as published)')
    return parser


def check_options(opt):
    """The LiSS option checks (LissModel.check_options, run while parsing, before anything is written): the
    task list, the weights that are shares, and a jigsaw crop that fits the images."""
    try:
        tasks = parse_tasks(opt.auxiliary_tasks, getattr(opt, 'task_order', 'sorted'))
        if 'jigsaw' in tasks:
            jigsaw_crop_size(opt)
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    if opt.isTrain:
        for name in ('encoder_merge_ratio', 'lambda_gray_gan'):
            if not 0.0 <= getattr(opt, name) <= 1.0:
                raise OptionError(f'--{name} must be in [0, 1] (got {getattr(opt, name)})')
