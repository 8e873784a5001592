"""--model gan (unconditional GANs after Ganzo): architectures, the game, label tricks, data modes, sampling,
resume, learning on the synthetic shapes and clear errors."""
import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, run_test, run_train
from datasets.make_synthetic_dataset import make_shapes
from util.util import load_script

TINY = ['--model', 'gan', '--crop_size', 16, '--ngf', 4, '--ndf', 4, '--nz', 8, '--batch_size', 4, '--num_threads', 0,
        '--display_id', 0, '--print_freq', 8, '--display_freq', 8, '--update_html_freq', 8, '--n_fixed', 4]


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    """24 coloured shapes at 16 px in circle/square/triangle subfolders."""
    root = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(root, 16, 24, seed=0)
    return root


def args_for(root, ck, name, *extra, seed=3):
    return ['--dataroot', root, '--checkpoints_dir', ck, '--name', name, '--seed', seed] + TINY + list(extra)


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def parse_train(args):
    from options.train_options import TrainOptions
    return TrainOptions([str(a) for a in args]).parse()


def make_model(args):
    """Options, then the model built and set up as train.py does (seeded first, so tests do not depend on order)."""
    from models import create_model
    from util.util import seed_everything
    opt = parse_train(args)
    seed_everything(opt.seed)
    model = create_model(opt)
    model.setup(opt)
    return opt, model


def cli_error(script, args, capsys):
    """Run train.py/test.py through run_cli in this process: (exit status, stderr)."""
    from util.cli import run_cli
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run_cli(load_script(script).main, [str(a) for a in args])
    return exc.value.code, capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- architectures

@pytest.mark.parametrize('family', ['fc', 'dcgan', 'conv', 'resnet', 'good'])
@pytest.mark.parametrize('size', [16, 28, 32])
@pytest.mark.parametrize('channels', [1, 3])
def test_generator_and_discriminator_shapes(family, size, channels):
    from models.gan import AUTO_NORM_D, DEFAULT_LAYERS, DISCRIMINATORS, GENERATORS
    if family == 'good' and size % 16:
        pytest.skip('good needs a multiple of 16, as in Ganzo')
    opt = argparse.Namespace(nz=8, crop_size=size, output_nc=channels, ngf=4, ndf=4, n_layers_G=DEFAULT_LAYERS[family],
                             n_layers_D=DEFAULT_LAYERS[family], dropout_G=0.0, dropout_D=0.0,
                             norm_D=AUTO_NORM_D.get(family, 'batch'))
    netG, netD = GENERATORS.get(family)(opt), DISCRIMINATORS.get(family)(opt)
    fake = netG(torch.randn(3, 8))
    assert fake.shape == (3, channels, size, size) and fake.abs().max() <= 1
    assert netD(fake).shape == (3,)


