"""The CPU fast path: optimizer steps on dense views of channels_last weights (models/dense_step.py), the
single autocast region of a training step, and the profiling tool (tools/bench/profile_step.py)."""
import copy
import json

import pytest
import torch

from models.dense_step import dense_flat, register_dense_step


def _conv_params(seed, channels_last):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(8, 6, 4, 4, generator=g)), torch.nn.Parameter(torch.randn(8, generator=g))]
    if channels_last:
        params[0].data = params[0].data.contiguous(memory_format=torch.channels_last)
    return params


def _grads(step, like):
    """Gradients in each parameter's own layout, as autograd makes them."""
    g = torch.Generator().manual_seed(100 + step)
    return [torch.empty_like(p).copy_(torch.randn(p.shape, generator=g)) for p in like]


def test_dense_flat_views_share_memory_in_storage_order():
    t = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    flat = dense_flat(t)
    assert flat.dim() == 1 and flat.data_ptr() == t.data_ptr()
    flat.add_(1)  # writes through to t
    assert torch.equal(t, torch.arange(120, dtype=torch.float32).view(2, 3, 4, 5) + 1)
    assert dense_flat(torch.ones(3, 4)).shape == (12,)
    assert dense_flat(torch.ones(4, 6)[:, ::2]) is None  # gaps: not dense


@pytest.mark.parametrize('kwargs', [{'fused': True}, {'foreach': True}, {'foreach': False},
                                    {'fused': True, 'amsgrad': True}])
def test_dense_step_is_bit_identical_and_keeps_layouts(kwargs):
    """Adam on channels_last weights through the dense views gives exactly the contiguous weights' update."""
    plain = _conv_params(0, channels_last=False)
    nhwc = _conv_params(0, channels_last=True)
    opt_plain = torch.optim.Adam(plain, lr=0.01, betas=(0.5, 0.999), **kwargs)
    opt_nhwc = register_dense_step(torch.optim.Adam(nhwc, lr=0.01, betas=(0.5, 0.999), **kwargs))
    for step in range(3):
        for params in (plain, nhwc):
            for p, g in zip(params, _grads(step, params)):
                p.grad = g.clone()
        opt_plain.step()
        opt_nhwc.step()
    for a, b in zip(plain, nhwc):
        assert torch.equal(a, b)
    w = nhwc[0]
    assert w.shape == (8, 6, 4, 4) and w.is_contiguous(memory_format=torch.channels_last)
    assert w.grad.shape == w.shape
    for key in ('exp_avg', 'exp_avg_sq'):
        state = opt_nhwc.state[w][key]
        assert state.shape == w.shape and state.stride() == w.stride()
        assert torch.equal(state, opt_plain.state[plain[0]][key])
    # the optimizer state saves and loads like any other (shapes of the parameters)
    saved = copy.deepcopy(opt_nhwc.state_dict())
    assert saved['state'][0]['exp_avg'].shape == (8, 6, 4, 4)


def test_dense_step_takes_contiguous_state_from_a_checkpoint():
    """A state saved by a contiguous run loads into a channels_last run and continues identically."""
    plain = _conv_params(1, channels_last=False)
    opt_plain = torch.optim.Adam(plain, lr=0.01, fused=True)
    for p, g in zip(plain, _grads(0, plain)):
        p.grad = g.clone()
    opt_plain.step()
    nhwc = [torch.nn.Parameter(p.detach().clone()) for p in plain]
    nhwc[0].data = nhwc[0].data.contiguous(memory_format=torch.channels_last)
    opt_nhwc = register_dense_step(torch.optim.Adam(nhwc, lr=0.01, fused=True))
    opt_nhwc.load_state_dict(copy.deepcopy(opt_plain.state_dict()))
    for params in (plain, nhwc):
        for p, g in zip(params, _grads(1, params)):
            p.grad = g.clone()
    opt_plain.step()
    opt_nhwc.step()
    for a, b in zip(plain, nhwc):
        assert torch.equal(a, b)
    assert opt_nhwc.state[nhwc[0]]['exp_avg'].is_contiguous(memory_format=torch.channels_last)


def test_fused_adam_on_channels_last_makes_no_copies():
    """The reason for the dense step: without it the fused kernel clones every NHWC tensor."""
    from torch.profiler import profile

    def copies(register):
        params = _conv_params(2, channels_last=True)
        opt = torch.optim.Adam(params, lr=0.01, fused=True)
        if register:
            register_dense_step(opt)
        for p, g in zip(params, _grads(0, params)):
            p.grad = g
        opt.step()  # state creation
        with profile() as prof:
            opt.step()
        return sum(e.count for e in prof.key_averages() if e.key == 'aten::clone')

    assert copies(False) > 0
    assert copies(True) == 0


def test_gradient_in_another_layout_is_moved_to_the_parameters():
    """torch 2.14's fused CPU Adam mixes up elements when a parameter and its gradient have different layouts;
    the dense step hands it the gradient in the parameter's layout, so the update is the contiguous one."""
    plain = _conv_params(3, channels_last=False)
    nhwc = _conv_params(3, channels_last=True)
    opt_plain = torch.optim.Adam(plain, lr=0.01, fused=True)
    opt_nhwc = register_dense_step(torch.optim.Adam(nhwc, lr=0.01, fused=True))
    grads = _grads(0, plain)  # contiguous gradients for both
    for params in (plain, nhwc):
        for p, g in zip(params, grads):
            p.grad = g.clone()
    opt_plain.step()
    opt_nhwc.step()
    for a, b in zip(plain, nhwc):
        assert torch.equal(a, b)
