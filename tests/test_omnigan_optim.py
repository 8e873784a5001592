"""ExtraAdam against the definition of extragradient Adam, and inside a torch training loop."""
import math

import numpy as np
import pytest
import torch

from models.omnigan.optim import ExtraAdam


def adam_direction(m, v, t, g, lr, b1, b2, eps):
    """One Adam moment update from gradient g; returns (m, v, step to subtract)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return m, v, lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)


def reference(x0, grad_fn, n_pairs, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    """Extra-Adam written from its definition: x_half = x - u(g(x)); x <- x - u(g(x_half)), moments updated at
    both half steps (Gidel et al. 2019)."""
    x, m, v, t = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), 0
    for _ in range(n_pairs):
        t += 1
        m, v, d = adam_direction(m, v, t, grad_fn(x), lr, b1, b2, eps)
        x_half = x - d
        t += 1
        m, v, d = adam_direction(m, v, t, grad_fn(x_half), lr, b1, b2, eps)
        x = x - d
    return x


def test_matches_the_definition_on_a_quadratic():
    a = np.array([3.0, -1.0, 0.5])
    x0 = np.array([1.0, 2.0, -3.0])
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = ExtraAdam([p], lr=0.1, betas=(0.9, 0.999))
    for _ in range(7):  # 7 extrapolation / update pairs through step()
        for _ in range(2):
            opt.zero_grad()
            (0.5 * (torch.tensor(a) * p * p).sum()).backward()
            opt.step()
    expected = reference(x0, lambda x: a * x, 7)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_first_half_step_is_adam_and_update_restarts_from_the_anchor():
    torch.manual_seed(0)
    w0 = torch.randn(4, dtype=torch.float64)
    p, q = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    extra, adam = ExtraAdam([p], lr=0.05), torch.optim.Adam([q], lr=0.05)
    loss = lambda w: (w ** 3).sum()  # noqa: E731
    loss(p).backward()
    extra.step()  # extrapolation = one Adam step
    loss(q).backward()
    adam.step()
    assert torch.allclose(p, q)
    extra.zero_grad()
    loss(p).backward()  # gradient at the extrapolated point
    g_half = p.grad.clone()
    extra.step()  # update: from w0, not from the extrapolated point
    b1, b2 = 0.9, 0.999
    g0 = 3 * w0 ** 2
    m = b1 * (1 - b1) * g0 + (1 - b1) * g_half
    v = b2 * (1 - b2) * g0 ** 2 + (1 - b2) * g_half ** 2
    expected = w0 - 0.05 * math.sqrt(1 - b2 ** 2) / (1 - b1 ** 2) * m / (v.sqrt() + 1e-8)
    assert torch.allclose(p.detach(), expected)


def test_bilinear_game_converges_where_simultaneous_adam_does_not():
    """min_x max_y x*y: extragradient spirals in towards (0, 0); plain simultaneous Adam does not."""
    def run(cls):
        x = torch.nn.Parameter(torch.tensor(1.0))
        y = torch.nn.Parameter(torch.tensor(1.0))
        ox, oy = cls([x], lr=0.05, betas=(0.0, 0.9)), cls([y], lr=0.05, betas=(0.0, 0.9))
        for _ in range(2000):
            for o in (ox, oy):
                o.zero_grad()
            (x * y).backward()
            y.grad.neg_()  # y ascends
            ox.step()
            oy.step()
        return math.hypot(x.item(), y.item())
    assert run(ExtraAdam) < 0.1 and run(torch.optim.Adam) > 0.3  # measured 0.056 and 0.451


def test_no_gradient_at_the_update_returns_to_the_anchor_and_state_round_trips():
    p = torch.nn.Parameter(torch.ones(3))
    opt = ExtraAdam([p], lr=0.1, idle="anchor")
    p.sum().backward()
    opt.step()
    assert not torch.equal(p.detach(), torch.ones(3))
    p.grad = None
    opt.step()  # update without gradient: back to the anchor
    assert torch.equal(p.detach(), torch.ones(3))
    p.sum().backward()
    opt.step()  # extrapolated: a checkpoint now carries the anchor
    state = opt.state_dict()
    other = ExtraAdam([torch.nn.Parameter(p.detach().clone())], lr=0.1, idle="anchor")
    other.load_state_dict(state)
    assert other.state["extrapolated"] and torch.equal(other.state[other.param_groups[0]["params"][0]]["anchor"],
                                                       torch.ones(3))
    with pytest.raises(RuntimeError, match="needs an extrapolation"):
        ExtraAdam([p]).update()
    with pytest.raises(ValueError, match="betas"):
        ExtraAdam([p], betas=(1.0, 0.9))


def test_published_idle_parameters_keep_moving_with_momentum():
    """idle="momentum" (default, published under torch 1.4): a parameter that had a gradient keeps moving on Adam's
    momentum once its gradient is gone, also after a checkpoint round trip; one that never had one stays put."""
    def run(idle, resume_at=None):
        p, never = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
        opt = ExtraAdam([p, never], lr=0.1, idle=idle)
        p.sum().backward()
        opt.step()  # extrapolation with a gradient
        opt.step()  # update with the same gradient
        trace = [p.detach().clone()]
        for i in range(6):  # no more loss on p (a decoder after the switch, a frozen encoder)
            opt.zero_grad()  # torch's default set_to_none=True
            if i == resume_at:  # a fresh optimizer from the checkpoint: no gradient tensors come back
                state = opt.state_dict()
                p, never = (torch.nn.Parameter(t.detach().clone()) for t in (p, never))
                opt = ExtraAdam([p, never], lr=0.1, idle=idle)
                opt.load_state_dict(state)
            opt.step()
            trace.append(p.detach().clone())
        assert torch.equal(never.detach(), torch.ones(2))
        return opt, p, trace

    opt, p, trace = run("momentum")
    assert p.grad is None
    anchors = trace[::2]  # after each update half step
    assert all((b < a).all() for a, b in zip(anchors, anchors[1:]))  # momentum keeps pushing it down
    assert opt.state[p]["step"] == 8  # both half steps count, as published
    for resume_at in (2, 3):  # resumed before an extrapolation and before an update
        assert all(torch.equal(a, b) for a, b in zip(trace, run("momentum", resume_at)[2]))
    opt, p, trace = run("anchor")
    assert all(torch.equal(t, trace[0]) for t in trace)
    with pytest.raises(ValueError, match="idle must be one of"):
        ExtraAdam([p], idle="drift")
