"""Tests for the BlobGAN building blocks: splatting, shapes, losses, EMA, editing and drawing."""
import math

import pytest
import torch

from models.blobgan import (BlobDiscriminator, BlobEncoder, BlobGenerator, LAYOUT_KEYS, blob_opacities,
                            check_layout, composite_alphas, d_logistic_loss, draw_layout, g_nonsaturating_loss,
                            layout_map, make_ema, move_blob, r1_penalty, regenerate, remove_blob, reshape_blob,
                            resize_blob, restyle_blob, shape_covariances, splat, update_ema)

TINY = dict(n_blobs=3, noise_dim=8, hidden_dim=16, n_mlp=3, feature_dim=8, style_dim=8, c_model=2)
ROUND = [0.0, 0.0, 1.0, 0.0]  # a = b = 1/2, direction x: Sigma = 0.02 I with ab_norm 0.02


def hand_layout(xs, ys, sizes, covs=None):
    """Single-image layout with one-hot vectors: background = e0, blob k = e_{k+1} (styles twice that)."""
    k = len(xs)
    eye = torch.eye(k + 1)
    return {
        'xs': torch.tensor([xs], dtype=torch.float32),
        'ys': torch.tensor([ys], dtype=torch.float32),
        'sizes': torch.tensor([[0.0] + list(sizes)], dtype=torch.float32),
        'covs': torch.tensor([covs or [ROUND] * k], dtype=torch.float32),
        'features': eye[None].clone(),
        'spatial_style': eye[None].clone() * 2,
    }


def test_large_blob_covers_centre_background_elsewhere():
    lay = hand_layout([0.5], [0.5], [8.0])
    out = splat(lay, 16, 16)
    alphas = out['pyramid'][16][0]
    assert torch.allclose(alphas.sum(0), torch.ones(16, 16), atol=1e-5)
    assert alphas[1, 8, 8] > 0.99          # blob owns its centre (grid point (8, 8) / 16)
    assert alphas[0, 0, 0] > 0.99          # background owns the corner
    # generator input = the composited one-hot *features*
    assert torch.allclose(out['input'][0, 1], alphas[1])


def test_opacity_formula_and_fixed_area_covariance():
    lay = hand_layout([0.5], [0.5], [3.0])
    o = blob_opacities(lay, 4)[0, 0]
    # grid point (row 0, col 1) is p = (1/4, 0): delta = (-0.25, -0.5), Sigma = 0.02 I (+1e-5)
    expected = torch.sigmoid(torch.tensor(3.0 - (0.25 ** 2 + 0.5 ** 2) / (0.02 + 1e-5)))
    assert torch.allclose(o[0, 1], expected, atol=1e-6)
    # a, b through sigmoid, axes scaled by ab_norm / sqrt(ab): the area (det) never changes
    covs = torch.tensor([[[2.0, -1.0, 0.3, 0.7], [-3.0, 0.5, -1.0, 0.2]]])
    sig = shape_covariances(covs, ab_norm=0.02)
    assert torch.allclose(torch.linalg.det(sig - 1e-5 * torch.eye(2)), torch.full((1, 2), 0.02 ** 2), rtol=1e-3)


def test_compositing_order_later_blob_on_top():
    lay = hand_layout([0.5, 0.5], [0.5, 0.5], [8.0, 8.0])
    alphas = splat(lay, 8, 8)['pyramid'][8][0]
    assert alphas[2, 4, 4] > 0.99 and alphas[1, 4, 4] < 0.01
    w = composite_alphas(torch.tensor([0.5, 0.5]).view(1, 2, 1, 1))[0, :, 0, 0]
    assert torch.allclose(w, torch.tensor([0.25, 0.25, 0.5]))


