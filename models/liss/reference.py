"""The reference encoder of LiSS: a frozen copy of a generator's encoder, merged into at every phase switch as
an exponential moving average, that the distillation loss pulls the encoder towards."""
import copy

import torch


def frozen_copy(encoder, state=None):
    """A copy of ``encoder`` in eval mode without gradients, with ``state`` (a state dict) loaded if given."""
    ref = copy.deepcopy(encoder).eval()
    if state is not None:
        ref.load_state_dict(state)
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


@torch.no_grad()
def merge(ref, encoder, a):
    """ref = a * encoder + (1 - a) * ref, parameters and floating buffers; integer buffers are copied."""
    for r, p in zip(ref.parameters(), encoder.parameters()):
        r.mul_(1.0 - a).add_(p.detach(), alpha=a)
    for r, b in zip(ref.buffers(), encoder.buffers()):
        if r.is_floating_point():
            r.mul_(1.0 - a).add_(b, alpha=a)
        else:
            r.copy_(b)


def state_of(ref):
    """The reference encoder as CPU tensors for the training state (None before the first switch)."""
    return None if ref is None else {k: v.detach().cpu() for k, v in ref.state_dict().items()}
