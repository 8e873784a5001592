"""Tiny saved runs of every image model (options + initialised weights, no training step), for the app and
export tests: building and saving takes a fraction of a second per model."""
import os

import torch

from datasets.make_synthetic_dataset import make_images, make_paired, make_unpaired
from datasets.synthetic_omni import make_omni_dataset
from models import create_model
from options.train_options import TrainOptions

COMMON = ['--num_threads', '0', '--display_id', '0', '--gpu_ids', '-1', '--seed', '0', '--no_html']
SMALL = ['--ngf', '8', '--ndf', '8', '--load_size', '32', '--crop_size', '32']

# run name -> (dataset kind, options)
RUNS = {
    'p2p': ('paired', ['--model', 'pix2pix', '--netG', 'unet_32', '--direction', 'BtoA'] + SMALL),
    'stoch': ('paired', ['--model', 'stochastic', '--netG', 'unet_32', '--direction', 'BtoA', '--stochastic_mode', 'weight_noise'] + SMALL),
    'color': ('paired', ['--model', 'colorization', '--netG', 'unet_32'] + SMALL),
    'cyc': ('unpaired', ['--model', 'cycle_gan', '--netG', 'resnet_2blocks'] + SMALL),
    'liss': ('unpaired', ['--model', 'liss', '--netG', 'resnet_1blocks', '--auxiliary_tasks', 'rotation,depth,gray',
                          '--jigsaw_permutations', '4'] + SMALL),
    'omni': ('omni', ['--model', 'omnigan', '--omni_enc_dim', '4', '--omni_enc_n_res', '1', '--omni_dec_n_res', '1',
                      '--spade_nhidden', '8', '--omni_cls_dim', '8', '--ndf', '4', '--n_layers_D', '2',
                      '--omni_n_classes', '5', '--load_size', '32', '--crop_size', '32',
                      # omnigan's published kaiming init gives this 4-channel painter float32 noise of 1.3e-4
                      # (against float64), above the export parity tolerance of 1e-4
                      '--init_type', 'normal', '--init_gain', '0.02']),
    'blob': ('images', ['--model', 'blobgan', '--crop_size', '32', '--load_size', '32', '--size_in', '8',
                        '--n_blobs', '3', '--style_dim', '8', '--feature_dim', '8', '--noise_dim', '8',
                        '--layout_hidden', '16', '--layout_layers', '3', '--g_c_model', '2', '--d_c_model', '2']),
    'gan': ('shapes', ['--model', 'gan', '--crop_size', '16', '--load_size', '16', '--ngf', '4', '--ndf', '4',
                       '--nz', '8']),
    'gan_cond': ('shapes', ['--model', 'gan', '--crop_size', '16', '--load_size', '16', '--ngf', '4', '--ndf', '4',
                            '--nz', '8', '--condition', 'class', '--n_classes', '3']),
}
WEIGHTS = {'blob': 'latest_net_G_ema.pth'}


def has_model(name):
    from models import model_names
    return name in model_names()


def make_data(root, kind):
    path = os.path.join(root, 'data_' + kind)
    if os.path.isdir(path):
        return path
    if kind == 'paired':
        make_paired(path, 32, {'train': 2, 'test': 2}, seed=0)
    elif kind == 'unpaired':
        make_unpaired(path, 32, {'train': 2, 'test': 2}, seed=0, with_depth=True)
    elif kind == 'omni':
        make_omni_dataset(path, n_train=2, n_val=1, size=32, seed=0)
    elif kind == 'shapes':
        from datasets.make_synthetic_dataset import make_shapes
        make_shapes(path, 16, 8, seed=0)
    else:
        make_images(path, 32, 4, seed=0)
    return path


def make_run(root, name, seed=0):
    """Save run ``name`` of RUNS under ``root``/checkpoints (train_opt.yaml + latest_net_*.pth)."""
    kind, args = RUNS[name]
    ck = os.path.join(root, 'checkpoints')
    if os.path.isfile(os.path.join(ck, name, WEIGHTS.get(name, 'latest_net_G.pth'))):
        return ck
    torch.manual_seed(seed)
    opt = TrainOptions(args + COMMON + ['--dataroot', make_data(root, kind), '--name', name,
                                        '--checkpoints_dir', ck]).parse()
    model = create_model(opt)
    model.save_networks('latest')
    return ck
