"""Normalisation layers and weight initialisation shared by every network."""
import functools

import torch.nn as nn
from torch.nn import init


class Identity(nn.Module):
    def forward(self, x):
        return x


NORM_TYPES = ('batch', 'instance', 'syncbatch', 'none')


def get_norm_layer(norm_type='instance'):
    """Return a constructor ``norm(num_features)`` for the named normalisation.

    ``syncbatch`` builds ordinary BatchNorm2d layers (same parameters and key names); distributed
    training converts them to SyncBatchNorm once the process group exists.
    """
    if norm_type in ('batch', 'syncbatch'):
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == 'instance':
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == 'none':
        return lambda num_features: Identity()
    raise ValueError(f"unknown --norm '{norm_type}'; choose one of {', '.join(NORM_TYPES)}")


def uses_bias(norm_layer):
    """Convolutions followed by batch norm need no bias (the norm has one); all others do."""
    if isinstance(norm_layer, functools.partial):
        return norm_layer.func is not nn.BatchNorm2d
    return norm_layer is not nn.BatchNorm2d


INIT_TYPES = ('normal', 'xavier', 'kaiming', 'orthogonal')


def init_weights(net, init_type='normal', init_gain=0.02):
    """Initialise conv/linear weights with the named scheme and norm weights with N(1, init_gain)."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"unknown --init_type '{init_type}'; choose one of {', '.join(INIT_TYPES)}")

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and m.weight is not None and (classname.find('Conv') != -1 or classname.find('Linear') != -1):
            if init_type == 'normal':
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == 'xavier':
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == 'kaiming':
                init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
            else:
                init.orthogonal_(m.weight.data, gain=init_gain)
            if hasattr(m, 'bias') and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find('BatchNorm2d') != -1 and m.weight is not None:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net


def init_net(net, init_type='normal', init_gain=0.02):
    """Initialise a network's weights. Device placement and parallel wrapping are BaseModel's job."""
    return init_weights(net, init_type, init_gain)
