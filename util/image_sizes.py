"""Image sizes the generators accept, from the --netG name alone (no network is built).

The data loaders round images to these multiples with --preprocess none, so this lives below data/ and
models/; models.networks re-exports :func:`size_divisor`.
"""
import re

# the generator names whose size constraint is known: resnet_<n>blocks (two stride-2 downsamplings) and
# unet_<size> (as many downsamplings as halvings of <size>, so sides must be multiples of <size>)
_SIZED_GENERATOR = re.compile(r'^(resnet_(\d+)blocks|unet_(\d+))$')


def size_divisor(netG):
    """The multiple that image sides must be for ``netG`` (used to round sizes with --preprocess none)."""
    match = _SIZED_GENERATOR.match(netG or '')
    if match is None:
        return 4
    if match.group(2) is not None:
        return 4
    return int(match.group(3))
