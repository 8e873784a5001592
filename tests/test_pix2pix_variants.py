"""perceptual, adversarial_losses and stochastic models; the GAN losses on hand-made inputs; the VGG loss;
test.py --metrics. Tiny nets (ngf/ndf 8) at 32-64 px so that everything trains in seconds on a CPU."""
import glob
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from models import networks
from models import vgg as vgg_module

TINY = ['--ngf', '8', '--ndf', '8', '--num_threads', '0', '--direction', 'BtoA', '--n_epochs', '1',
        '--n_epochs_decay', '0', '--max_dataset_size', '2', '--print_freq', '1', '--display_freq', '100',
        '--gpu_ids', '-1', '--seed', '1']
PX32 = ['--netG', 'unet_32', '--load_size', '36', '--crop_size', '32']
PX64 = ['--netG', 'unet_64', '--load_size', '64', '--crop_size', '64']


def _common(tmp_path, root, name):
    return ['--dataroot', root, '--name', name, '--checkpoints_dir', tmp_path / 'ck'] + TINY


def _train(train_cli, tmp_path, root, name, *args):
    assert train_cli(_common(tmp_path, root, name) + list(args)) == 0
    return tmp_path / 'ck' / name


def _test(test_cli, tmp_path, root, name, results, *args):
    assert test_cli(['--dataroot', root, '--name', name, '--checkpoints_dir', tmp_path / 'ck', '--results_dir',
                     results, '--gpu_ids', '-1', '--num_threads', '0', '--num_test', '2'] + list(args)) == 0
    return os.path.join(results, name, 'test_latest')


# ----------------------------------------------------------------------------- GAN losses on hand-made inputs

def _loss_and_grad(mode, pred, target_is_real, for_discriminator=True):
    pred = torch.tensor(pred, requires_grad=True)
    loss = networks.GANLoss(mode)(pred, target_is_real, for_discriminator=for_discriminator)
    loss.backward()
    return loss.item(), pred.grad


def test_original_loss_pushes_real_up_and_fake_down():
    loss, grad = _loss_and_grad('original', [2.0, -1.0], True)
    assert loss == pytest.approx(float(F.softplus(torch.tensor([-2.0, 1.0])).mean()))
    assert (grad < 0).all()  # raising D(real) lowers the loss
    _, grad = _loss_and_grad('original', [2.0, -1.0], False)
    assert (grad > 0).all()
    loss_g, grad_g = _loss_and_grad('original', [-1.0], True, for_discriminator=False)  # non-saturating G loss
    assert loss_g == pytest.approx(float(F.softplus(torch.tensor(1.0)))) and grad_g.item() < 0


def test_least_squares_loss():
    loss, grad = _loss_and_grad('ls', [0.5, 1.0], True)
    assert loss == pytest.approx((0.25 + 0.0) / 2) and grad[0] < 0 and grad[1] == 0
    loss, grad = _loss_and_grad('ls', [0.5, 0.0], False)
    assert loss == pytest.approx(0.25 / 2) and grad[0] > 0 and grad[1] == 0


def test_hinge_loss_margins_and_generator_term():
    loss, grad = _loss_and_grad('hinge', [0.5, 2.0], True)  # real: mean(relu(1 - x))
    assert loss == pytest.approx(0.25) and grad.tolist() == pytest.approx([-0.5, 0.0])
    loss, grad = _loss_and_grad('hinge', [-0.5, -3.0], False)  # fake: mean(relu(1 + x))
    assert loss == pytest.approx(0.25) and grad.tolist() == pytest.approx([0.5, 0.0])
    loss, grad = _loss_and_grad('hinge', [0.5, 2.0], True, for_discriminator=False)  # G: -mean(D(fake))
    assert loss == pytest.approx(-1.25) and grad.tolist() == pytest.approx([-0.5, -0.5])


def test_wasserstein_critic_signs():
    loss, grad = _loss_and_grad('w', [1.0, 3.0], True)
    assert loss == pytest.approx(-2.0) and grad.tolist() == pytest.approx([-0.5, -0.5])
    loss, grad = _loss_and_grad('w', [1.0, 3.0], False)
    assert loss == pytest.approx(2.0) and grad.tolist() == pytest.approx([0.5, 0.5])
    loss, _ = _loss_and_grad('w', [1.0, 3.0], True, for_discriminator=False)
    assert loss == pytest.approx(-2.0)


