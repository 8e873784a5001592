"""Exponential moving average of generator weights (used for sampling, FID and inversion)."""
import copy

import torch

# published: accumulate(G_ema, G, 0.5 ** (32 / (10 * 1000))) after every generator step, whatever the batch size
PUBLISHED_EMA_DECAY = 0.5 ** (32 / (10 * 1000))


def make_ema(net):
    """Frozen deep copy of ``net`` in eval mode."""
    ema = copy.deepcopy(net).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema, net, decay=PUBLISHED_EMA_DECAY, buffers=True):
    """ema <- decay * ema + (1 - decay) * net for parameters; buffers are copied unless ``buffers`` is False
    (published ``accumulate`` averages parameters only)."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f'EMA decay must be in [0, 1], got {decay}')
    src = dict(net.named_parameters())
    for name, p in ema.named_parameters():
        p.mul_(decay).add_(src[name].detach().to(p.dtype), alpha=1.0 - decay)  # the published arithmetic
    if buffers:
        src_b = dict(net.named_buffers())
        for name, b in ema.named_buffers():
            b.copy_(src_b[name])


def ema_decay_from_half_life(batch_size, half_life_kimg=10.0):
    """StyleGAN-style decay so the EMA half-life is ``half_life_kimg`` thousand images."""
    if half_life_kimg <= 0:
        return 0.0
    return 0.5 ** (batch_size / (half_life_kimg * 1000.0))
