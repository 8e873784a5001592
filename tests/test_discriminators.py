"""The multiscale (pix2pixHD) and sesame (two-stream, projection) discriminators and feature matching."""
from types import SimpleNamespace

import pytest
import torch

from models import networks


def _define(netD, num_D=2, condition_nc=3, input_nc=6):
    torch.manual_seed(0)
    return networks.define_D(input_nc, 8, netD, n_layers_D=3, norm='instance', opt=SimpleNamespace(num_D=num_D),
                             condition_nc=condition_nc)


@pytest.mark.parametrize('netD', ['multiscale', 'sesame'])
def test_output_is_features_per_scale_ending_with_prediction(netD):
    assert netD in networks.DISCRIMINATORS
    net = _define(netD, num_D=3)
    out = net(torch.randn(2, 6, 32, 32))
    assert isinstance(out, list) and len(out) == 3
    sizes = []
    for scale in out:
        assert isinstance(scale, list) and len(scale) >= 3
        prediction = scale[-1]
        assert prediction.shape[:2] == (2, 1) and min(prediction.shape[2:]) >= 1
        sizes.append(scale[0].shape[-1])
    assert sizes[0] > sizes[1] > sizes[2]  # each scale sees an average-pooled input
    assert len(networks.final_predictions(out)) == 3
    loss = networks.GANLoss('hinge')(out, True)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_multiscale_at_64px_with_one_scale_matches_num_D():
    net = _define('multiscale', num_D=1)
    assert len(net(torch.randn(1, 6, 64, 64))) == 1
    with pytest.raises(ValueError, match='num_D'):
        _define('multiscale', num_D=0)


def test_sesame_splits_condition_and_image():
    net = _define('sesame', condition_nc=3, input_nc=6)
    assert net.condition_nc == 3
    torch.manual_seed(1)
    cond, image = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32)
    base = networks.final_predictions(net(torch.cat([cond, image], 1)))[0]
    other_image = networks.final_predictions(net(torch.cat([cond, torch.randn_like(image)], 1)))[0]
    other_cond = networks.final_predictions(net(torch.cat([torch.randn_like(cond), image], 1)))[0]
    assert not torch.allclose(base, other_image) and not torch.allclose(base, other_cond)
    # image features do not depend on the condition: only the projection term does
    feats = net(torch.cat([cond, image], 1))[0][:-1]
    feats_other_cond = net(torch.cat([torch.randn_like(cond), image], 1))[0][:-1]
    assert all(torch.allclose(a, b) for a, b in zip(feats, feats_other_cond))


def test_sesame_needs_a_condition():
    with pytest.raises(ValueError, match='conditional'):
        _define('sesame', condition_nc=0, input_nc=3)


def test_feature_matching_loss():
    net = _define('multiscale')
    x = torch.randn(1, 6, 32, 32)
    fake_in = torch.randn(1, 6, 32, 32, requires_grad=True)
    assert networks.feature_matching_loss(net(x), net(x)).item() == pytest.approx(0.0)
    loss = networks.feature_matching_loss(net(fake_in), net(x))
    assert loss.item() > 0
    loss.backward()
    assert fake_in.grad.abs().sum() > 0
    basic = networks.define_D(6, 8, 'basic')
    with pytest.raises(ValueError, match='multiscale'):
        networks.feature_matching_loss(basic(x), basic(x))


@pytest.mark.parametrize('netD', ['multiscale', 'sesame'])
def test_gradient_penalty_on_multiscale_outputs(netD):
    net = _define(netD)
    real, fake = torch.randn(2, 6, 32, 32), torch.randn(2, 6, 32, 32)
    penalty = networks.gradient_penalty(net, real, fake, lambda_gp=10.0)
    assert penalty.item() > 0
    penalty.backward()