def test_aliases_are_the_same_losses():
    pred = torch.randn(2, 1, 3, 3)
    for alias, name in [('original', 'vanilla'), ('ls', 'lsgan'), ('w', 'wgangp')]:
        for real in (True, False):
            assert torch.equal(networks.GANLoss(alias)(pred, real), networks.GANLoss(name)(pred, real))


# ----------------------------------------------------------------------------- VGG perceptual loss

@pytest.fixture(scope='module')
def random_vgg():
    torch.manual_seed(0)
    return vgg_module.VGG19Features('random')


def test_vgg_extractor_layers_weights_and_freezing(random_vgg):
    extractor = random_vgg
    # each slice ends with the ReLU right after the first conv of a VGG block
    channels = []
    for block in extractor.slices:
        assert isinstance(block[-1], torch.nn.ReLU) and isinstance(block[-2], torch.nn.Conv2d)
        channels.append(block[-2].out_channels)
    assert channels == [64, 128, 256, 512, 512]
    assert vgg_module.VGG_LAYER_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert not any(p.requires_grad for p in extractor.parameters())
    extractor.train()
    assert not extractor.training
    feats = extractor(torch.zeros(1, 3, 32, 32))
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
    # ImageNet normalisation: an input of -1 (black) reaches the first conv as -mean/std
    seen = {}
    handle = extractor.slices[0][0].register_forward_pre_hook(lambda m, a: seen.setdefault('x', a[0]))
    extractor(-torch.ones(1, 3, 16, 16))
    handle.remove()
    expected = -torch.tensor(vgg_module.IMAGENET_MEAN) / torch.tensor(vgg_module.IMAGENET_STD)
    assert torch.allclose(seen['x'][0, :, 0, 0], expected)


def test_vgg_loss_is_the_weighted_sum_and_only_fake_gets_gradients(random_vgg):
    loss_fn = vgg_module.VGGLoss(extractor=random_vgg)
    fake = torch.rand(1, 3, 32, 32, requires_grad=True)
    real = torch.rand(1, 3, 32, 32, requires_grad=True)
    loss = loss_fn(fake, real)
    ff, rf = loss_fn.vgg(fake), loss_fn.vgg(real)
    manual = sum(w * F.l1_loss(a, b) for w, a, b in zip(vgg_module.VGG_LAYER_WEIGHTS, ff, rf))
    assert torch.isclose(loss, manual)
    loss.backward()
    assert fake.grad.abs().sum() > 0 and real.grad is None
    assert loss_fn(real.detach(), real.detach()).item() == 0


def test_vgg_weights_from_a_local_file_and_errors(tmp_path, monkeypatch, random_vgg):
    features = random_vgg.slices
    flat = torch.nn.Sequential(*[layer for block in features for layer in block])
    path = tmp_path / 'vgg19.pth'
    # torchvision's layout: features.N.* (the classifier keys, absent here, are ignored anyway)
    torch.save({'features.' + k: v for k, v in flat.state_dict().items()}, path)
    loaded = vgg_module.load_vgg_features(str(path))
    assert torch.equal(loaded[28].weight, flat[28].weight)
    torch.save({'x': torch.zeros(1)}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='VGG19'):
        vgg_module.load_vgg_features(str(tmp_path / 'bad.pth'))
    with pytest.raises(FileNotFoundError, match='no such file'):
        vgg_module.load_vgg_features(str(tmp_path / 'missing.pth'))

    def offline(*args, **kwargs):
        raise OSError('network is unreachable')
    from torchvision.models import VGG19_Weights
    monkeypatch.setattr(type(VGG19_Weights.IMAGENET1K_V1), 'get_state_dict', offline)
    with pytest.raises(FileNotFoundError, match='--vgg_weights PATH'):
        vgg_module.load_vgg_features('imagenet')


# ----------------------------------------------------------------------------- models end to end

