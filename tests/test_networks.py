"""Generators, discriminators, GAN losses, gradient penalty, schedulers and optimizers."""
from types import SimpleNamespace

import pytest
import torch

from models import networks


@pytest.mark.parametrize('netG,size', [('resnet_6blocks', 32), ('resnet_9blocks', 40), ('unet_32', 32),
                                        ('unet_64', 64), ('unet_128', 128)])
def test_generator_output_shape(netG, size):
    torch.manual_seed(0)
    net = networks.define_G(3, 2, 8, netG, norm='instance')
    out = net(torch.randn(2, 3, size, size))
    assert out.shape == (2, 2, size, size)
    assert out.abs().max() <= 1.0


def test_classic_state_dict_key_names():
    """Keys of the published CycleGAN / pix2pix generators (so their .pth files load unchanged)."""
    resnet = networks.define_G(3, 3, 64, 'resnet_9blocks', norm='instance').state_dict()
    assert 'model.1.weight' in resnet and 'model.1.bias' in resnet
    assert 'model.10.conv_block.1.weight' in resnet and 'model.18.conv_block.5.weight' in resnet
    assert 'model.19.weight' in resnet and 'model.26.weight' in resnet
    assert len(resnet) == 2 + 2 * 2 + 9 * 4 + 2 * 2 + 2
    unet = networks.define_G(3, 3, 64, 'unet_256', norm='batch', use_dropout=True).state_dict()
    assert 'model.model.0.weight' in unet and 'model.model.3.weight' in unet
    assert 'model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight' in unet
    assert unet['model.model.0.weight'].shape == (64, 3, 4, 4)


def test_unknown_generator_and_discriminator_names():
    with pytest.raises(ValueError, match='power of two'):
        networks.define_G(3, 3, 8, 'unet_100')
    with pytest.raises(ValueError, match='unet_256'):
        networks.define_G(3, 3, 8, 'vit')
    with pytest.raises(ValueError, match='basic'):
        networks.define_D(6, 8, 'nope')
    with pytest.raises(ValueError, match='instance'):
        networks.get_norm_layer('layer')


@pytest.mark.parametrize('netD', ['basic', 'n_layers', 'pixel'])
def test_discriminators(netD):
    net = networks.define_D(6, 8, netD, n_layers_D=2, norm='batch')
    out = net(torch.randn(2, 6, 64, 64))
    assert out.dim() == 4 and out.shape[:2] == (2, 1)


@pytest.mark.parametrize('init_type', ['normal', 'xavier', 'kaiming', 'orthogonal'])
def test_init_types_change_weights(init_type):
    torch.manual_seed(0)
    net = networks.define_D(3, 8, 'basic', init_type=init_type, init_gain=0.02)
    weight = net.model[0].weight
    assert torch.isfinite(weight).all() and weight.std() > 0


def test_gan_loss_values_and_signs():
    logits = torch.tensor([[2.0, -1.0]])
    vanilla = networks.GANLoss('vanilla')
    assert torch.isclose(vanilla(logits, True), torch.nn.functional.softplus(-logits).mean())
    lsgan = networks.GANLoss('ls')
    assert torch.isclose(lsgan(logits, False), (logits ** 2).mean())
    wgan = networks.GANLoss('w')
    assert torch.isclose(wgan(logits, True), -logits.mean()) and torch.isclose(wgan(logits, False), logits.mean())
    hinge = networks.GANLoss('hinge')
    assert torch.isclose(hinge(logits, True), torch.tensor((0.0 + 2.0) / 2))      # relu(1 - x)
    assert torch.isclose(hinge(logits, False), torch.tensor((3.0 + 0.0) / 2))     # relu(1 + x)
    assert torch.isclose(hinge(logits, True, for_discriminator=False), -logits.mean())


def test_gan_loss_averages_multiscale_outputs():
    loss = networks.GANLoss('lsgan')
    a, b = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)
    assert torch.isclose(loss([[torch.randn(1, 3, 2, 2), a], [b]], True), torch.tensor(0.5))


def test_gradient_penalty_is_applied():
    torch.manual_seed(0)
    net = networks.define_D(3, 8, 'basic')
    real, fake = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    penalty = networks.gradient_penalty(net, real, fake, lambda_gp=10.0)
    assert penalty.item() > 0
    penalty.backward()
    assert net.model[0].weight.grad is not None and net.model[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('gan_mode,lambda_gp', [('wgangp', 10.0), ('wgangp', 0.0), ('lsgan', 10.0)])
def test_discriminator_loss_adds_the_penalty_only_for_wgangp(gan_mode, lambda_gp):
    net = networks.define_D(3, 8, 'basic', norm='instance')
    real, fake = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32, requires_grad=True)
    gan = networks.GANLoss(gan_mode)
    torch.manual_seed(1)
    total, loss_real, loss_fake = networks.discriminator_loss(gan, net, real, fake, lambda_gp)
    plain = 0.5 * (gan(net(real), True) + gan(net(fake.detach()), False))
    assert torch.allclose(0.5 * (loss_real + loss_fake), plain)
    torch.manual_seed(1)  # the same interpolation weights
    penalty = networks.gradient_penalty(net, real, fake.detach(), lambda_gp=lambda_gp)
    if gan_mode == 'wgangp' and lambda_gp > 0:
        assert penalty.item() > 0 and torch.allclose(total, plain + penalty)
    else:
        assert networks.wgan_gp_term(gan, net, real, fake, lambda_gp) is None and torch.allclose(total, plain)
    total.backward()
    assert fake.grad is None  # G gets no gradient from the discriminator loss


def test_r1_is_the_squared_input_gradient_norm_at_real_images():
    from models.blobgan.losses import r1_penalty
    torch.manual_seed(0)
    net = networks.define_D(3, 8, 'basic', norm='none')
    real = torch.randn(2, 3, 32, 32, requires_grad=True)
    r1 = r1_penalty(net(real), real)
    same = networks.gradient_penalty(net, real, None, constant=0.0, lambda_gp=1.0, type='real')
    assert r1.item() > 0 and torch.allclose(r1, same, rtol=1e-4)


def _opt(**kw):
    base = dict(lr_policy='linear', epoch_count=1, n_epochs=2, n_epochs_decay=2, lr_decay_iters=1)
    base.update(kw)
    return SimpleNamespace(**base)


def test_linear_schedule_values():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=1.0)
    scheduler = networks.get_scheduler(optimizer, _opt())
    lrs = []
    for _ in range(4):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])


@pytest.mark.parametrize('policy', ['step', 'plateau', 'cosine'])
def test_other_schedules(policy):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert networks.get_scheduler(optimizer, _opt(lr_policy=policy)) is not None


def test_unknown_lr_policy_raises():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match='not implemented'):
        networks.get_scheduler(optimizer, _opt(lr_policy='exp'))


@pytest.mark.parametrize('name', ['adam', 'adamw', 'sgd', 'radam', 'adabelief', 'lamb'])
def test_optimizers_step(name):
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = networks.make_optimizer([param], name=name, lr=0.1, beta1=0.5)
    (param ** 2).sum().backward()
    optimizer.step()
    assert (param < 1).all()
    if 'betas' in optimizer.param_groups[0]:
        assert optimizer.param_groups[0]['betas'][0] == 0.5


def test_lookahead_and_unknown_optimizer():
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = networks.make_optimizer([param], name='adam', lr=0.1, lookahead=True)
    (param ** 2).sum().backward()
    optimizer.step()
    assert type(optimizer).__name__ == 'Lookahead'
    with pytest.raises(ValueError, match='adabelief'):
        networks.make_optimizer([param], name='adamm')
