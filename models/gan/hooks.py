"""Hooks applied to a network after each of its turns (Ganzo's --generator-hook / --discriminator-hook).

  weight_clipper  clamp the ``weight`` of every layer that has one to [-clip_to, clip_to]; biases are left
                  alone (Ganzo's weight-clipper, applied once per turn, not after every step).
"""
import torch

from .registry import register_hook


@register_hook('weight_clipper')
def build_weight_clipper(opt):
    clip_to = opt.clip_to

    @torch.no_grad()
    def clip(net):
        for module in net.modules():
            weight = getattr(module, 'weight', None)
            if isinstance(weight, torch.Tensor):
                weight.clamp_(-clip_to, clip_to)
    return clip