def test_perceptual_model_trains_tests_and_keeps_vgg_out_of_checkpoints(tmp_path, paired_root, train_cli, test_cli):
    ck = _train(train_cli, tmp_path, paired_root, 'perc', '--model', 'perceptual', '--vgg_weights', 'random',
                '--keep_L1', *PX32)
    log = (ck / 'loss_log.txt').read_text()
    assert 'G_VGG' in log and 'G_L1' in log
    assert sorted(os.path.basename(p) for p in glob.glob(str(ck / 'latest_net_*.pth'))) == \
        ['latest_net_D.pth', 'latest_net_G.pth']
    state = torch.load(ck / 'latest_train_state.pth', weights_only=True)
    assert set(state['networks']) == {'G', 'D'}
    assert not any('vgg' in k or 'slices' in k for k in state['networks']['G'])
    web = _test(test_cli, tmp_path, paired_root, 'perc', str(tmp_path / 'res'))
    assert os.path.isfile(os.path.join(web, 'images', '1_fake_B.png'))


@pytest.mark.parametrize('mode,extra', [('w', ['--clip_weights', '0.05', '--netD', 'multiscale', '--lambda_feat', '1']),
                                        ('hinge', ['--netD', 'sesame'])])
def test_adversarial_losses_model(tmp_path, paired_root, train_cli, mode, extra):
    ck = _train(train_cli, tmp_path, paired_root, f'adv_{mode}', '--model', 'adversarial_losses', '--gan_mode', mode,
                *PX32, *extra)
    state = torch.load(ck / 'latest_net_D.pth', weights_only=True)
    if mode == 'w':
        params = [v for k, v in state.items() if v.is_floating_point() and 'running' not in k]  # not BN statistics
        assert max(v.abs().max().item() for v in params) <= 0.05 + 1e-6
        assert 'G_feat' in (ck / 'loss_log.txt').read_text()
    else:
        assert any('label_stream' in k for k in state)


def test_feature_matching_with_a_basic_discriminator_is_a_clear_error(tmp_path, paired_root, train_cli, capsys):
    with pytest.raises(ValueError, match='--netD multiscale'):
        train_cli(_common(tmp_path, paired_root, 'fm') + ['--model', 'pix2pix', '--lambda_feat', '1'] + PX32)


def _samples(web):
    return {os.path.basename(p): np.asarray(Image.open(p)) for p in sorted(glob.glob(os.path.join(web, 'images', '*_fake_B*.png')))}


def test_stochastic_dropout_samples_differ_and_diversity_is_reported(tmp_path, paired_root, train_cli, test_cli):
    _train(train_cli, tmp_path, paired_root, 'sto', '--model', 'stochastic', *PX64)  # unet_64 has a dropout layer
    web = _test(test_cli, tmp_path, paired_root, 'sto', str(tmp_path / 'a'), '--n_samples', '3', '--eval',
                '--metrics', 'l1')
    s = _samples(web)
    assert sorted(s) == ['1_fake_B.png', '1_fake_B_2.png', '1_fake_B_3.png',
                         '2_fake_B.png', '2_fake_B_2.png', '2_fake_B_3.png']
    assert not np.array_equal(s['1_fake_B.png'], s['1_fake_B_2.png'])  # dropout active even with --eval
    metrics = json.load(open(os.path.join(web, 'metrics.json')))
    assert metrics['diversity'] > 0 and metrics['n_samples'] == 3 and 'l1' in metrics
    page = open(os.path.join(web, 'index.html')).read()
    assert 'diversity' in page and 'fake_B_3' in page


def test_stochastic_weight_noise_is_seeded(tmp_path, paired_root, train_cli, test_cli):
    with pytest.raises(ValueError, match='no dropout layers'):
        train_cli(_common(tmp_path, paired_root, 'sto32') + ['--model', 'stochastic'] + PX32)
    _train(train_cli, tmp_path, paired_root, 'noise', '--model', 'stochastic', '--stochastic_mode', 'weight_noise',
           *PX32)
    runs = {}
    for label, seed in [('a', '5'), ('b', '5'), ('c', '6')]:
        runs[label] = _samples(_test(test_cli, tmp_path, paired_root, 'noise', str(tmp_path / label),
                                     '--n_samples', '2', '--eval', '--seed', seed))
    a, b, c = runs['a'], runs['b'], runs['c']
    assert not np.array_equal(a['1_fake_B.png'], a['1_fake_B_2.png'])
    assert all(np.array_equal(a[k], b[k]) for k in a)      # same seed: same samples
    assert any(not np.array_equal(a[k], c[k]) for k in a)  # another seed: other samples


