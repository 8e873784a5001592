"""OmniGAN against the published networks (cc-ai/omnigan@432cfa1): parameter counts and state dict layout at the
published defaults, and the outputs of every head on a recorded fixture (tests/fixtures/
make_omnigan_published_fixture.py) with the same weights."""
import importlib.util
from pathlib import Path

import pytest
import torch

from models.omnigan import DomainClassifier, OmniGenerator

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def published():
    return torch.load(FIXTURES / "omnigan_published_tiny.pt", weights_only=True)


@pytest.fixture(scope="module")
def seeded_state():
    spec = importlib.util.spec_from_file_location("make_omnigan_fixture", FIXTURES / "make_omnigan_published_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.seeded_state


def layout(module):
    """State dict key -> shape (the decoders' order differs from the published one, which loading ignores)."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def recorded(pairs):
    return {k: tuple(s) for k, s in pairs}


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_published_defaults_give_the_published_counts_and_state_dict_keys(published):
    torch.manual_seed(0)
    G = OmniGenerator(enc_dim=32, n_downsample=3)  # every other argument at its published default
    assert count(G) == published["published_G_parameters"] == 49_528_338
    assert layout(G) == recorded(published["published_G"])  # published checkpoints load as-is
    C = DomainClassifier(G.encoder.output_dim)
    assert count(C) == published["published_C_parameters"] == 595_332
    assert layout(C) == recorded(published["published_C"])
    assert count(DomainClassifier(256, dim=128, kind="conv")) == 655_812  # --omni_classifier conv
    # the seed's t[f] / t[n] with the probability condition (--omni_translation separate --omni_condition probs)
    separate = OmniGenerator(enc_dim=32, n_downsample=3, condition="probs", shared_translation=False)
    # two decoders whose 9 SPADE layers each read 2 condition channels fewer (no f/n bit): 18,532,870
    assert count(separate.decoders["t"]) == 2 * (9_287_171 - 9 * 2 * 128 * 3 * 3)


def test_every_head_matches_the_published_networks_on_a_fixture(published, seeded_state):
    c = published["config"]
    torch.manual_seed(0)
    G = OmniGenerator(enc_dim=c["dim"], n_downsample=c["n_downsample"], enc_n_res=c["n_res"], dec_n_res=c["n_res"],
                      n_classes=c["num_classes"])
    C = DomainClassifier(G.encoder.output_dim)
    assert layout(G) == recorded(published["tiny_G"])
    assert layout(C) == recorded(published["tiny_C"])
    G.load_state_dict(seeded_state(G.state_dict()))
    C.load_state_dict(seeded_state(C.state_dict(), seed=1))
    G.train()
    C.train()

    def close(ours, theirs, name):
        assert ours.shape == theirs.shape, name
        assert torch.allclose(ours, theirs, atol=2e-5, rtol=1e-4), (name, (ours - theirs).abs().max().item())

    with torch.no_grad():
        z = G.encode(published["x"])  # one training-mode forward: one power iteration, as published
        close(z, published["z"], "z")
        heads = published["heads"]
        for task in ("d", "h", "s"):
            close(G.decode(task, z), heads[task], task)
        close(G.decode("w", z).tanh(), heads["w"], "w")  # the water head gives logits here (its BCE)
        for k in ("r", "s"):
            close(G.adapt(z, k), heads[f"a_{k}"], f"a_{k}")
        cond = G.condition(z)  # sorted d, h, s, w raw outputs; the f/n bit is added inside the shared decoder
        close(cond, published["condition"], "condition")
        for k in ("f", "n"):
            close(G.translate(z, k, cond), heads[f"t_{k}"], f"t_{k}")
        close(C(z), published["C_logits"], "C")