def test_rotation_vector_and_square_grid_stretched_on_wide_images():
    lay = hand_layout([0.5], [0.5], [-50.0])
    assert splat(lay, 8, 8)['pyramid'][8][0, 0].min() > 0.999  # hidden blob
    # a > b along direction x: the blob reaches further horizontally than vertically
    lay = hand_layout([0.5], [0.5], [4.0], covs=[[2.0, -2.0, 1.0, 0.0]])
    o = blob_opacities(lay, 32)[0, 0]
    assert o[16, 16 + 6] > o[16 + 6, 16]
    lay['covs'] = torch.tensor([[[2.0, -2.0, 0.0, 1.0]]])  # same axes, direction y: now vertical
    o = blob_opacities(lay, 32)[0, 0]
    assert o[16 + 6, 16] > o[16, 16 + 6]
    # 2:1: splatted on the square grid, every pyramid level stretched to twice the width (nearest)
    lay = hand_layout([0.3], [0.5], [4.0])
    out = splat(lay, 16, 4, aspect_ratio=2.0)
    assert sorted(out['pyramid']) == [4, 8, 16]
    for h, a in out['pyramid'].items():
        assert a.shape == (1, 2, h, 2 * h)
        assert torch.equal(a[..., 0::2], a[..., 1::2])
    assert out['input'].shape == (1, 2, 4, 8)


def test_blob_vector_roles_norm_and_detached_shapes():
    """features feed the generator input, spatial_style only modulates (published roles)."""
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, **TINY).eval()
    with torch.no_grad():
        _, lay = G(G.sample_noise(2), return_layout=True)
        # norm_features: both vector kinds have unit RMS
        for key in ('features', 'spatial_style'):
            assert torch.allclose(lay[key].pow(2).mean(-1), torch.ones(2, 4), atol=1e-3)
        style_changed = dict(lay, spatial_style=lay['spatial_style'] * -1)
        assert torch.equal(G.splat(lay)['input'], G.splat(style_changed)['input'])
        assert not torch.allclose(G.render(lay), G.render(style_changed))
        feat_changed = dict(lay, features=lay['features'] * -1)
        assert not torch.allclose(G.splat(lay)['input'], G.splat(feat_changed)['input'])
    assert G.synthesis.conv1.conv.weight.shape[2] == 8  # input width = feature_dim (override_c_in)
    Gd = BlobGenerator(size=32, size_in=8, detach_shapes=True, **TINY)
    _, lay = Gd(Gd.sample_noise(2), return_layout=True)
    assert not lay['covs'].requires_grad and lay['xs'].requires_grad


def test_jitter_only_when_asked_and_truncation():
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, jitter_xy=0.04, jitter_shift=0.5, jitter_angle=0.1, **TINY).eval()
    z = G.sample_noise(2)
    with torch.no_grad():
        assert torch.equal(G(z, noise_mode='const'), G(z, noise_mode='const'))
        assert not torch.allclose(G(z, noise_mode='const', jitter=True), G(z, noise_mode='const'))
        _, full = G(z, return_layout=True, truncate=1.0)  # full truncation: every z gives the mean layout
        assert torch.allclose(full['xs'][0], full['xs'][1])
        _, none = G(z, return_layout=True)
        _, half = G(z, return_layout=True, truncate=0.5)
        assert not torch.allclose(half['xs'], none['xs'])


def test_published_widths():
    from models.blobgan.discriminator import discriminator_channels
    from models.blobgan.generator import generator_channels
    g = generator_channels(96, 2)
    assert [g[r] for r in (8, 16, 32, 64, 128, 256)] == [768, 768, 768, 768, 384, 192]
    d = discriminator_channels(64, 2)
    assert [d[r] for r in (4, 32, 64, 128, 256)] == [512, 512, 512, 256, 128]
    from models.blobgan.ema import PUBLISHED_EMA_DECAY
    assert abs(PUBLISHED_EMA_DECAY - 0.5 ** (32 / 10000)) < 1e-12 and round(PUBLISHED_EMA_DECAY, 5) == 0.99778


@pytest.mark.parametrize('aspect', [1.0, 2.0])
def test_generator_and_discriminator_shapes(aspect):
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, aspect_ratio=aspect, **TINY)
    D = BlobDiscriminator(size=32, aspect_ratio=aspect, c_model=2)
    img, lay = G(G.sample_noise(2), return_layout=True)
    assert img.shape == (2, 3, 32, int(32 * aspect))
    check_layout(lay)
    assert set(lay) == set(LAYOUT_KEYS)
    assert lay['features'].shape == (2, 4, 8) and lay['sizes'].shape == (2, 4) and lay['xs'].shape == (2, 3)
    assert D(img).shape == (2, 1)
    enc = BlobEncoder(G.layout_net.latent_dim(-1), size=32, aspect_ratio=aspect, c_model=2)
    assert enc(img).shape == (2, 16)
    with pytest.raises(ValueError, match='expects images'):
        D(torch.zeros(1, 3, 16, 16))


