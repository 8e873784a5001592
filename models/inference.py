"""Facts about trained networks that inference tools need (the demo app, the exporter)."""
import torch.nn as nn


def size_multiple(module):
    """2 ** (stride-2 convolutions and pools in ``module``): the image sides a fully convolutional generator
    accepts are multiples of this (4 for resnet_<n>blocks, 2 ** n for unet_<2 ** n>)."""
    downs = 0
    for m in module.modules():
        stride = getattr(m, 'stride', None)
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and stride is not None:
            if (stride if isinstance(stride, int) else stride[0]) == 2:
                downs += 1
    return 2 ** downs