def n_params(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize('nz,channels,g_params,d_params', [(100, 3, 146155, 44777), (128, 1, 174569, 44521)])
def test_ganzo_conv_has_the_published_widths_and_parameter_counts(nz, channels, g_params, d_params):
    """Ganzo's conv at 64 px (its experiments' --generator-layers 5): G 64 -> 32 -> 16 -> 8 channels, D 8 -> 64 with
    batch norm after every inner conv, the first included; counts of Ganzo's ConvGenerator/ConvDiscriminator."""
    from models.gan import GanzoConvDiscriminator, GanzoConvGenerator
    netG, netD = GanzoConvGenerator(nz, 64, channels), GanzoConvDiscriminator(64, channels)
    assert (n_params(netG), n_params(netD)) == (g_params, d_params)
    widths = lambda net, kind: [m.out_channels for m in net.modules() if isinstance(m, kind)]  # noqa: E731
    assert widths(netG, torch.nn.ConvTranspose2d) == [64, 32, 16, 8, channels]
    assert widths(netD, torch.nn.Conv2d) == [8, 16, 32, 64, 1]
    assert isinstance(netD.net[1], torch.nn.BatchNorm2d)
    # the zoo's dcgan stays as it was (Radford's widths from --ngf)
    from models.gan import DCGANDiscriminator, DCGANGenerator
    assert (n_params(DCGANGenerator(100, 64, 3)), n_params(DCGANDiscriminator(64, 3))) == (3576704, 2765568)


def test_ganzo_good_has_element_wise_layer_norm_glorot_input_and_size_scaled_widths():
    """Ganzo's good at 64 px (state size 128): the counts of its GoodGenerator/GoodDiscriminator, widths 8 x size,
    LayerNorm([C, H, W]) in every critic block, a Glorot-initialised input conv and zero biases."""
    from models.gan import GanzoGoodDiscriminator, GanzoGoodGenerator
    netG, netD = GanzoGoodGenerator(128, 64, 3), GanzoGoodDiscriminator(64, 3)
    assert (n_params(netG), n_params(netD)) == (8540483, 9454081)
    assert netG.fc.out_features == 4 * 4 * 512 and netD.fc.in_features == 4 * 4 * 512
    norms = [m for m in netD.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert [tuple(m.normalized_shape) for m in norms[::2]] == [(64, 64, 64), (128, 32, 32), (256, 16, 16),
                                                               (512, 8, 8)]
    assert float(netD.inp.weight.detach().abs().max()) <= (6 / (3 * 9 + 64 * 9)) ** 0.5  # Glorot bound; He's would be 0.47
    assert all(not m.bias.any() for m in netD.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
               and m.bias is not None)
    assert GanzoGoodGenerator(128, 32, 3).fc.out_features == 2 * 2 * 256  # widths follow the image size


def test_mnist_native_28_px_starts_from_7x7():
    from models.gan import DCGANDiscriminator, DCGANGenerator, GanzoConvGenerator, check_image_size
    assert check_image_size(28) == (7, 2) and check_image_size(64) == (4, 4)
    assert DCGANGenerator(8, 28, 1, ngf=4).net[0].kernel_size == (7, 7)
    assert DCGANDiscriminator(28, 1, ndf=4).net[-1].kernel_size == (7, 7)
    assert GanzoConvGenerator(8, 28, 1)(torch.randn(2, 8)).shape == (2, 1, 28, 28)


def test_extra_layers_and_dropout_change_the_networks():
    from models.gan import DCGANGenerator, FCDiscriminator, ResnetDiscriminator
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(DCGANGenerator(8, 32, 3, 4, n_extra=2)) > count(DCGANGenerator(8, 32, 3, 4, n_extra=0))
    assert count(ResnetDiscriminator(32, 3, 4, n_extra=1)) > count(ResnetDiscriminator(32, 3, 4))
    assert len([m for m in FCDiscriminator(8, 16, 1, 5).modules() if isinstance(m, torch.nn.Linear)]) == 5
    assert any(isinstance(m, torch.nn.Dropout) for m in FCDiscriminator(8, 16, 1, 3, dropout=0.3).modules())


def test_noise_kinds_and_truncation():
    from models.gan import NOISES
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    z = NOISES.get('gaussian')(500, 16, gen(), 'cpu', 1.0)
    assert z.shape == (500, 16) and z.abs().max() <= 1.0 and z.std() > 0.4
    assert torch.equal(z, NOISES.get('gaussian')(500, 16, gen(), 'cpu', 1.0))  # fixed noise is reproducible
    u = NOISES.get('uniform')(500, 16, gen())
    assert u.min() >= -1 and u.max() <= 1 and u.min() < -0.9


# ---------------------------------------------------------------------------------------------- the game

def test_d_iters_runs_that_many_critic_steps_per_generator_step(tmp_path, shapes_root):
    opt, model = make_model(args_for(shapes_root, tmp_path, 'it', '--d_iters', 5, '--g_iters', 2))
    counts = {'D': 0, 'G': 0}
    for net, optimizer in (('D', model.optimizer_D), ('G', model.optimizer_G)):
        original = optimizer.step

        def counted(*a, _net=net, _orig=original, **k):
            counts[_net] += 1
            return _orig(*a, **k)
        optimizer.step = counted
    batch = {'A': torch.rand(4, 3, 16, 16) * 2 - 1, 'A_paths': ['x'] * 4}
    for i in range(1, 16):
        model.set_input(batch)
        model.train_step()
        assert counts == {'D': i, 'G': 2 * (i // 5)}, i
    assert (model.d_steps, model.g_steps, model.critic_count) == (15, 6, 0)


def test_weight_clipper_hook_clamps_weights_once_per_discriminator_turn(tmp_path, shapes_root):
    """Ganzo's --discriminator-hook weight-clipper: every layer's .weight (not the biases), after each D turn."""
    opt, model = make_model(args_for(shapes_root, tmp_path, 'h', '--netD', 'conv', '--d_iters', 2,
                                     '--discriminator_hook', 'weight_clipper', '--clip_to', 0.001))
    def of_layers(name):
        return [getattr(m, name) for m in model.netD.modules() if getattr(m, name, None) is not None]
    batch = {'A': torch.rand(4, 3, 16, 16) * 2 - 1, 'A_paths': ['x'] * 4}
    model.set_input(batch)
    model.train_step()  # a D step inside the turn: nothing clipped yet
    assert max(float(w.detach().abs().max()) for w in of_layers('weight')) > 0.5 and opt.clip_weights == 0
    model.set_input(batch)
    model.train_step()  # the turn's last D step, then the hook, then G
    assert max(float(w.detach().abs().max()) for w in of_layers('weight')) == pytest.approx(0.001)
    assert max(float(b.detach().abs().max()) for b in of_layers('bias')) > 0.01  # biases are left alone
    assert model.g_steps == 1


def test_max_batches_per_epoch_counts_generator_turns_and_an_idle_epoch_is_said(tmp_path, shapes_root, capsys):
    """With 5 D iterations and a limit of 2, Ganzo does 2 G and 10 D steps per epoch (data permitting)."""
    ck = tmp_path / 'ck'
    assert run_train(args_for(shapes_root, ck, 'turns', '--batch_size', 2, '--n_epochs', 1, '--d_iters', 5,
                              '--max_batches_per_epoch', 2)) == 0
    extra = weights(ck / 'turns' / 'latest_train_state.pth')['extra']
    assert (extra['d_steps'], extra['g_steps'], extra['critic_count']) == (10, 2, 0)
    # 3 batches an epoch, 5 critic steps: epoch 1 has no generator step; the count carries into epoch 2
    capsys.readouterr()
    assert run_train(args_for(shapes_root, ck, 'idle', '--batch_size', 8, '--n_epochs', 3, '--gan_mode', 'wgangp')) == 0
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if 'without a generator step' in line]
    assert len(lines) == 1 and lines[0].startswith('warning: epoch 1 ended') and 'Detected call' not in out.err
    extra = weights(ck / 'idle' / 'latest_train_state.pth')['extra']
    assert (extra['d_steps'], extra['g_steps'], extra['critic_count']) == (9, 1, 4)
    assert 'without a generator step' in (ck / 'idle' / 'loss_log.txt').read_text()


def test_drop_last_as_ganzo_unless_no_drop_last(tmp_path, shapes_root, capsys):
    ck = tmp_path / 'ck'
    for name, extra, batches in (('drop', [], 4), ('keep', ['--no_drop_last'], 5)):  # 24 images, batches of 5
        assert run_train(args_for(shapes_root, ck, name, '--batch_size', 5, '--n_epochs', 1, *extra)) == 0
        assert weights(ck / name / 'latest_train_state.pth')['extra']['d_steps'] == batches
    status, err = cli_error('train', args_for(shapes_root, ck, 'big', '--batch_size', 32), capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'pass --no_drop_last' in err
    assert not (ck / 'big').exists()


@pytest.mark.parametrize('preset,expected', [
    ('ganzo_gan_mnist', dict(netG='fc', crop_size=28, d_iters=5, dropout_D=0.3, beta1=0.0, nz=128, no_flip=True)),
    ('ganzo_dcgan_mnist', dict(netG='conv', netD='conv', norm_D='batch', crop_size=64, output_nc=1, beta1=0.5)),
    ('ganzo_wgangp_bedrooms', dict(netG='good', netD='good', norm_D='elementwise_layer', gan_mode='wgangp', d_iters=5,
                                   max_batches_per_epoch=1000, lsun_category='bedroom_train', resize_mode='stretch')),
])
def test_ganzo_presets_parse_to_the_published_experiments(tmp_path, preset, expected):
    opt = parse_train(['--config', os.path.join(ROOT, 'configs', preset + '.yaml'), '--dataroot', tmp_path,
                       '--checkpoints_dir', tmp_path, '--name', 'p'])
    assert {k: getattr(opt, k) for k in expected} == expected and opt.drop_last and opt.hard_G_labels is False


def test_readme_names_the_models_that_take_the_shared_discriminators(tmp_path, shapes_root, capsys):
    """README: the models it lists take --netD basic; --model gan refuses it and names its own."""
    import re
    text = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    claim = re.search(r'The image-to-image models \((.*?)\) accept the shared discriminators', text, re.S)
    models = re.findall(r'`(\w+)`', claim.group(1))
    assert models == ['pix2pix', 'cycle_gan', 'liss']
    for model in models:
        assert parse_train(['--model', model, '--dataroot', tmp_path, '--checkpoints_dir', tmp_path, '--name', model,
                            '--netD', 'basic']).netD == 'basic'
    status, err = cli_error('train', args_for(shapes_root, tmp_path, 'g', '--netD', 'basic'), capsys)
    assert status == 2 and "unknown --netD 'basic'" in err and 'conv, dcgan, fc, good, resnet' in err


def test_wgan_defaults_and_weight_clipping(tmp_path, shapes_root):
    opt, model = make_model(args_for(shapes_root, tmp_path, 'w', '--gan_mode', 'wgan', '--d_iters', 2))
    assert (opt.clip_weights, opt.optimizer, opt.lr_G, opt.lr_D) == (0.01, 'rmsprop', 5e-5, 5e-5)
    assert isinstance(model.optimizer_D, torch.optim.RMSprop)
    assert max(float(p.detach().abs().max()) for p in model.netD.parameters()) > 0.01  # N(0, 0.02) init exceeds it
    batch = {'A': torch.rand(4, 3, 16, 16) * 2 - 1, 'A_paths': ['x'] * 4}
    for _ in range(3):
        model.set_input(batch)
        model.train_step()
        bound = max(float(p.detach().abs().max()) for p in model.netD.parameters())
        assert bound <= 0.01 + 1e-9
    assert bound == pytest.approx(0.01)
    # wgangp: Adam 1e-4, betas (0, 0.9), 5 critic steps, layer norm in the critic, no clipping
    opt = parse_train(args_for(shapes_root, tmp_path, 'gp', '--gan_mode', 'wgangp'))
    assert (opt.optimizer, opt.lr, opt.beta1, opt.beta2, opt.d_iters, opt.clip_weights, opt.norm_D) == \
        ('adam', 1e-4, 0.0, 0.9, 5, 0.0, 'layer')
    opt = parse_train(args_for(shapes_root, tmp_path, 'v', '--lr', 1e-3, '--lr_D', 4e-4))
    assert (opt.lr_G, opt.lr_D, opt.d_iters, opt.clip_weights) == (1e-3, 4e-4, 1, 0.0)


def test_soft_and_noisy_labels_change_the_discriminator_targets():
    from models import networks
    from models.gan import LabelTrickGANLoss
    pred = torch.zeros(4000)
    soft = LabelTrickGANLoss('vanilla', soft_labels=True)
    soft.start_discriminator_step()
    soft(pred, True), soft(pred, False)
    real, fake = soft.last_targets[True], soft.last_targets[False]
    assert 0.9 <= real.min() < 0.91 and 0.99 < real.max() <= 1.0 and real.std() > 0.02
    assert 0.0 <= fake.min() < 0.01 and 0.09 < fake.max() <= 0.1
    g_loss = soft(pred, True, for_discriminator=False)  # without soft_G_labels the generator keeps hard targets
    assert torch.allclose(g_loss, networks.GANLoss('vanilla')(pred, True, for_discriminator=False))
    soft_g = LabelTrickGANLoss('lsgan', soft_labels=True, soft_G_labels=True)  # Ganzo's: G's targets are soft too
    losses = torch.stack([soft_g(torch.ones(4000), True, for_discriminator=False) for _ in range(3)])
    # mse(1, U[0.9, 1]) = E[(1 - t)^2] = 0.01 / 3 per element, drawn anew each call
    assert torch.allclose(losses, torch.full((3,), 0.01 / 3), rtol=0.05) and len(set(losses.tolist())) == 3

    always = LabelTrickGANLoss('lsgan', noisy_labels=True, noisy_labels_freq=1.0)
    always.start_discriminator_step()
    assert float(always(pred, True)) == pytest.approx(0.0)  # real targets flipped to 0: mse(0, 0)
    assert float(always(pred, False)) == pytest.approx(1.0)  # fake targets flipped to 1
    never = LabelTrickGANLoss('lsgan', noisy_labels=True, noisy_labels_freq=0.0)
    never.start_discriminator_step()
    assert float(never(pred, True)) == pytest.approx(1.0) and float(never(pred, False)) == pytest.approx(0.0)
    torch.manual_seed(0)
    sometimes = LabelTrickGANLoss('lsgan', noisy_labels=True, noisy_labels_freq=0.25)
    flips = 0
    for _ in range(400):
        sometimes.start_discriminator_step()
        flips += float(sometimes(pred, True)) < 0.5
    assert 70 < flips < 130  # about a quarter of the steps
    with pytest.raises(ValueError, match='vanilla or lsgan'):
        LabelTrickGANLoss('wgangp', soft_labels=True)


# ---------------------------------------------------------------------------------------------- train, resume, test

@pytest.mark.parametrize('extra', [
    ['--netG', 'fc', '--netD', 'fc', '--gan_mode', 'lsgan', '--dropout_G', 0.1, '--dropout_D', 0.2],
    ['--netG', 'dcgan', '--netD', 'dcgan', '--soft_labels', '--noisy_labels', '--output_nc', 1],
    ['--netG', 'resnet', '--netD', 'resnet', '--gan_mode', 'wgangp', '--d_iters', 2, '--noise', 'uniform'],
    ['--netG', 'dcgan', '--netD', 'dcgan', '--gan_mode', 'hinge', '--n_layers_G', 1, '--n_layers_D', 1],
])
def test_each_family_trains_a_few_iterations(tmp_path, shapes_root, extra):
    ck = tmp_path / 'ck'
    assert run_train(args_for(shapes_root, ck, 'run', '--n_epochs', 1, '--max_batches_per_epoch', 4, *extra)) == 0
    run = ck / 'run'
    state = weights(run / 'latest_train_state.pth')
    # --max_batches_per_epoch 4 counts generator turns of --d_iters batches each, at most the data's 6 batches
    d_steps = min(6, 4 * (extra[extra.index('--d_iters') + 1] if '--d_iters' in extra else 1))
    assert state['total_iters'] == 4 * d_steps and state['extra']['d_steps'] == d_steps
    log = (run / 'loss_log.txt').read_text()
    assert ' G: ' in log and ' D: ' in log and 'nan' not in log
    grids = [f for f in os.listdir(run / 'web' / 'images') if f.endswith('_grid.png')]
    assert grids
    with Image.open(run / 'web' / 'images' / grids[0]) as grid:
        assert grid.size == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2)  # 4 fixed samples in a 2x2 grid, 2 px borders


@pytest.mark.parametrize('extra,at_20', [
    (['--gan_mode', 'wgan'], (2, 5, 1)),
    # Ganzo's pieces: conv networks, soft G targets, the clipping hook, drop_last (batches of 5 from 24 images: the
    # state at image 20 ends epoch 1, whose last 4 images are dropped)
    (['--netG', 'conv', '--netD', 'conv', '--soft_labels', '--discriminator_hook', 'weight_clipper',
      '--batch_size', 5], (1, 4, 1)),
])
def test_resume_mid_critic_cycle_is_bit_identical(tmp_path, shapes_root, extra, at_20):
    ck = tmp_path / 'ck'
    common = ['--d_iters', 3, '--n_epochs', 2, '--save_latest_freq', 20, '--save_by_iter'] + extra
    assert run_train(args_for(shapes_root, ck, 'full', *common)) == 0
    full, part = ck / 'full', ck / 'part'
    saved = weights(full / 'iter_20_train_state.pth')['extra']
    assert (saved['critic_count'], saved['d_steps'], saved['g_steps']) == at_20
    part.mkdir()
    for f in os.listdir(full):
        if f.startswith('iter_20_') or f.endswith('.yaml'):
            shutil.copy(full / f, part)
    assert run_train(args_for(shapes_root, ck, 'part', *common, '--continue_train', '--load_iter', 20)) == 0
    for net in ('G', 'D'):
        a, b = weights(full / f'latest_net_{net}.pth'), weights(part / f'latest_net_{net}.pth')
        assert all(torch.equal(a[k], b[k]) for k in a), net


def test_train_then_sample_grid_on_the_results_page(tmp_path, shapes_root):
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    assert run_train(args_for(shapes_root, ck, 'dc', '--n_epochs', 1, '--output_nc', 1)) == 0
    test_args = ['--model', 'gan', '--name', 'dc', '--checkpoints_dir', ck, '--results_dir', res]
    assert run_test(test_args + ['--num_samples', 10, '--batch_size', 4, '--eval']) == 0
    page = res / 'dc' / 'test_latest'
    images = sorted(os.listdir(page / 'images'))
    assert images == ['grid.png'] + [f'sample_{i:04d}_fake.png' for i in range(10)]
    html = (page / 'index.html').read_text()
    assert 'images/grid.png' in html and 'All 10 samples' in html
    with Image.open(page / 'images' / 'grid.png') as grid:
        assert grid.size == (4 * 16 + 5 * 2, 3 * 16 + 4 * 2)  # 10 samples, 4 columns
    first = np.asarray(Image.open(page / 'images' / 'sample_0003_fake.png'))
    # fixed noise: the same samples whatever the batch size; --no_fixed_noise draws others (from --seed)
    assert run_test(test_args + ['--num_samples', 4, '--batch_size', 1, '--eval']) == 0
    assert np.array_equal(first, np.asarray(Image.open(page / 'images' / 'sample_0003_fake.png')))
    assert run_test(test_args + ['--num_samples', 4, '--eval', '--no_fixed_noise']) == 0
    assert not np.array_equal(first, np.asarray(Image.open(page / 'images' / 'sample_0003_fake.png')))


def test_many_samples_stream_to_files_with_a_capped_grid_page_and_memory(tmp_path, shapes_root, capsys):
    """Every sample goes to its file as it is made; the grid, the page rows and the samples the model keeps stop
    at GRID_SAMPLES, so memory does not grow with --num_samples (docs/unconditional.md has the RSS figures)."""
    from models.gan_model import GRID_SAMPLES, GanModel
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    assert run_train(args_for(shapes_root, ck, 'many', '--n_epochs', 1, '--max_batches_per_epoch', 1)) == 0
    test_args = ['--model', 'gan', '--name', 'many', '--checkpoints_dir', ck, '--results_dir', res, '--eval']
    kept = []
    add = GanModel.add_to_results_page
    GanModel.add_to_results_page = lambda self, page: kept.append(len(self.samples)) or add(self, page)
    try:
        assert run_test(test_args + ['--num_samples', GRID_SAMPLES + 6, '--batch_size', 16]) == 0
    finally:
        GanModel.add_to_results_page = add
    assert kept == [GRID_SAMPLES]
    page = res / 'many' / 'test_latest'
    images = sorted(os.listdir(page / 'images'))
    assert images == ['grid.png'] + [f'sample_{i:04d}_fake.png' for i in range(GRID_SAMPLES + 6)]
    with Image.open(page / 'images' / 'grid.png') as grid:
        assert grid.size == (8 * 16 + 9 * 2,) * 2  # the first 64 samples, 8 columns
    html = (page / 'index.html').read_text()
    assert f'The first {GRID_SAMPLES} of {GRID_SAMPLES + 6} samples' in html
    assert f'images/sample_{GRID_SAMPLES - 1:04d}_fake.png' in html
    assert f'images/sample_{GRID_SAMPLES:04d}_fake.png' not in html  # written, but no page row
    # fewer samples: the earlier run's extra samples are removed and counted; the grid is rewritten, not removed
    capsys.readouterr()
    assert run_test(test_args + ['--num_samples', 5]) == 0
    assert 'removed 65 image(s) an earlier run left' in capsys.readouterr().out
    assert len(os.listdir(page / 'images')) == 6


def test_sample_metrics_stream_the_files_and_refuse_paired_metrics(tmp_path, shapes_root, capsys):
    from metrics.weights import make_random_inception_weights
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    assert run_train(args_for(shapes_root, ck, 'fid', '--n_epochs', 1, '--max_batches_per_epoch', 1)) == 0
    test_args = ['--model', 'gan', '--name', 'fid', '--checkpoints_dir', ck, '--results_dir', res,
                 '--num_samples', 4]
    status, err = cli_error('test', test_args + ['--metrics', 'fid,psnr'], capsys)
    assert status == 2 and err.strip() == ('error: --metrics psnr: these compare each output with its target image, '
                                           'and generated samples have none; use fid, kid or isc')
    assert not (res / 'fid').exists()  # refused before any sample was made
    weights_file = make_random_inception_weights(str(tmp_path / 'inception.pth'))
    assert run_test(test_args + ['--metrics', 'fid', '--fidelity_weights', weights_file]) == 0
    scores = json.loads((res / 'fid' / 'test_latest' / 'metrics.json').read_text())
    assert scores['fid'] > 0  # the 4 sample files against the run's 24 real shapes


def test_a_plugin_adds_its_own_generator(tmp_path, shapes_root, monkeypatch):
    (tmp_path / 'my_gan_plugin.py').write_text(
        'import torch.nn as nn\n'
        'from models.gan import register_generator\n\n'
        'class Flat(nn.Module):\n'
        '    def __init__(self, opt):\n'
        '        super().__init__()\n'
        '        self.fc = nn.Linear(opt.nz, opt.output_nc * opt.crop_size ** 2)\n'
        '        self.shape = (opt.output_nc, opt.crop_size, opt.crop_size)\n'
        '    def forward(self, z):\n'
        '        return self.fc(z).tanh().view(-1, *self.shape)\n\n'
        'register_generator("flat", Flat)\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv('ZOO_PLUGINS', 'my_gan_plugin')
    opt, model = make_model(args_for(shapes_root, tmp_path, 'plug', '--netG', 'flat'))
    assert type(model.netG).__name__ == 'Flat'


# ---------------------------------------------------------------------------------------------- data modes

def dataset_for(args):
    from data import create_dataset
    opt = parse_train(args)
    dataset = create_dataset(opt)
    dataset.set_epoch(0)
    return dataset


def write_idx(folder, prefix, images, labels):
    os.makedirs(folder, exist_ok=True)
    n, h, w = images.shape
    with open(os.path.join(folder, f'{prefix}-images-idx3-ubyte'), 'wb') as f:
        f.write(np.array([2051, n, h, w], '>i4').tobytes() + images.astype(np.uint8).tobytes())
    with open(os.path.join(folder, f'{prefix}-labels-idx1-ubyte'), 'wb') as f:
        f.write(np.array([2049, n], '>i4').tobytes() + labels.astype(np.uint8).tobytes())


@pytest.mark.parametrize('mode,folder', [('mnist', 'MNIST'), ('fashion_mnist', 'FashionMNIST')])
def test_mnist_modes_read_torchvision_raw_files(tmp_path, mode, folder, capsys):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / folder / 'raw', 'train', rng.integers(0, 256, (6, 28, 28)), np.arange(6))
    dataset = dataset_for(['--model', 'gan', '--dataset_mode', mode, '--dataroot', tmp_path, '--batch_size', 3,
                           '--num_threads', 0, '--checkpoints_dir', tmp_path, '--no_flip'])
    batch = next(iter(dataset))
    assert batch['A'].shape == (3, 1, 32, 32) and len(dataset) == 6  # grey, 32 px by default
    assert sorted(batch['label'].tolist()) in ([0, 1, 2], [3, 4, 5]) or len(set(batch['label'].tolist())) == 3
    status, err = cli_error('train', ['--model', 'gan', '--dataset_mode', mode, '--dataroot', tmp_path / 'none',
                                         '--checkpoints_dir', tmp_path], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert f'{folder}/raw/train-images-idx3-ubyte' in err
    assert f"torchvision.datasets.{folder}(root='{tmp_path / 'none'}', train=True, download=True)" in err


@pytest.mark.parametrize('damaged', ['images', 'labels'])
def test_a_truncated_idx_file_is_named_in_one_line(tmp_path, damaged):
    """A download cut short: train.py names the file and says to download it again (torchvision's own error is a
    reshape RuntimeError naming no file)."""
    raw = tmp_path / 'MNIST' / 'raw'
    write_idx(raw, 'train', np.zeros((16, 28, 28)), np.zeros(16))
    path = raw / f'train-{damaged}-idx{3 if damaged == "images" else 1}-ubyte'
    path.write_bytes(path.read_bytes()[:-100 if damaged == 'images' else -3])
    out = subprocess.run([sys.executable, 'train.py', '--model', 'gan', '--dataset_mode', 'mnist', '--dataroot',
                          str(tmp_path), '--checkpoints_dir', str(tmp_path / 'ck'), '--name', 'cut', '--gpu_ids', '-1',
                          '--num_threads', '0'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and 'Traceback' not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'error: --dataset_mode mnist: cannot read {path} (')
    assert 'delete it and download it again with python -c "import torchvision; torchvision.datasets.MNIST(' in lines[0]
    assert not (tmp_path / 'ck' / 'cut').exists()


def test_cifar10_mode_reads_a_batch_file(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    data = np.random.default_rng(0).integers(0, 256, (5, 3072)).astype(np.uint8)
    with open(folder / 'data_batch_1', 'wb') as f:
        pickle.dump({'data': data, 'labels': [0, 1, 2, 3, 4]}, f)
    dataset = dataset_for(['--model', 'gan', '--dataset_mode', 'cifar10', '--dataroot', tmp_path, '--batch_size', 5,
                           '--num_threads', 0, '--checkpoints_dir', tmp_path, '--serial_batches', '--no_flip'])
    batch = next(iter(dataset))
    assert batch['A'].shape == (5, 3, 32, 32) and batch['label'].tolist() == [0, 1, 2, 3, 4]
    expected = torch.from_numpy(data[0].reshape(3, 32, 32)).float() / 127.5 - 1
    assert torch.allclose(batch['A'][0], expected, atol=1e-6)


def test_emnist_mode_reads_the_split_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / 'EMNIST' / 'raw', 'emnist-digits-train', rng.integers(0, 256, (4, 28, 28)), np.arange(4))
    common = ['--model', 'gan', '--dataset_mode', 'emnist', '--dataroot', tmp_path, '--batch_size', 4,
              '--num_threads', 0, '--checkpoints_dir', tmp_path, '--serial_batches', '--crop_size', 28]
    dataset = dataset_for(common + ['--emnist_split', 'digits'])
    batch = next(iter(dataset))
    assert batch['A'].shape == (4, 1, 28, 28) and batch['label'].tolist() == [0, 1, 2, 3]
    status, err = cli_error('train', common, capsys)  # the default split, letters, is not there
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert 'EMNIST/raw/emnist-letters-train-images-idx3-ubyte' in err
    assert f"torchvision.datasets.EMNIST(root='{tmp_path}', split='letters', train=True, download=True)" in err


def test_cifar100_mode_reads_the_train_file(tmp_path, capsys):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    data = np.random.default_rng(0).integers(0, 256, (3, 3072)).astype(np.uint8)
    with open(folder / 'train', 'wb') as f:
        pickle.dump({'data': data, 'fine_labels': [7, 42, 99], 'coarse_labels': [0, 1, 2]}, f)
    common = ['--model', 'gan', '--dataset_mode', 'cifar100', '--batch_size', 3, '--num_threads', 0,
              '--checkpoints_dir', tmp_path, '--serial_batches', '--seed', 1]
    batch = next(iter(dataset_for(common + ['--dataroot', tmp_path])))
    assert batch['A'].shape == (3, 3, 32, 32) and batch['label'].tolist() == [7, 42, 99]
    expected = torch.from_numpy(data.reshape(3, 3, 32, 32)).float() / 127.5 - 1
    assert torch.allclose(batch['A'], expected, atol=1e-6)  # as stored: none flipped (Ganzo never flips)
    flipped = next(iter(dataset_for(common + ['--dataroot', tmp_path, '--flip'])))['A']
    assert not torch.allclose(flipped, expected)  # --flip: the random flips of the DCGAN recipes
    status, err = cli_error('train', common + ['--dataroot', tmp_path / 'none'], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'cifar-100-python/train' in err


def test_images_are_stretched_to_the_side_unless_cover_crop(tmp_path):
    """Ganzo's Resize((s, s)): a 2:1 image keeps its whole content, squeezed; cover_crop keeps the centre square."""
    root = tmp_path / 'wide'
    root.mkdir()
    pixels = np.zeros((16, 32, 3), np.uint8)
    pixels[:, :8] = 255  # a white left quarter
    Image.fromarray(pixels).save(root / 'a.png')
    common = ['--model', 'gan', '--dataroot', root, '--batch_size', 1, '--num_threads', 0, '--checkpoints_dir',
              tmp_path, '--crop_size', 16]
    stretched = next(iter(dataset_for(common)))['A'][0]
    assert stretched[:, :, :3].min() > 0.9 and stretched[:, :, 5:].max() < -0.9  # the white quarter, squeezed
    cropped = next(iter(dataset_for(common + ['--resize_mode', 'cover_crop'])))['A'][0]
    assert cropped.max() < -0.9  # the centre square has no white


def test_folder_mode_classes_and_image_class(tmp_path, shapes_root, capsys):
    common = ['--model', 'gan', '--dataroot', shapes_root, '--batch_size', 24, '--num_threads', 0,
              '--checkpoints_dir', tmp_path, '--no_drop_last']  # one class alone has 8 images
    batch = next(iter(dataset_for(common)))
    assert sorted(set(batch['label'].tolist())) == [0, 1, 2]  # circle, square, triangle
    dataset = dataset_for(common + ['--image_class', 'square'])
    batch = next(iter(dataset))
    assert len(dataset) == 8 and set(batch['label'].tolist()) == {1}
    assert all(os.sep + 'square' + os.sep in p for p in batch['A_paths'])
    (tmp_path / 'data' / 'empty').mkdir(parents=True)
    shutil.copytree(os.path.join(shapes_root, 'circle'), tmp_path / 'data' / 'circle')
    other = common[:3] + [tmp_path / 'data'] + common[4:]
    status, err = cli_error('train', other + ['--image_class', 'empty'], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'contains no images' in err
    status, err = cli_error('train', other + ['--image_class', 'cat'], capsys)
    assert status == 2 and 'classes: circle, empty' in err


def test_lmdb_mode_reads_a_database_written_by_the_tool(tmp_path, shapes_root, capsys):
    pytest.importorskip('lmdb')
    out = subprocess.run([sys.executable, '-m', 'tools.gan.make_lmdb', '--src', os.path.join(shapes_root, 'circle'),
                          '--out', str(tmp_path / 'circle_train_lmdb'), '--size', '20'], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'wrote 8 images' in out.stdout
    dataset = dataset_for(['--model', 'gan', '--dataset_mode', 'lmdb', '--dataroot', tmp_path, '--lsun_category',
                           'circle_train', '--crop_size', 16, '--batch_size', 8, '--num_threads', 0, '--checkpoints_dir', tmp_path])
    batch = next(iter(dataset))
    assert len(dataset) == 8 and batch['A'].shape == (8, 3, 16, 16) and batch['A'].min() < -0.5
    status, err = cli_error('train', ['--model', 'gan', '--dataset_mode', 'lmdb', '--dataroot', shapes_root,
                                         '--checkpoints_dir', tmp_path], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'is not an LMDB database' in err


# ---------------------------------------------------------------------------------------------- learning

def test_learning_brings_sample_statistics_closer_to_the_data(tmp_path):
    """A short CPU run (LSGAN, 200 steps at 16 px) moves the samples' colour histogram, mean image and shape
    coverage measurably towards those of the real shapes."""
    from data import create_dataset
    from tools.gan.stats import load_folder, statistics_distance
    root = str(tmp_path / 'shapes')
    make_shapes(root, 16, 300, seed=1)
    opt, model = make_model(['--model', 'gan', '--dataroot', root, '--checkpoints_dir', tmp_path, '--name', 'learn',
                             '--crop_size', 16, '--ngf', 16, '--ndf', 16, '--nz', 32, '--batch_size', 32,
                             '--num_threads', 0, '--seed', 0, '--gan_mode', 'lsgan', '--lr', 5e-4])
    dataset = create_dataset(opt)
    real = load_folder(root, 16)

    def distance():
        with torch.no_grad():
            return statistics_distance(model.netG(model.sample_noise(256, torch.Generator().manual_seed(1), 'cpu')),
                                       real)
    before = distance()
    steps, epoch = 0, 0
    while steps < 200:
        dataset.set_epoch(epoch)
        epoch += 1
        for batch in dataset:
            model.set_input(batch)
            model.train_step()
            steps += 1
            if steps == 200:
                break
    after = distance()
    print(f'statistics distance to the real shapes: {before:.4f} at initialisation -> {after:.4f} after 200 steps')
    assert after < 0.85 * before


# ---------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize('extra,message', [
    (['--crop_size', 36], 'halves down to 4 to 7 pixels'),
    (['--netG', 'good', '--crop_size', 40], 'multiple of 16'),
    (['--netD', 'good', '--norm_D', 'batch'], 'always has element-wise layer norm'),
    (['--netG', 'conv', '--n_layers_G', 2], 'depth of conv follows --crop_size'),
    (['--netD', 'resnet', '--dropout_D', 0.1], 'resnet has no dropout'),
    (['--discriminator_hook', 'nope'], "unknown --generator_hook/--discriminator_hook 'nope'"),
    (['--clip_to', 0], '--clip_to must be > 0'),
    (['--hard_G_labels'], 'add --soft_labels'),
    (['--d_iters', 0], 'must be at least 1'),
    (['--nz', 0], '--nz 0'),
    (['--dataset_mode', 'aligned'], 'use --dataset_mode folder'),
    (['--netG', 'nope'], "unknown --netG 'nope'"),
    (['--gan_mode', 'wgangp', '--soft_labels'], 'vanilla or lsgan'),
])
def test_bad_options_are_one_line_errors(tmp_path, shapes_root, capsys, extra, message):
    status, err = cli_error('train', args_for(shapes_root, tmp_path, 'bad', *extra), capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, err


def test_bad_image_size_exits_2_from_the_command_line(tmp_path, shapes_root):
    out = subprocess.run([sys.executable, 'train.py'] + [str(a) for a in args_for(shapes_root, tmp_path, 'b')]
                         + ['--crop_size', '100'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and 'Traceback' not in out.stderr
    assert out.stderr.strip() == ('error: --crop_size 100: --model gan needs a side from 16 to 256 that halves down '
                                  'to 4 to 7 pixels (e.g. 16, 28, 32, 48, 64, 128, 256)')


# ---------------------------------------------------------------------------------------------- best checkpoints

def test_save_best_by_generator_loss_and_by_metric(tmp_path, shapes_root, monkeypatch):
    from metrics import results as result_metrics
    ck = tmp_path / 'ck'
    assert run_train(args_for(shapes_root, ck, 'bl', '--n_epochs', 3, '--max_batches_per_epoch', 2,
                              '--save_best', 'loss:G')) == 0
    record = json.loads((ck / 'bl' / 'best.json').read_text())
    assert record['criterion'] == 'loss:G' and 1 <= record['epoch'] <= 3 and record['higher_is_better'] is False
    log = (ck / 'bl' / 'loss_log.txt').read_text()
    assert (ck / 'bl' / 'best_net_G.pth').is_file() and (ck / 'bl' / 'best_net_D.pth').is_file()
    # the recorded value is the mean generator loss of the best epoch: no other epoch's mean is lower
    assert record['value'] > 0 and 'nan' not in log
    # metric: a periodic --eval_freq metric on generated samples against the training images (no val split); the
    # scorer is replaced by a cheap stand-in (FID itself is tested in test_metrics.py, and takes ~20 s on a CPU)
    monkeypatch.setattr(result_metrics, 'score_images', fake_fid)
    assert run_train(args_for(shapes_root, ck, 'bm', '--n_epochs', 2, '--max_batches_per_epoch', 2, '--eval_freq', 1,
                              '--eval_num', 8, '--eval_metrics', 'fid', '--save_best', 'metric:fid')) == 0
    record = json.loads((ck / 'bm' / 'best.json').read_text())
    history = [json.loads(line) for line in (ck / 'bm' / 'eval_metrics.jsonl').read_text().splitlines()]
    assert [h['split'] for h in history] == ['train', 'train']
    best = min(history, key=lambda h: h['metrics']['fid'])
    assert (record['epoch'], record['value']) == (best['epoch'], pytest.approx(best['metrics']['fid']))
    assert len(os.listdir(ck / 'bm' / 'eval' / 'epoch_001' / 'images')) == 16  # 8 generated + 8 real


def fake_fid(folder, metrics, **kwargs):
    """Stand-in for metrics.results.score_images: the mean distance of the generated images to the real ones."""
    fakes = sorted(f for f in os.listdir(folder) if f.endswith('_fake_B.png'))
    mean = lambda names: np.mean([np.asarray(Image.open(os.path.join(folder, n)), dtype=float) for n in names])  # noqa: E731
    return {'fid': abs(mean(fakes) - mean([f.replace('_fake_B', '_real_B') for f in fakes]))}


@pytest.mark.parametrize('extra', [['--eval_freq', 1, '--eval_metrics', 'fid,psnr,ssim'],
                                   ['--eval_freq', 1, '--eval_metrics', 'l1', '--save_best', 'metric:l1'],
                                   ['--save_best', 'metric:ssim']])
def test_paired_metrics_are_refused_before_anything_is_written(tmp_path, shapes_root, capsys, extra):
    status, err = cli_error('train', args_for(shapes_root, tmp_path, 'paired', *extra), capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert 'no paired real image' in err and 'use fid, kid, isc' in err, err
    assert not (tmp_path / 'paired').exists()


def test_class_labels_beyond_n_classes_are_refused_before_anything_is_written(tmp_path, shapes_root, capsys):
    status, err = cli_error('train', args_for(shapes_root, tmp_path, 'two', '--condition', 'class', '--n_classes', 2),
                            capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert 'class labels in [0, 2) (--n_classes 2); the data have [0, 1, 2]' in err, err
    assert not (tmp_path / 'two').exists()


def test_resume_with_other_rates_or_optimizer(tmp_path, shapes_root, capsys):
    """A wgan run (RMSprop) resumed from its saved options: --lr_G is honoured and reported; --gan_mode vanilla with
    Adam is refused in one line naming the saved optimizer, before anything is written."""
    ck = tmp_path / 'ck'
    assert run_train(args_for(shapes_root, ck, 'w', '--gan_mode', 'wgan', '--n_epochs', 1, '--max_batches_per_epoch', 2,
                              '--gpu_ids', -1)) == 0
    resume = ['--checkpoints_dir', ck, '--name', 'w', '--continue_train', '--n_epochs', 2]
    before = {f: (ck / 'w' / f).read_bytes() for f in os.listdir(ck / 'w') if (ck / 'w' / f).is_file()}
    status, err = cli_error('train', resume + ['--gan_mode', 'vanilla', '--optimizer', 'adam'], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert 'trained with --optimizer rmsprop (RMSprop)' in err and 'resume with --optimizer rmsprop' in err, err
    assert {f: (ck / 'w' / f).read_bytes() for f in os.listdir(ck / 'w') if (ck / 'w' / f).is_file()} == before
    capsys.readouterr()
    assert run_train(resume + ['--lr_G', 0.003]) == 0
    assert '--lr_G 5e-05 -> 0.003 (the learning rate it sets x60' in capsys.readouterr().out
    state = weights(ck / 'w' / 'latest_train_state.pth')
    (g,), (d,) = state['optimizers'][0]['param_groups'], state['optimizers'][1]['param_groups']
    assert g['initial_lr'] == pytest.approx(0.003) and d['initial_lr'] == pytest.approx(5e-5)
    assert state['epoch'] == 3 and state['optimizer_types'] == ['RMSprop', 'RMSprop']


def test_save_best_works_for_other_models_and_rejects_unknown_names(tmp_path, paired_root, capsys):
    import json
    from conftest import TINY_PIX2PIX
    ck = tmp_path / 'ck'
    common = ['--dataroot', paired_root, '--checkpoints_dir', ck, '--seed', 1] + TINY_PIX2PIX + \
        ['--n_epochs', 2, '--n_epochs_decay', 0, '--max_dataset_size', 2]
    assert run_train(common + ['--name', 'p', '--save_best', 'loss:G_L1']) == 0
    record = json.loads((ck / 'p' / 'best.json').read_text())
    assert record['criterion'] == 'loss:G_L1' and (ck / 'p' / 'best_net_G.pth').is_file()
    status, err = cli_error('train', common + ['--name', 'q', '--save_best', 'loss:nope'], capsys)
    assert status == 2 and "--save_best loss:nope: --model pix2pix has the losses G_GAN, G_L1, D_real, D_fake" in err
    status, err = cli_error('train', common + ['--name', 'q', '--save_best', 'fid'], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'use none, loss:NAME' in err


def test_name_auto_is_a_hash_of_the_options_reused_by_the_same_options(tmp_path, shapes_root, capsys):
    ck = tmp_path / 'ck'
    base = ['--dataroot', shapes_root, '--checkpoints_dir', ck, '--name', 'auto'] + TINY
    first = parse_train(base + ['--print_freq', 1])
    assert first.name.startswith('gan_') and len(first.name) == 12
    assert f'--name auto: this run is {first.name}' in capsys.readouterr().out
    assert parse_train(base + ['--display_freq', 3]).name == first.name  # display options do not count
    assert parse_train(base + ['--nz', 9]).name != first.name
    assert parse_train(base + ['--seed', 4]).name != parse_train(base + ['--seed', 5]).name
    # what changes the result counts: batch size, flips, dataset size; how long to train does not
    names = {parse_train(base + extra).name for extra in ([], ['--batch_size', 8], ['--batch_size', 16], ['--flip'],
                                                          ['--max_dataset_size', 8])}
    assert len(names) == 5
    assert parse_train(base + ['--n_epochs', 7, '--n_epochs_decay', 3, '--save_epoch_freq', 2]).name == first.name
    run = base + ['--n_epochs', 1, '--max_batches_per_epoch', 1]
    name = parse_train(run).name
    assert run_train(run) == 0 and (ck / name / 'latest_net_G.pth').is_file()
    capsys.readouterr()
    # the same options find the same run to resume (its schedule is complete, so there is nothing to train)
    assert run_train(run + ['--continue_train']) == 0
    err = capsys.readouterr().err
    assert "nothing to train: checkpoint 'latest'" in err, err
    # extending it, as that message says, finds it too
    assert run_train(run + ['--n_epochs', 2, '--continue_train']) == 0
    assert 'resuming with changed schedule options: --n_epochs 1 -> 2' in capsys.readouterr().out
    assert weights(ck / name / 'latest_train_state.pth')['epoch'] == 3
    status, err = cli_error('test', ['--model', 'gan', '--name', 'auto', '--checkpoints_dir', ck], capsys)
    assert status == 2 and '--name auto names training runs' in err


def test_tensorboard_backend_logs_losses_and_the_sample_grid(tmp_path, shapes_root):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ck = tmp_path / 'ck'
    assert run_train(args_for(shapes_root, ck, 'tb', '--n_epochs', 1, '--tensorboard')) == 0
    events = EventAccumulator(str(ck / 'tb' / 'tb'), size_guidance={'images': 0, 'scalars': 0})
    events.Reload()
    tags = events.Tags()
    assert {'loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake'} <= set(tags['scalars'])
    assert {'visuals/grid', 'visuals/real', 'visuals/fake'} <= set(tags['images'])
    assert [e.step for e in events.Scalars('loss/G')] == [8, 16, 24]  # --print_freq 8 images, 24 images


# ---------------------------------------------------------------------------------------------- class-conditional

@pytest.mark.parametrize('family', ['fc', 'dcgan', 'resnet'])
def test_conditional_generator_and_projection_discriminator_use_the_class(family):
    from models.gan import DEFAULT_LAYERS, DISCRIMINATORS, GENERATORS
    from models.gan.conditional import ConditionalGenerator, ProjectionDiscriminator
    torch.manual_seed(0)
    opt = argparse.Namespace(nz=8 + 3, crop_size=16, output_nc=3, ngf=4, ndf=4, n_layers_G=DEFAULT_LAYERS[family],
                             n_layers_D=DEFAULT_LAYERS[family], dropout_G=0.0, dropout_D=0.0, norm_D='none')
    netG = ConditionalGenerator(GENERATORS.get(family)(opt), 3).eval()
    netD = ProjectionDiscriminator(DISCRIMINATORS.get(family)(opt), 3)
    z = torch.randn(2, 8)
    a, b = netG(z, torch.tensor([0, 0])), netG(z, torch.tensor([1, 2]))
    assert a.shape == (2, 3, 16, 16) and not torch.allclose(a, b)
    logits = netD(a, torch.tensor([0, 1]))
    assert logits.shape == (2,) and not torch.allclose(logits, netD(a, torch.tensor([2, 2])))


def test_conditional_training_and_samples_per_class(tmp_path, shapes_root, images_root, capsys):
    ck, res = tmp_path / 'ck', tmp_path / 'res'
    cond = ['--condition', 'class', '--n_classes', 3]
    assert run_train(args_for(shapes_root, ck, 'c', '--n_epochs', 1, '--gan_mode', 'wgangp', '--d_iters', 2,
                              *cond)) == 0
    state = weights(ck / 'c' / 'latest_net_D.pth')
    assert state['embed.weight'].shape == (3, 8)  # one embedding per class over the 8 channels of D's 4x4 features
    assert run_test(['--model', 'gan', '--name', 'c', '--checkpoints_dir', ck, '--results_dir', res,
                     '--num_samples', 6]) == 0
    assert len(os.listdir(res / 'c' / 'test_latest' / 'images')) == 7
    status, err = cli_error('train', args_for(images_root, ck, 'flat', *cond), capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and 'needs class labels' in err
    status, err = cli_error('train', args_for(shapes_root, ck, 'n', '--condition', 'class'), capsys)
    assert status == 2 and '--condition class needs --n_classes' in err
