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
    net.eval()  # spectral norm's power iteration would change the weights between the calls below
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


def test_sesame_is_opensesame_two_streams_merged_before_the_final_conv():
    torch.manual_seed(0)
    net = networks.define_D(6, 64, 'sesam', n_layers_D=4, opt=SimpleNamespace(num_D=2), condition_nc=3)
    assert isinstance(net, networks.SesameDiscriminator) and len(net.scales) == 2  # DLIM's spelling works
    scale = net.scales[0]
    for stream in (scale.image_stream, scale.label_stream):
        convs = [m for m in stream.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [c.out_channels for c in convs] == [64, 128, 256, 512]
        assert [c.stride[0] for c in convs] == [2, 2, 2, 1] and all(c.kernel_size == (4, 4) for c in convs)
        assert not hasattr(convs[0], 'weight_orig') and all(hasattr(c, 'weight_orig') for c in convs[1:])
        assert all(c.bias is None for c in convs[1:])  # the instance norm follows
        assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in stream.modules()) == 3
    assert scale.final_conv.kernel_size == (4, 4) and scale.final_conv.out_channels == 1
    # prediction = final_conv(h * (1 + sum_c s))
    net.eval()  # spectral norm: no power iteration, so the recomputation below sees the same weights
    cond, image = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    out = net(torch.cat([cond, image], 1))[0]
    h = scale.image_stream(image)[-1]
    s = scale.label_stream(cond)[-1]
    assert torch.allclose(out[-1], scale.final_conv(h * (1 + s.sum(1, keepdim=True))), atol=1e-6)
    assert len(out) == 5 and torch.allclose(out[-2], h)  # 4 image features, then the prediction
    plain = networks.define_D(6, 8, 'sesame', n_layers_D=4, opt=SimpleNamespace(num_D=1, norm_D='instance'),
                              condition_nc=3)
    assert not any(hasattr(m, 'weight_orig') for m in plain.modules())
    with pytest.raises(ValueError, match='--norm_D'):
        networks.define_D(6, 8, 'sesame', opt=SimpleNamespace(num_D=1, norm_D='group'), condition_nc=3)


def test_sesame_brings_opensesame_defaults_that_options_can_override(tmp_path):
    from options.train_options import TrainOptions

    def opts(*args):
        return TrainOptions(['--dataroot', str(tmp_path), '--model', 'pix2pix', '--checkpoints_dir', str(tmp_path),
                             *args]).gather_options()
    o = opts('--netD', 'sesam')
    assert (o.n_layers_D, o.gan_mode, o.lambda_feat, o.norm_D, o.norm) == (4, 'hinge', 10.0, 'spectralinstance',
                                                                            'batch')
    o = opts('--netD', 'sesame', '--gan_mode', 'vanilla', '--lambda_feat', '0', '--n_layers_D', '3')
    assert (o.n_layers_D, o.gan_mode, o.lambda_feat) == (3, 'vanilla', 0.0)
    o = opts()
    assert (o.netD, o.n_layers_D, o.gan_mode, o.lambda_feat) == ('basic', 3, 'vanilla', 0.0)
