"""Optimizer steps on dense 1-D views of channels_last parameters.

With ``--channels_last`` the 4-D weights are stored NHWC. Adam, AdamW, SGD... update every element on its own,
so the layout does not matter to them, but their fast kernels do not know that: the fused CPU Adam makes a
contiguous copy of every non-contiguous parameter, gradient and moment and writes it back (on pix2pix's unet_256
this layout shuffling was a quarter of the fast path's step), and the foreach kernels fall back to slow paths.

:func:`register_dense_step` hooks an optimizer so that, for the duration of ``step()``, every parameter whose
memory is dense but not contiguous (channels_last) is presented as a flat 1-D view of its storage, with its
gradient and its per-parameter state (moments) presented the same way; after the step the original shapes come
back. The same elements go through the same arithmetic, so the update is bit-identical to the one on a contiguous
copy; only the copies are gone.

It also guards every parameter against mixed layouts: torch 2.14's fused CPU Adam updates the wrong elements when
a parameter and its gradient or moments have different strides (a channels_last checkpoint resumed without
--channels_last, or the reverse). Gradients and state tensors in another layout than their parameter are moved
into the parameter's layout before the step (state once, as it stays moved). Where all layouts agree, as in
a plain fp32 run, the hooks change nothing.
"""
import torch


def dense_flat(tensor):
    """A 1-D view of ``tensor``'s elements in memory order when its memory is dense (no gaps, no overlap), else
    None. Contiguous tensors give ``view(-1)``; channels_last ones a flat view of the NHWC storage."""
    if tensor.is_contiguous():
        return tensor.view(-1)
    order = sorted(range(tensor.dim()), key=lambda d: (-tensor.stride(d), -tensor.size(d)))
    permuted = tensor.permute(order)
    if permuted.is_contiguous():
        return permuted.reshape(-1)  # a view: permuted is contiguous
    return None


def _same_layout(a, b):
    return a.shape == b.shape and a.stride() == b.stride()


class DenseStep:
    """The pre- and post-step hooks of :func:`register_dense_step` (kept on the optimizer as ``_dense_step``)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.saved = []
        self.handles = (optimizer.register_step_pre_hook(self.pre_hook),
                        optimizer.register_step_post_hook(self.post_hook))

    def pre_hook(self, optimizer, args, kwargs):
        self.saved = []
        for group in optimizer.param_groups:
            for p in group['params']:
                if p.grad is None or p.grad.is_sparse:
                    continue
                if not _same_layout(p.grad, p):  # give the gradient the parameter's layout (see the module doc)
                    p.grad = torch.empty_like(p, dtype=p.grad.dtype).copy_(p.grad)
                state = optimizer.state.get(p, {})
                tensors = [key for key, value in state.items()
                           if torch.is_tensor(value) and value.dim() > 0 and value.shape == p.shape]
                for key in tensors:
                    if not _same_layout(state[key], p):  # e.g. loaded from a checkpoint of another layout: move once
                        state[key] = torch.empty_like(p, dtype=state[key].dtype).copy_(state[key])
                if p.is_contiguous():
                    continue
                flat = dense_flat(p.data)
                if flat is None:
                    continue
                saved_state = {key: state[key] for key in tensors}
                for key in tensors:
                    state[key] = dense_flat(state[key])
                self.saved.append((p, p.data, p.grad, saved_state))
                p.data = flat
                p.grad = dense_flat(self.saved[-1][2])

    def post_hook(self, optimizer, args, kwargs):
        for p, data, grad, saved_state in self.saved:
            state = optimizer.state.get(p, {})
            for key, value in list(state.items()):
                if key in saved_state:
                    state[key] = saved_state[key]
                elif torch.is_tensor(value) and value.dim() == 1 and value.numel() == data.numel() and data.dim() > 1:
                    # state created during this step on the flat view: the same storage order as the parameter
                    state[key] = value.as_strided(data.size(), data.stride())
            p.data = data
            p.grad = grad
        self.saved = []

    def remove(self):
        for handle in self.handles:
            handle.remove()


def register_dense_step(optimizer):
    """Make ``optimizer.step()`` work on dense flat views of non-contiguous (channels_last) parameters; returns
    the optimizer. Optimizers that are not ``torch.optim.Optimizer`` (e.g. Lookahead wrappers) are hooked through
    their inner ``optimizer`` when they have one, else left alone."""
    inner = getattr(optimizer, 'optimizer', None)  # wrappers such as Lookahead step an inner optimizer
    target = inner if isinstance(inner, torch.optim.Optimizer) else optimizer
    if isinstance(target, torch.optim.Optimizer) and not hasattr(target, '_dense_step'):
        target._dense_step = DenseStep(target)
    return optimizer