def test_test_metrics_paired_and_missing_inception_weights(tmp_path, paired_root, train_cli, test_cli):
    _train(train_cli, tmp_path, paired_root, 'p2p', '--model', 'pix2pix', *PX32)
    web = _test(test_cli, tmp_path, paired_root, 'p2p', str(tmp_path / 'r'), '--metrics', 'psnr,ssim,l1')
    metrics = json.load(open(os.path.join(web, 'metrics.json')))
    assert set(metrics) == {'psnr', 'ssim', 'l1'} and 0 < metrics['l1'] < 1
    assert 'psnr' in open(os.path.join(web, 'index.html')).read()
    with pytest.raises(FileNotFoundError, match='--fidelity_weights'):
        _test(test_cli, tmp_path, paired_root, 'p2p', str(tmp_path / 'r2'), '--metrics', 'fid',
              '--fidelity_weights', str(tmp_path / 'nope.pth'))


def test_eval_freq_logs_and_plots_metrics_without_changing_training(tmp_path, paired_root, train_cli):
    plain = _train(train_cli, tmp_path, paired_root, 'plain', '--model', 'pix2pix', '--n_epochs', '2', *PX32)
    evald = _train(train_cli, tmp_path, paired_root, 'evald', '--model', 'pix2pix', '--n_epochs', '2', *PX32,
                   '--eval_freq', '1', '--eval_num', '2', '--eval_metrics', 'psnr,l1')
    entries = [json.loads(line) for line in (evald / 'eval_metrics.jsonl').read_text().splitlines()]
    assert [e['epoch'] for e in entries] == [1, 2] and set(entries[0]['metrics']) == {'psnr', 'l1'}
    assert (evald / 'eval_metrics.png').stat().st_size > 0
    assert '(epoch: 2, val) psnr:' in (evald / 'loss_log.txt').read_text()
    assert len(os.listdir(evald / 'eval' / 'epoch_001' / 'images')) == 4
    a = torch.load(plain / 'latest_net_G.pth', weights_only=True)
    b = torch.load(evald / 'latest_net_G.pth', weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)  # evaluation restored RNG and batch-norm statistics
    with pytest.raises(FileNotFoundError, match='--eval_phase'):
        train_cli(_common(tmp_path, paired_root, 'bad') + ['--model', 'pix2pix', '--eval_freq', '1',
                                                            '--eval_phase', 'nope'] + PX32)


def test_w_is_dlims_plain_critic_and_wgangp_is_one_flag_away(tmp_path, paired_root):
    from options.train_options import TrainOptions

    def parsed(*args):
        return TrainOptions(['--dataroot', paired_root, '--checkpoints_dir', str(tmp_path), '--name', 'o',
                             '--model', 'adversarial_losses', *args]).parse()
    assert parsed('--gan_mode', 'w').lambda_gp == 0.0  # nmproduction/DLIM: -D(real) + D(fake), nothing else
    assert parsed('--gan_mode', 'wgangp').lambda_gp == 10.0
    assert parsed('--gan_mode', 'w', '--lambda_gp', '10').lambda_gp == 10.0


@pytest.mark.parametrize('preset', ['pix2pix', 'perceptual', 'adversarial', 'multiscale', 'sesame', 'sesam_own',
                                    'stochastic', 'cityscapes'])
