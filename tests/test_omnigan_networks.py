"""omnigan networks and losses: shapes of every head, DeepLab-v2 weights, loss dictionary, D update order."""
import pytest
import torch

from models import networks
from models.omnigan import DomainClassifier, OmniDiscriminator, OmniGenerator, parameter_report, parse_tasks
from models.omnigan.blocks import SPADE, ResBlock, SPADEResnetBlock
from models.omnigan.encoders import DeeplabV2Encoder, DeeplabV2ResNet, MunitContentEncoder
from models.omnigan.discriminators import SpectralPatchDiscriminator
from models.omnigan.losses import (ClassifierLoss, SmoothedGANLoss, WaterLoss, build_losses, cross_entropy_2d,
                                   d_update_plan, depth_matching_loss, fooling_target, semantic_matching_loss)

TINY = dict(enc_dim=4, enc_n_res=1, dec_n_res=1, spade_nhidden=8)



@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """These tensors are tiny: one intra-op thread avoids OpenMP oversubscription on busy 2-core machines."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

def _shapes(out):
    return {k: (tuple(v.shape) if torch.is_tensor(v) else {kk: tuple(vv.shape) for kk, vv in v.items()})
            for k, v in out.items()}


@pytest.mark.parametrize("size", [64, 128])
def test_munit_generator_heads_shapes(size):
    torch.manual_seed(0)
    g = OmniGenerator(n_downsample=2, **TINY)
    out = g(torch.randn(1, 3, size, size))
    shapes = _shapes(out)
    assert shapes["z"] == (1, 16, size // 4, size // 4)
    for task, nc in (("d", 1), ("h", 1), ("w", 1), ("s", 19)):
        assert shapes[task] == (1, nc, size, size)
    assert shapes["a"] == {"r": (1, 3, size, size), "s": (1, 3, size, size)}
    assert shapes["t"] == {"f": (1, 3, size, size), "n": (1, 3, size, size)}
    for img in list(out["a"].values()) + list(out["t"].values()):
        assert img.abs().max() <= 1.0  # tanh images


def test_generator_rectangular_and_three_downsamplings():
    g = OmniGenerator(tasks="d,s,t", n_downsample=3, n_classes=5, **TINY)
    out = g(torch.randn(2, 3, 64, 96))
    assert out["z"].shape == (2, 32, 8, 12)
    assert out["s"].shape == (2, 5, 64, 96) and out["t"]["n"].shape == (2, 3, 64, 96)
    assert set(out) == {"z", "d", "s", "t"} and g.cond_nc == 1 + 5


def test_deeplab_encoder_shapes_and_frozen_batchnorm():
    torch.manual_seed(0)
    g = OmniGenerator(encoder="deeplabv2", deeplab_layers=(1, 1, 1, 1), deeplab_proj_dim=16, enc_n_res=1,
                      spade_nhidden=8)
    out = g(torch.randn(1, 3, 64, 64))
    assert out["z"].shape == (1, 16, 8, 8)
    assert out["s"].shape == (1, 19, 64, 64) and out["t"]["f"].shape == (1, 3, 64, 64)
    bn = g.encoder.backbone.bn1
    g.train()
    assert not bn.training and not bn.weight.requires_grad
    with pytest.raises(ValueError, match="divisible by 8"):
        g.encode(torch.randn(1, 3, 60, 64))


def test_deeplab_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="DeepLab-v2 weights file not found"):
        DeeplabV2Encoder(layers=(1, 1, 1, 1), proj_dim=8, weights_path=str(tmp_path / "missing.pth"))
    # a checkpoint laid out like converted DeepLab-v2 files: a wrapper prefix and an ASPP classifier to skip
    src = DeeplabV2ResNet((1, 1, 1, 1))
    state = {f"Scale.{k}": v for k, v in src.state_dict().items()}
    state["Scale.layer5.conv2d_list.0.weight"] = torch.zeros(19, 2048, 3, 3)
    path = tmp_path / "deeplab.pth"
    torch.save(state, path)
    enc = DeeplabV2Encoder(layers=(1, 1, 1, 1), proj_dim=8, weights_path=str(path))
    assert torch.equal(enc.backbone.conv1.weight, src.conv1.weight)
    assert torch.equal(enc.backbone.layer4[0].conv3.weight, src.layer4[0].conv3.weight)
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a DeepLab-v2 ResNet checkpoint"):
        DeeplabV2Encoder(layers=(1, 1, 1, 1), proj_dim=8, weights_path=str(tmp_path / "bad.pth"))


def test_munit_encoder_layout():
    enc = MunitContentEncoder(dim=8, n_downsample=3, n_res=2)
    assert enc.output_dim == 64
    assert enc(torch.randn(1, 3, 32, 32)).shape == (1, 64, 4, 4)


def test_spade_blocks():
    cond = torch.rand(2, 5, 64, 64)
    x = torch.randn(2, 12, 16, 16)
    assert SPADE(12, 5, 8)(x, cond).shape == x.shape
    block = SPADEResnetBlock(12, 6, 5, nhidden=8)
    assert block.learned_shortcut and block(x, cond).shape == (2, 6, 16, 16)
    assert not SPADEResnetBlock(12, 12, 5, nhidden=8).learned_shortcut


def test_task_selection_errors():
    assert parse_tasks("t, d,s") == ("d", "s", "t")
    with pytest.raises(ValueError, match="unknown omnigan task"):
        parse_tasks("d,x")
    with pytest.raises(ValueError, match="needs a condition"):
        OmniGenerator(tasks="a,t", **TINY)


def test_discriminators_classifier_and_parameter_report():
    D = OmniDiscriminator("a,t", ndf=4, n_layers=2, num_D=3, kind="multiscale")
    assert set(D) == {"a", "t"} and set(D["a"]) == {"r", "s"} and set(D["t"]) == {"f", "n"}
    preds = networks.final_predictions(D["t"]["n"](torch.randn(2, 3, 64, 64)))
    assert len(preds) == 3 and preds[0].shape[-1] > preds[1].shape[-1] > preds[2].shape[-1]
    assert isinstance(D["a"]["r"], networks.MultiscaleDiscriminator)
    C = DomainClassifier(16, dim=8)
    assert C(torch.randn(3, 16, 8, 8)).shape == (3, 4)
    g = OmniGenerator(**TINY)
    report = parameter_report(g, D, C)
    assert report.startswith("omnigan parameters: G ") and "G.decoders[t]" in report
    total = sum(p.numel() for p in g.parameters())
    assert f"G {total:,}" in report


def test_published_patch_discriminator_matches_the_seed_parameter_count():
    D = OmniDiscriminator("a,t")  # defaults: single-scale spectral-norm PatchGAN, ndf 64, 3 layers
    assert all(isinstance(d, SpectralPatchDiscriminator) for head in D.values() for d in head.values())
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 * 5 and all(hasattr(m, "weight_orig") for m in convs)  # every conv spectral-normed
    assert all(m.kernel_size == (4, 4) for m in convs)
    # the seed's 11,124,424 counts the published SpectralNorm's u and v vectors as parameters too
    uv = sum(m.weight_u.numel() + m.weight_v.numel() for m in convs)
    assert sum(p.numel() for p in D.parameters()) + uv == 11_124_424
    assert D["t"]["f"](torch.randn(1, 3, 64, 64)).shape == (1, 1, 6, 6)


def test_smoothed_gan_loss_targets_and_flips():
    pred = torch.zeros(2, 1, 4, 4)
    torch.manual_seed(0)
    plain = SmoothedGANLoss("lsgan")
    assert plain(pred, True).item() == 1.0 and plain(pred, False).item() == 0.0
    smooth = SmoothedGANLoss("lsgan", soft_shift=0.2)
    reals = [smooth(pred, True).item() for _ in range(200)]  # (0 - (1 - u))^2, u ~ U(0, 0.2)
    fakes = [smooth(pred, False).item() for _ in range(200)]  # (0 - u)^2
    assert 0.8 ** 2 <= min(reals) < max(reals) <= 1.0 and max(reals) - min(reals) > 0.2
    assert 0.0 <= min(fakes) < max(fakes) <= 0.2 ** 2
    always = SmoothedGANLoss("lsgan", flip_prob=1.0)
    assert always(pred, True).item() == 0.0 and always(pred, False).item() == 1.0
    sometimes = SmoothedGANLoss("lsgan", flip_prob=0.05)
    flips = sum(sometimes(pred, True).item() == 0.0 for _ in range(2000))
    assert 40 <= flips <= 160  # about 5 % of 2000
    assert SmoothedGANLoss("hinge", 0.2, 0.0)(pred, True).item() == 1.0  # no targets to smooth in hinge
    with pytest.raises(ValueError, match="must lie in"):
        SmoothedGANLoss("lsgan", soft_shift=2.0)


def test_fooling_targets_and_matching_losses():
    # cross-entropy: real and simulated swapped, flood state kept (classes ordered rf, rn, sf, sn)
    assert [fooling_target(d, 1, "ce").item() for d in ("rf", "rn", "sf", "sn")] == [2, 3, 0, 1]
    assert torch.equal(fooling_target("rn", 2, "l2"), torch.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="unknown domain"):
        fooling_target("xx", 1, "ce")
    real = torch.zeros(1, 3, 2, 2)
    real[:, 2] = 5.0  # arg-max class 2 everywhere
    fake = torch.zeros(1, 3, 2, 2, requires_grad=True)
    sm = semantic_matching_loss(fake, real)
    assert abs(sm.item() - torch.log(torch.tensor(3.0)).item()) < 1e-6
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    assert abs(semantic_matching_loss(fake, real, mask).item() - sm.item() / 4) < 1e-6
    sm.backward()
    assert fake.grad is not None and real.grad is None
    assert depth_matching_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item() == 1.0
    assert depth_matching_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), mask[:, None]).item() == 0.25


def test_losses_dictionary_layout_and_values():
    losses = build_losses("lsgan", cycle="l2", auto="l1", water="l2", classifier="l1")
    assert set(losses) == {"G", "D", "C"}
    assert set(losses["G"]) == {"gan", "cycle", "auto", "tasks", "classifier", "sm", "dm"}
    for key in ("gan", "cycle", "auto"):
        assert set(losses["G"][key]) == {"a", "t"}
    assert set(losses["G"]["tasks"]) == {"d", "h", "s", "w"}
    assert isinstance(losses["D"], SmoothedGANLoss) and isinstance(losses["G"]["gan"]["t"], networks.GANLoss)
    defaults = build_losses()  # published: MSE for the reconstructions, depth and height
    assert all(isinstance(defaults["G"][k][h], torch.nn.MSELoss) for k in ("cycle", "auto") for h in ("a", "t"))
    assert isinstance(defaults["G"]["tasks"]["d"], torch.nn.MSELoss)
    assert isinstance(defaults["G"]["tasks"]["h"], torch.nn.MSELoss)
    assert isinstance(losses["G"]["cycle"]["a"], torch.nn.MSELoss)
    assert isinstance(losses["G"]["auto"]["t"], torch.nn.L1Loss)
    with pytest.raises(ValueError, match="unknown reconstruction loss"):
        build_losses(cycle="l3")


def test_cross_entropy_2d_ignores_and_resizes():
    logits = torch.zeros(1, 3, 4, 4, requires_grad=True)
    target = torch.full((1, 8, 8), 255, dtype=torch.long)
    assert cross_entropy_2d(logits, target).item() == 0.0  # all ignored: 0, not NaN
    target[0, :4] = 1
    loss = cross_entropy_2d(logits, target)
    assert abs(loss.item() - torch.log(torch.tensor(3.0)).item()) < 1e-5
    loss.backward()
    assert logits.grad is not None
    with pytest.raises(ValueError, match="segmentation labels must be in"):
        cross_entropy_2d(logits, torch.full((1, 4, 4), 7, dtype=torch.long))


def test_water_and_classifier_losses():
    logits = torch.tensor([[10.0, -10.0]]).view(1, 1, 1, 2)
    mask = torch.tensor([[1.0, 0.0]]).view(1, 1, 1, 2)
    for kind in ("bce", "l1", "l2"):
        assert WaterLoss(kind)(logits, mask).item() < 1e-3
    ce = ClassifierLoss("ce")
    logits = torch.zeros(2, 4)
    uniform = torch.full((2, 4), 0.25)
    assert abs(ce(logits, uniform).item() - torch.log(torch.tensor(4.0)).item()) < 1e-6
    assert abs(ce(logits, torch.tensor([0, 3])).item() - torch.log(torch.tensor(4.0)).item()) < 1e-6
    assert ClassifierLoss("l2")(logits, uniform).item() == 0.0


def test_d_update_plan_follows_the_design_notes():
    expected = [
        ("a", "r", "real", "rf"), ("a", "s", "fake", "rf"), ("t", "f", "real", "rf"), ("t", "n", "fake", "rf"),
        ("a", "r", "real", "rn"), ("a", "s", "fake", "rn"), ("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
        ("a", "s", "real", "sf"), ("a", "r", "fake", "sf"), ("t", "f", "real", "sf"), ("t", "n", "fake", "sf"),
        ("a", "s", "real", "sn"), ("a", "r", "fake", "sn"), ("t", "n", "real", "sn"), ("t", "f", "fake", "sn"),
    ]
    # batch keys in any order: updates follow rf, rn, sf, sn
    assert d_update_plan(["sn", "rf", "sf", "rn"]) == expected
    assert d_update_plan(["rf", "rn", "sf", "sn"], heads=("t",)) == [e for e in expected if e[0] == "t"]
    with pytest.raises(ValueError, match="unknown domain"):
        d_update_plan(["xx"])


def test_published_decoder_outputs_spade_spectral_norm_and_kernel_size():
    torch.manual_seed(0)
    g = OmniGenerator(**TINY)  # defaults: tanh task outputs, SPADE spectral norm on
    out = g(torch.randn(2, 3, 32, 32) * 50)
    for task in ("d", "h", "s"):
        assert out[task].abs().max() <= 1.0, task
    raw = OmniGenerator(**dict(TINY, dec_n_res=0), task_activation="none", spade_spectral=False, spade_kernel_size=5)
    assert not any(isinstance(m, torch.nn.Tanh) for m in raw.decoders["d"].modules())
    block, raw_block = g.decoders["t"]._model.head_0, raw.decoders["t"]._model.head_0
    assert hasattr(block.conv_0, "weight_orig") and not hasattr(raw_block.conv_0, "weight_orig")
    assert block.norm_0.mlp_gamma.kernel_size == (3, 3) and raw_block.norm_0.mlp_gamma.kernel_size == (5, 5)
    assert sum(isinstance(m, ResBlock) for m in OmniGenerator(**dict(TINY, dec_n_res=4)).decoders["h"].modules()) == 4
    with pytest.raises(ValueError, match="task decoder activation"):
        OmniGenerator(**TINY, task_activation="relu")


def test_spade_condition_construction():
    torch.manual_seed(0)
    preds = {"d": torch.rand(1, 1, 4, 4), "h": torch.rand(1, 1, 4, 4) + 1, "s": torch.randn(1, 3, 4, 4),
             "w": torch.randn(1, 1, 4, 4)}
    raw = OmniGenerator(n_classes=3, **TINY)  # published: d, h, s, w as the heads give them (w: its tanh)
    assert raw.condition_tasks == ("d", "h", "s", "w") and raw.cond_nc == 6
    assert torch.equal(raw.condition_from(preds), torch.cat([preds["d"], preds["h"], preds["s"], preds["w"].tanh()], 1))
    probs = OmniGenerator(n_classes=3, condition="probs", shared_translation=False, **TINY)
    assert probs.condition_tasks == ("h", "d", "s", "w")
    assert torch.equal(probs.condition_from(preds), torch.cat(
        [preds["h"], preds["d"], preds["s"].softmax(1), preds["w"].sigmoid()], 1))
    assert set(dict(probs.decoders["t"].named_children())) == {"f", "n"}
    # the shared decoder puts the 2-channel bit, [1, 0] for f and [0, 1] for n, in front of the condition
    seen = []
    shared = raw.decoders["t"]._model
    assert shared.head_0.norm_0.mlp_shared[0].in_channels == 6 + 2
    shared.head_0.norm_0.register_forward_pre_hook(lambda m, args: seen.append(args[1]))
    z, cond = torch.randn(1, 16, 8, 8), raw.condition_from(preds)
    f, n = raw.translate(z, "f", cond), raw.translate(z, "n", cond)
    assert not torch.allclose(f, n)
    for got, bit in zip(seen, ([1.0, 0.0], [0.0, 1.0])):
        assert torch.equal(got[:, :2], torch.tensor(bit).view(1, 2, 1, 1).expand(1, 2, 4, 4))
        assert torch.equal(got[:, 2:], cond)
    with pytest.raises(ValueError, match="unknown translation target"):
        raw.translate(z, "x", cond)
    with pytest.raises(ValueError, match="unknown SPADE condition"):
        OmniGenerator(condition="logits", **TINY)


def test_published_encoder_blocks_and_layer_norm():
    from models.omnigan.blocks import Conv2dBlock, LayerNorm, SpectralNorm
    enc = MunitContentEncoder(dim=4, n_downsample=2, n_res=1)  # published: spectral-norm convs, lrelu
    convs = [b for b in enc.model[:3]]
    assert all(isinstance(b.conv, SpectralNorm) and isinstance(b.activation, torch.nn.LeakyReLU) for b in convs)
    assert all(isinstance(b.norm, torch.nn.Identity) for b in convs)
    res = enc.model[3].model[0].model[0]
    assert isinstance(res.norm, torch.nn.InstanceNorm2d) and isinstance(res.activation, torch.nn.LeakyReLU)
    old = MunitContentEncoder(dim=4, n_downsample=2, n_res=1, conv_norm="in", activation="relu")
    assert isinstance(old.model[0].norm, torch.nn.InstanceNorm2d) and isinstance(old.model[0].activation, torch.nn.ReLU)
    # conv blocks always carry a bias, whatever their normalisation
    assert all(Conv2dBlock(2, 2, 3, norm=n).conv.bias is not None for n in ("in", "bn", "ln", "none"))
    # the spectral-norm weight has unit largest singular value after the power iterations
    block = convs[1].conv
    for _ in range(200):
        block(torch.randn(1, 4, 8, 8))
    w = block.module.weight_bar.detach()
    sigma = block.module.weight_u @ w.view(w.shape[0], -1) @ block.module.weight_v
    assert sigma.item() == pytest.approx(torch.linalg.matrix_norm(w.view(w.shape[0], -1), ord=2).item(), rel=0.01)
    u = block.module.weight_u.clone()
    block.eval()
    block(torch.randn(1, 4, 8, 8))
    assert torch.equal(u, block.module.weight_u)  # eval-mode forwards leave u, v alone
    # published LayerNorm: (x - mean) / (unbiased std + eps) per sample, gamma ~ U[0, 1), beta 0
    ln = LayerNorm(3)
    assert ((ln.gamma >= 0) & (ln.gamma < 1)).all() and not ln.beta.any()
    x = torch.randn(2, 3, 4, 4) * 3 + 1
    flat = x.view(2, -1)
    expected = (x - flat.mean(1).view(2, 1, 1, 1)) / (flat.std(1).view(2, 1, 1, 1) + 1e-5)
    assert torch.allclose(ln(x), expected * ln.gamma.view(1, 3, 1, 1), atol=1e-6)
    # the task decoders: lrelu in the residual and upsampling blocks (published gen.default.activ)
    acts = {type(m) for m in TaskDecoderFor().modules() if isinstance(m, (torch.nn.ReLU, torch.nn.LeakyReLU))}
    assert acts == {torch.nn.LeakyReLU}


def TaskDecoderFor():
    return OmniGenerator(tasks="d", **TINY).decoders["d"]
