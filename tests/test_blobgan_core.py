"""Tests for the BlobGAN building blocks: splatting, shapes, losses, EMA, editing and drawing."""
import math

import pytest
import torch

from models.blobgan import (BlobDiscriminator, BlobEncoder, BlobGenerator, LAYOUT_KEYS, blob_opacities,
                            check_layout, composite_alphas, d_logistic_loss, draw_layout, g_nonsaturating_loss,
                            layout_map, make_ema, move_blob, r1_penalty, regenerate, remove_blob, reshape_blob,
                            resize_blob, restyle_blob, splat, update_ema)

TINY = dict(n_blobs=3, noise_dim=8, hidden_dim=16, n_mlp=3, feature_dim=8, spatial_dim=8, channel_max=16,
            channel_base=128)


def hand_layout(xs, ys, sizes, covs=None, fdim=3):
    """Single-image layout with one-hot style vectors: background = e0, blob k = e_{k+1}."""
    k = len(xs)
    eye = torch.eye(k + 1)
    return {
        'xs': torch.tensor([xs], dtype=torch.float32),
        'ys': torch.tensor([ys], dtype=torch.float32),
        'sizes': torch.tensor([[0.0] + list(sizes)], dtype=torch.float32),
        'covs': torch.zeros(1, k, 2) if covs is None else torch.tensor([covs], dtype=torch.float32),
        'features': eye[None].clone(),
        'spatial_style': eye[None].clone() * 2,
    }


def test_large_blob_covers_centre_background_elsewhere():
    lay = hand_layout([0.5], [0.5], [8.0])
    out = splat(lay, 16, 16, sharpness=100.0)
    alphas = out['alphas'][0]
    assert torch.allclose(alphas.sum(0), torch.ones(16, 16), atol=1e-5)
    assert alphas[1, 8, 8] > 0.99          # blob owns its centre
    assert alphas[0, 0, 0] > 0.99          # background owns the corner
    # style map is the composited one-hot vectors
    assert torch.allclose(out['style'][0, 1], alphas[1])
    assert torch.allclose(out['spatial'][0, 0], 2 * alphas[0])


def test_opacity_formula_matches_sigmoid_of_size_minus_distance():
    lay = hand_layout([0.5], [0.5], [3.0])
    o = blob_opacities(lay, 4, 4, sharpness=10.0)[0, 0]
    # pixel (row 0, col 0) centre is at (0.125, 0.125): squared distance 2 * 0.375^2
    expected = torch.sigmoid(torch.tensor(3.0 - 10.0 * 2 * 0.375 ** 2))
    assert torch.allclose(o[0, 0], expected)


def test_compositing_order_later_blob_on_top():
    lay = hand_layout([0.5, 0.5], [0.5, 0.5], [8.0, 8.0])
    alphas = splat(lay, 8, 8, sharpness=50.0)['alphas'][0]
    assert alphas[2, 4, 4] > 0.99 and alphas[1, 4, 4] < 0.01
    # composite_alphas directly: o=[0.5, 0.5] -> top 0.5, bottom 0.25, background 0.25
    w = composite_alphas(torch.tensor([0.5, 0.5]).view(1, 2, 1, 1))[0, :, 0, 0]
    assert torch.allclose(w, torch.tensor([0.25, 0.25, 0.5]))


def test_hidden_blob_and_aspect_and_rectangular_grid():
    lay = hand_layout([0.5], [0.5], [-50.0])
    assert splat(lay, 8, 8)['alphas'][0, 0].min() > 0.999
    # elongated blob along x (log aspect > 0) reaches further horizontally than vertically
    lay = hand_layout([0.5], [0.5], [4.0], covs=[[math.log(4.0), 0.0]])
    o = blob_opacities(lay, 33, 33, sharpness=40.0)[0, 0]
    assert o[16, 16 + 10] > o[16 + 10, 16]
    # rotate by 90 degrees: now vertical
    lay = hand_layout([0.5], [0.5], [4.0], covs=[[math.log(4.0), math.pi / 2]])
    o = blob_opacities(lay, 33, 33, sharpness=40.0)[0, 0]
    assert o[16 + 10, 16] > o[16, 16 + 10]
    # on a 2:1 grid a round blob stays round in pixels
    lay = hand_layout([0.5], [0.5], [4.0])
    o = blob_opacities(lay, 32, 64, sharpness=40.0)[0, 0]
    assert torch.allclose(o[16, 32 + 6], o[16 + 6, 32], atol=1e-4)


@pytest.mark.parametrize('aspect', [1.0, 2.0])
def test_generator_and_discriminator_shapes(aspect):
    torch.manual_seed(0)
    G = BlobGenerator(size=32, size_in=8, aspect_ratio=aspect, **TINY)
    D = BlobDiscriminator(size=32, aspect_ratio=aspect, channel_max=16, channel_base=128)
    img, lay = G(G.sample_noise(2), return_layout=True)
    assert img.shape == (2, 3, 32, int(32 * aspect))
    check_layout(lay)
    assert set(lay) == set(LAYOUT_KEYS)
    assert lay['features'].shape == (2, 4, 8) and lay['sizes'].shape == (2, 4) and lay['xs'].shape == (2, 3)
    assert D(img).shape == (2, 1)
    enc = BlobEncoder(G.layout_net.latent_dim(-1), size=32, aspect_ratio=aspect, channel_max=16, channel_base=128)
    assert enc(img).shape == (2, 16)
    with pytest.raises(ValueError, match='expects images'):
        D(torch.zeros(1, 3, 16, 16))


def test_bad_sizes_raise_clear_errors():
    with pytest.raises(ValueError, match='power of two'):
        BlobGenerator(size=48, size_in=8, **TINY)
    with pytest.raises(ValueError, match='mlp_idx'):
        BlobGenerator(size=32, size_in=8, **TINY).layout_net.latent(torch.zeros(1, 8), mlp_idx=7)


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
            if hasattr(m, 'strength'):
                m.strength.fill_(0.5)
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
    assert reshape_blob(lay, 1, angle=0.5)['covs'][0, 1, 1] == 0.5
    restyled = restyle_blob(lay, 0, source=lay, source_idx=1, batch=[0])
    assert torch.equal(restyled['features'][0, 1], lay['features'][0, 2])
    assert torch.equal(restyled['features'][1, 1], lay['features'][1, 1])
    for edited in (moved, removed, restyled):
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