def test_dlim_presets_parse_with_the_study_settings(tmp_path, paired_root, preset):
    from options.train_options import TrainOptions
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    opt = TrainOptions(['--config', os.path.join(root, 'configs', f'dlim_{preset}.yaml'), '--dataroot', paired_root,
                        '--checkpoints_dir', str(tmp_path), '--name', preset]).parse()
    assert opt.direction == 'BtoA' and opt.netG == 'unet_256' and (opt.n_epochs, opt.n_epochs_decay) == (100, 100)
    expected = {'pix2pix': dict(model='pix2pix', gan_mode='vanilla', lambda_L1=100.0, batch_size=1),
                'perceptual': dict(model='perceptual', lambda_vgg=10.0, keep_L1=False),
                'adversarial': dict(model='adversarial_losses', gan_mode='original'),
                'multiscale': dict(netD='multiscale', num_D=2, n_layers_D=3, lambda_feat=0.0),
                'sesame': dict(model='perceptual', netD='sesame', num_D=2, n_layers_D=4, norm_D='spectralinstance',
                               sesame_padding=2, sesame_last_stride=1, gan_mode='hinge', lambda_feat=10.0,
                               lambda_vgg=10.0, keep_L1=False, ttur=True),
                'sesam_own': dict(model='pix2pix', netD='sesam', num_D=2, n_layers_D=3, norm_D='instance',
                                  sesame_padding=1, sesame_last_stride=2, gan_mode='vanilla', lambda_feat=0.0,
                                  lambda_L1=100.0, ttur=False),
                'stochastic': dict(model='stochastic', dropout_rate=0.95),
                'cityscapes': dict(model='pix2pix', lambda_L1=100.0)}[preset]
    assert {k: getattr(opt, k) for k in expected} == expected


def _preset(tmp_path, root, name, *args):
    from options.train_options import TrainOptions
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs', f'dlim_{name}.yaml')
    return TrainOptions(['--config', config, '--dataroot', root, '--checkpoints_dir', str(tmp_path), '--name', name,
                         *args]).parse()


def test_opensesame_preset_trains_with_ttur_vgg_and_feature_matching(tmp_path, paired_root):
    """configs/dlim_sesame.yaml: OpenSESAME's TTUR (G lr / 2, D lr x 2, betas (0, 0.9)), VGG x10 in place of
    L1, feature matching x10 and hinge loss, on a tiny U-Net."""
    from models import create_model
    opt = _preset(tmp_path, paired_root, 'sesame', '--vgg_weights', 'random', '--gpu_ids', '-1', *PX32, '--ngf',
                  '8', '--ndf', '8')
    model = create_model(opt)
    for optimizer, lr in ((model.optimizer_G, 1e-4), (model.optimizer_D, 4e-4)):
        group = optimizer.param_groups[0]
        assert group['lr'] == pytest.approx(lr) and tuple(group['betas']) == (0.0, 0.9)
    assert model.loss_names == ['G_GAN', 'G_VGG', 'G_feat', 'D_real', 'D_fake']


def test_dlims_own_sesam_preset_builds_its_discriminator(tmp_path, paired_root):
    """configs/dlim_sesam_own.yaml: per scale and stream three 4x4 stride-2 convs with padding 1 and instance norm,
    a final 4x4 conv with padding 1: 2,642,178 parameters at ndf 64 as DLIM's sesamDis (nmproduction/DLIM
    models/sesamDis.py), 31x31 predictions at 256 px; plain Adam at --lr with betas (0.5, 0.999)."""
    from models import create_model
    model = create_model(_preset(tmp_path, paired_root, 'sesam_own', '--gpu_ids', '-1', *PX32, '--ngf', '8'))
    net = model.netD
    for optimizer in (model.optimizer_G, model.optimizer_D):
        group = optimizer.param_groups[0]
        assert group['lr'] == pytest.approx(2e-4) and tuple(group['betas']) == (0.5, 0.999)
    assert model.loss_names == ['G_GAN', 'G_L1', 'D_real', 'D_fake']
    assert sum(p.numel() for p in net.parameters()) == 2_642_178
    convs = [m for m in net.scales[0].image_stream.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.stride[0], c.padding[0]) for c in convs] == [(2, 1)] * 3
    assert not any(hasattr(m, 'weight_orig') for m in net.modules())  # no spectral norm
    with torch.no_grad():
        out = net(torch.zeros(1, 6, 256, 256))
    assert [scale[-1].shape[-1] for scale in out] == [31, 15]
