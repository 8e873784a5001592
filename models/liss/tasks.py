"""Auxiliary self-supervised tasks of LiSS: the input transformations, their targets and the heads on top of the
shared encoder.

rotation: 4-way classification of 0/90/180/270 degree rotations of the input;
jigsaw:   classification of which permutation (from a fixed, seeded set) shuffled the grid x grid tiles;
depth:    regression of a one-channel depth map (decoder-shaped head);
gray:     reconstruction of the colour image from its grayscale version (decoder-shaped head).
"""
import itertools
import math

import torch
import torch.nn as nn

from models import networks

AUX_TASKS = ('rotation', 'jigsaw', 'depth', 'gray')


def parse_tasks(text):
    """'rotation, gray' -> ['rotation', 'gray'] (order kept, duplicates dropped); '' or 'none' -> []."""
    if text is None:
        return []
    names = [t.strip().lower() for t in str(text).replace(';', ',').replace(' ', ',').split(',')]
    names = [t for t in names if t and t != 'none']
    unknown = [t for t in names if t not in AUX_TASKS]
    if unknown:
        raise ValueError(f"--auxiliary_tasks: unknown task(s) {', '.join(unknown)}; choose among "
                         f"{', '.join(AUX_TASKS)} (comma separated, or '' for none)")
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------- transformations

def rotation_batch(x):
    """All four rotations of every image: (4N, C, H, W) images and their labels 0..3 (k * 90 degrees)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f'the rotation task needs square images, got {x.shape[-2]}x{x.shape[-1]}; '
                         f'use --preprocess resize_and_crop or crop')
    images = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)], 0)
    labels = torch.arange(4, device=x.device).repeat_interleave(x.shape[0])
    return images, labels


def make_permutations(grid, count, seed):
    """A fixed set of ``count`` distinct tile permutations of a grid x grid puzzle, drawn with ``seed``."""
    n = grid * grid
    total = math.factorial(n)
    if grid < 2:
        raise ValueError(f'--jigsaw_grid must be at least 2 (got {grid})')
    if not 2 <= count <= total:
        raise ValueError(f'--jigsaw_permutations must be between 2 and {total} for a {grid}x{grid} grid (got {count})')
    if total <= 5040 and count == total:
        return torch.tensor(list(itertools.permutations(range(n))), dtype=torch.long)
    generator = torch.Generator().manual_seed(int(seed))
    chosen = {}
    while len(chosen) < count:
        perm = tuple(torch.randperm(n, generator=generator).tolist())
        chosen.setdefault(perm, None)
    return torch.tensor(list(chosen), dtype=torch.long)


def jigsaw_batch(x, permutations, index):
    """Shuffle the tiles of image i with ``permutations[index[i]]``.

    Tiles are (H // grid) pixels square; the few pixels right/below the tiled area (when the size is not a
    multiple of grid) stay in place.
    """
    n = permutations.shape[1]
    grid = int(round(math.sqrt(n)))
    N, C, H, W = x.shape
    th, tw = H // grid, W // grid
    if th < 1 or tw < 1:
        raise ValueError(f'images of {H}x{W} are too small for a {grid}x{grid} jigsaw')
    region = x[:, :, :grid * th, :grid * tw]
    tiles = region.reshape(N, C, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5).reshape(N, n, C, th, tw)
    perm = permutations.to(x.device)[index]  # (N, n): output tile j takes input tile perm[j]
    shuffled = torch.gather(tiles, 1, perm[:, :, None, None, None].expand(-1, -1, C, th, tw))
    shuffled = shuffled.reshape(N, grid, grid, C, th, tw).permute(0, 3, 1, 4, 2, 5).reshape(N, C, grid * th, grid * tw)
    out = x.clone()
    out[:, :, :grid * th, :grid * tw] = shuffled
    return out


def to_gray(x):
    """Luma (ITU-R 601) of images in [-1, 1], repeated over the channels (the encoder's input width)."""
    if x.shape[1] == 1:
        return x
    weights = x.new_tensor([0.299, 0.587, 0.114])
    gray = (x[:, :3] * weights[:, None, None]).sum(1, keepdim=True)
    return gray.expand(-1, x.shape[1], -1, -1).contiguous()


# ---------------------------------------------------------------------------------------------- heads

class ClassifierHead(nn.Module):
    """conv(stride 2)-norm-relu on the encoder features, pooled to a 4x4 grid (position matters for rotation
    and jigsaw, so no global pooling), then a linear classifier."""

    def __init__(self, channels, n_classes, norm_layer):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1, bias=networks.uses_bias(norm_layer)),
            norm_layer(channels), nn.ReLU(True), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.classifier = nn.Linear(channels * 16, n_classes)

    def forward(self, z):
        return self.classifier(self.features(z))


class JigsawHead(ClassifierHead):
    """Classifier over a fixed permutation set, kept as a buffer so that checkpoints carry the set."""

    def __init__(self, channels, norm_layer, grid, count, seed):
        permutations = make_permutations(grid, count, seed)
        super().__init__(channels, len(permutations), norm_layer)
        self.register_buffer('permutations', permutations)


def decoder_head(input_nc, output_nc, ngf, norm_layer):
    """A head shaped like the translation decoder (two upsamplings, 7x7 conv, tanh) with ``output_nc`` channels."""
    resnet = networks.ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, n_blocks=0)
    return networks.split_resnet_generator(resnet)[1]


def build_heads(tasks, input_nc, opt):
    """The auxiliary heads of one generator whose encoder reads ``input_nc`` channels (ngf * 4 features out)."""
    norm_layer = networks.get_norm_layer(opt.norm)
    channels = opt.ngf * 4
    heads = {}
    for task in tasks:
        if task == 'rotation':
            head = ClassifierHead(channels, 4, norm_layer)
        elif task == 'jigsaw':
            head = JigsawHead(channels, norm_layer, opt.jigsaw_grid, opt.jigsaw_permutations, opt.jigsaw_seed)
        elif task == 'depth':
            head = decoder_head(input_nc, 1, opt.ngf, norm_layer)
        else:  # gray: colour back from luma
            if input_nc < 3:
                raise ValueError('the gray task reconstructs colour images; drop it from --auxiliary_tasks '
                                 'with --input_nc/--output_nc 1')
            head = decoder_head(input_nc, input_nc, opt.ngf, norm_layer)
        heads[task] = networks.init_net(head, opt.init_type, opt.init_gain)
    return heads