def test_bad_sizes_raise_clear_errors():
    with pytest.raises(ValueError, match='powers of two'):
        BlobGenerator(size=48, size_in=8, **TINY)
    with pytest.raises(ValueError, match='mlp_idx'):
        BlobGenerator(size=32, size_in=8, **TINY).layout_net.latent(torch.zeros(1, 8), mlp_idx=9)


def test_latent_path_matches_forward_and_const_noise_is_deterministic():
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, **TINY)
    z = G.sample_noise(2)
    h = G.layout_net.latent(z, -1)
    a = G.from_latent(h, -1)
    b = G(z, noise_mode='const')
    assert torch.allclose(a, b, atol=1e-5)
    with torch.no_grad():
        for m in G.modules():
            if type(m).__name__ == 'NoiseInjection':
                m.weight.fill_(0.5)
    assert not torch.allclose(G(z, noise_mode='random'), G(z, noise_mode='random'))
    assert torch.allclose(G(z, noise_mode='const'), G(z, noise_mode='const'))


def test_losses_and_r1():
    real = torch.randn(2, 3, 8, 8, requires_grad=True)
    logits = (real ** 2).sum(dim=(1, 2, 3))
    # d/dx sum(x^2) = 2x -> penalty = mean ||2x||^2
    assert torch.allclose(r1_penalty(logits, real), (2 * real.detach()).pow(2).flatten(1).sum(1).mean())
    z = torch.zeros(4)
    assert torch.allclose(d_logistic_loss(z, z), torch.tensor(2 * math.log(2)))
    assert torch.allclose(g_nonsaturating_loss(z), torch.tensor(math.log(2)))


def test_ema_update():
    net = torch.nn.Linear(2, 2)
    ema = make_ema(net)
    assert all(not p.requires_grad for p in ema.parameters())
    before = ema.weight.clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    update_ema(ema, net, decay=0.9)
    assert torch.allclose(ema.weight, before + 0.1)
    update_ema(ema, net, decay=0.0)
    assert torch.allclose(ema.weight, net.weight)


def test_editing_api_and_regenerate():
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, **TINY).eval()
    with torch.no_grad():
        _, lay = G(G.sample_noise(2), return_layout=True)
    base = regenerate(G, lay)
    moved = move_blob(lay, 0, dx=0.2)
    assert torch.allclose(moved['xs'][:, 0], lay['xs'][:, 0] + 0.2) and torch.equal(moved['ys'], lay['ys'])
    assert resize_blob(lay, [0, 1], delta=1.0)['sizes'][0, 1] == lay['sizes'][0, 1] + 1.0
    removed = remove_blob(lay, 2, batch=[0])
    assert removed['sizes'][0, 3] < -50 and removed['sizes'][1, 3] == lay['sizes'][1, 3]
    assert torch.allclose(reshape_blob(lay, 1, angle=0.5)['covs'][0, 1, 2:], torch.tensor([math.cos(0.5), math.sin(0.5)]))
    restyled = restyle_blob(lay, 0, source=lay, source_idx=1, batch=[0])
    assert torch.equal(restyled['features'][0, 1], lay['features'][0, 2])
    assert torch.equal(restyled['features'][1, 1], lay['features'][1, 1])
    reshaped = reshape_blob(lay, [0, 1, 2], axes=(3.0, -3.0), angle=1.0)
    for edited in (moved, removed, restyled, reshaped):
        img = regenerate(G, edited)
        assert img.shape == base.shape and not torch.allclose(img, base)
    # the input layout is never modified in place
    assert torch.equal(regenerate(G, lay), base)
    with pytest.raises(ValueError, match='out of range'):
        move_blob(lay, 5, dx=0.1)


def test_draw_layout_over_images():
    lay = hand_layout([0.3, 0.7], [0.5, 0.5], [4.0, -100.0])
    img = torch.zeros(1, 3, 32, 64)
    drawn = draw_layout(img, lay)
    assert drawn.shape == img.shape and drawn.min() >= -1 and drawn.max() <= 1
    assert not torch.allclose(drawn[..., 10:22, 12:26], img[..., 10:22, 12:26])  # visible blob coloured
    assert torch.allclose(drawn[..., 0:6, 50:60], img[..., 0:6, 50:60], atol=1 / 127)  # hidden blob leaves image alone
    cmap = layout_map(lay, 32, 64)
    assert cmap.shape == (1, 3, 32, 64)
