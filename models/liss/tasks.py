"""Auxiliary self-supervised tasks of LiSS: the input transformations, their targets and the heads on top of the
shared encoder.

rotation: 4-way classification of 0/90/180/270 degree rotations of the input;
jigsaw:   which permutation of a fixed set shuffled the 3x3 tiles of a random crop (222 px in the paper);
depth:    regression of a one-channel depth map, log(1 / depth) normalised as in the paper;
gray:     reconstruction of the colour image from its grayscale version (L1, plus an adversarial term).

The published code sorts the tasks by priority (rotation < jigsaw < depth < gray) whatever order
--auxiliary_tasks gives; sequential schedules follow that order.
"""
import itertools
import math

import torch
import torch.nn as nn

from models import networks

AUX_TASKS = ('rotation', 'jigsaw', 'depth', 'gray')  # also the published priority order

# The fixed jigsaw permutation set of the published code (data/base_dataset.py): output tile j of a 3x3 puzzle
# (row-major) takes input tile PUBLISHED_PERMUTATIONS[k][j]; the head classifies k.
PUBLISHED_PERMUTATIONS = (
    (3, 1, 7, 6, 8, 0, 4, 2, 5), (5, 2, 3, 4, 1, 0, 8, 7, 6), (2, 6, 7, 5, 0, 3, 4, 1, 8), (5, 7, 4, 6, 1, 8, 3, 2, 0),
    (2, 8, 7, 4, 5, 1, 0, 6, 3), (1, 8, 0, 5, 2, 6, 3, 7, 4), (3, 2, 1, 6, 7, 5, 4, 8, 0), (8, 5, 3, 7, 0, 6, 2, 1, 4),
    (4, 1, 5, 0, 7, 2, 8, 6, 3), (6, 8, 0, 3, 7, 2, 1, 4, 5), (1, 2, 5, 0, 6, 3, 8, 7, 4), (8, 6, 7, 1, 0, 5, 2, 3, 4),
    (4, 8, 6, 2, 1, 7, 5, 0, 3), (4, 6, 8, 1, 7, 2, 3, 5, 0), (6, 7, 4, 3, 8, 2, 0, 1, 5), (0, 5, 8, 4, 6, 1, 2, 3, 7),
    (0, 5, 7, 1, 4, 8, 6, 2, 3), (7, 8, 6, 5, 0, 3, 2, 4, 1), (5, 1, 4, 2, 3, 7, 6, 8, 0), (7, 3, 2, 1, 6, 5, 0, 4, 8),
    (1, 8, 7, 4, 6, 0, 5, 3, 2), (5, 7, 8, 1, 6, 3, 4, 0, 2), (0, 6, 1, 2, 8, 7, 5, 3, 4), (2, 4, 3, 6, 1, 5, 7, 0, 8),
    (4, 2, 8, 0, 1, 3, 7, 5, 6), (2, 4, 1, 3, 8, 0, 7, 5, 6), (7, 0, 2, 4, 1, 5, 3, 6, 8), (1, 6, 4, 7, 2, 3, 0, 5, 8),
    (1, 2, 4, 0, 7, 5, 8, 3, 6), (1, 2, 0, 7, 4, 8, 5, 3, 6), (0, 2, 6, 7, 4, 8, 5, 1, 3), (4, 0, 2, 8, 5, 6, 1, 7, 3),
    (0, 7, 5, 6, 8, 1, 3, 4, 2), (6, 0, 3, 2, 4, 1, 8, 5, 7), (7, 8, 2, 3, 6, 4, 0, 5, 1), (2, 3, 8, 4, 1, 7, 0, 6, 5),
    (7, 2, 1, 6, 5, 4, 0, 3, 8), (0, 6, 5, 8, 1, 2, 3, 4, 7), (3, 6, 1, 0, 8, 7, 2, 5, 4), (0, 1, 4, 8, 6, 5, 3, 7, 2),
    (0, 8, 1, 5, 3, 4, 2, 7, 6), (8, 4, 6, 3, 0, 2, 7, 1, 5), (7, 3, 4, 6, 5, 0, 2, 8, 1), (5, 2, 1, 7, 0, 6, 3, 4, 8),
    (6, 4, 5, 1, 2, 8, 3, 0, 7), (6, 2, 8, 1, 5, 4, 3, 0, 7), (0, 1, 3, 5, 8, 2, 7, 4, 6), (3, 2, 1, 4, 8, 6, 5, 0, 7),
    (1, 3, 0, 6, 2, 5, 8, 7, 4), (5, 0, 4, 2, 8, 6, 7, 3, 1), (1, 7, 0, 4, 8, 2, 5, 6, 3), (6, 3, 4, 7, 0, 8, 1, 5, 2),
    (8, 5, 4, 0, 6, 7, 1, 2, 3), (1, 2, 4, 3, 7, 5, 0, 8, 6), (5, 4, 8, 2, 3, 7, 1, 0, 6), (3, 7, 6, 5, 0, 8, 2, 1, 4),
    (3, 8, 2, 1, 5, 6, 4, 0, 7), (0, 2, 8, 6, 3, 7, 5, 1, 4), (6, 0, 2, 4, 8, 1, 3, 7, 5), (2, 8, 7, 5, 6, 1, 4, 0, 3),
    (3, 8, 2, 5, 0, 6, 7, 4, 1), (5, 0, 1, 2, 4, 7, 3, 6, 8), (0, 6, 7, 5, 1, 2, 4, 8, 3), (5, 8, 0, 6, 1, 2, 7, 4, 3),
)
PUBLISHED_JIGSAW_CROP, PUBLISHED_CROP_SIZE = 222, 256


def parse_tasks(text, order='sorted'):
    """'gray, rotation' -> ['rotation', 'gray'] (order 'sorted': the published priority order; 'given': as
    written); duplicates dropped; '' or 'none' -> []."""
    if text is None:
        return []
    names = [t.strip().lower() for t in str(text).replace(';', ',').replace(' ', ',').split(',')]
    names = [t for t in names if t and t != 'none']
    unknown = [t for t in names if t not in AUX_TASKS]
    if unknown:
        raise ValueError(f"--auxiliary_tasks: unknown task(s) {', '.join(unknown)}; choose among "
                         f"{', '.join(AUX_TASKS)} (comma separated, or '' for none)")
    names = list(dict.fromkeys(names))
    if order == 'sorted':
        names.sort(key=AUX_TASKS.index)
    return names


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
    if grid < 2:
        raise ValueError(f'--jigsaw_grid must be at least 2 (got {grid})')
    total = math.factorial(n)
    if not 2 <= count <= total:
        raise ValueError(f'--jigsaw_permutations must be between 2 and {total} for a {grid}x{grid} grid (got {count})')
    if total <= 5040 and count == total:
        return torch.tensor(list(itertools.permutations(range(n))), dtype=torch.long)
    generator = torch.Generator().manual_seed(int(seed))
    chosen = {}
    while len(chosen) < count:
        chosen.setdefault(tuple(torch.randperm(n, generator=generator).tolist()), None)
    return torch.tensor(list(chosen), dtype=torch.long)


def jigsaw_permutations(kind, grid, count, seed):
    """The permutation set: 'published' (the paper's fixed 64 permutations of a 3x3 grid) or 'seeded'."""
    if kind == 'published':
        if grid != 3 or count != len(PUBLISHED_PERMUTATIONS):
            raise ValueError(f'--jigsaw_set published is the paper\'s 64 permutations of a 3x3 grid; use '
                             f'--jigsaw_set seeded for --jigsaw_grid {grid} --jigsaw_permutations {count}')
        return torch.tensor(PUBLISHED_PERMUTATIONS, dtype=torch.long)
    if kind == 'seeded':
        return make_permutations(grid, count, seed)
    raise ValueError(f"unknown --jigsaw_set '{kind}'; choose published or seeded")


def jigsaw_crop_size(opt):
    """Side of the square crop the puzzle is cut from: --jigsaw_crop, or with 0 the published 222/256 of
    --crop_size rounded down to a multiple of --jigsaw_grid (222 at 256 px, 27 at 32 px)."""
    grid, image = int(opt.jigsaw_grid), int(opt.crop_size)
    crop = int(opt.jigsaw_crop)
    if crop <= 0:
        crop = image * PUBLISHED_JIGSAW_CROP // PUBLISHED_CROP_SIZE // grid * grid
    if crop < grid or crop > image:
        raise ValueError(f'--jigsaw_crop {opt.jigsaw_crop} does not fit: the puzzle crop must be between '
                         f'--jigsaw_grid ({grid}) and --crop_size ({image}) pixels; pass --jigsaw_crop 0 to scale '
                         f'the published 222 px with --crop_size')
    return crop


def jigsaw_batch(x, permutations, index, crop=None, generator=None):
    """Cut a ``crop`` px square at a random place of image i and shuffle its tiles with ``permutations[index[i]]``.

    Output tile j (row-major) takes input tile ``perm[j]``. Tiles are (crop // grid) pixels square, so the
    output is grid * (crop // grid) pixels square; ``crop`` None uses the whole image (tiles in place, the
    few pixels right of / below the tiled area unchanged). ``generator`` draws the crop positions.
    """
    n = permutations.shape[1]
    grid = int(round(math.sqrt(n)))
    N, C, H, W = x.shape
    if crop is not None:
        if crop > H or crop > W:
            raise ValueError(f'the jigsaw crop ({crop} px) is larger than the images ({H}x{W})')
        tops = torch.randint(H - crop + 1, (N,), generator=generator).tolist()
        lefts = torch.randint(W - crop + 1, (N,), generator=generator).tolist()
        x = torch.stack([x[i, :, t:t + crop, l:l + crop] for i, (t, l) in enumerate(zip(tops, lefts))])
        N, C, H, W = x.shape
    th, tw = H // grid, W // grid
    if th < 1 or tw < 1:
        raise ValueError(f'images of {H}x{W} are too small for a {grid}x{grid} jigsaw')
    region = x[:, :, :grid * th, :grid * tw]
    tiles = region.reshape(N, C, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5).reshape(N, n, C, th, tw)
    perm = permutations.to(x.device)[index]  # (N, n): output tile j takes input tile perm[j]
    shuffled = torch.gather(tiles, 1, perm[:, :, None, None, None].expand(-1, -1, C, th, tw))
    shuffled = shuffled.reshape(N, grid, grid, C, th, tw).permute(0, 3, 1, 4, 2, 5).reshape(N, C, grid * th, grid * tw)
    if crop is not None:
        return shuffled
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


def depth_target(depth, kind='log'):
    """The depth head's target from a loaded depth map in [-1, 1] (8-bit d/255 mapped linearly).

    'log': the published target, (log(1 / (d/255 + 1e-6)) - 2) / 2; 'linear': the map as loaded.
    """
    if kind == 'linear':
        return depth
    if kind != 'log':
        raise ValueError(f"unknown --depth_target '{kind}'; choose log or linear")
    d = (depth.float() + 1.0) / 2.0  # = d / 255 of the 8-bit map
    return (torch.log(1.0 / (d + 1e-6)) - 2.0) / 2.0


# ---------------------------------------------------------------------------------------------- heads

def encoder_size(image_size):
    """Spatial side of the encoder's features (two stride-2, padding-1, 3x3 convolutions) for square images."""
    size = int(image_size)
    for _ in range(2):
        size = (size + 1) // 2
    return size


class ClassifierHead(nn.Module):
    """The published rotation/jigsaw head: three stride-2 3x3 convolutions (channels, channels, channels / 2;
    norm, leaky ReLU 0.2; a 2x2 max-pool after the second) then one linear layer on the flattened map.

    ``in_size`` is the side of the images the head classifies; the linear layer's width follows from it (4x4
    maps for 256 px rotations and 222 px jigsaw crops, as in the paper). On images under 128 px, a stride or
    the max-pool that would shrink the map below 2x2 is left out (normalising a 1x1 map would zero it).
    """

    def __init__(self, channels, n_classes, norm_layer, in_size):
        super().__init__()
        use_bias = networks.uses_bias(norm_layer)
        half = max(channels // 2, 1)
        size = encoder_size(in_size)
        if size < 2:
            raise ValueError(f'{in_size} px images are too small for the rotation/jigsaw heads; use --crop_size '
                             f'8 or more (and a larger --jigsaw_crop)')
        layers = []
        for i, (c_in, c_out) in enumerate(((channels, channels), (channels, channels), (channels, half))):
            stride = 2 if (size + 1) // 2 >= 2 else 1
            size = (size + 1) // 2 if stride == 2 else size
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=use_bias or i == 0),
                       norm_layer(c_out), nn.LeakyReLU(0.2, True)]
            if i == 1 and size // 2 >= 2:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Linear(half * size * size, n_classes)

    def forward(self, z):
        return self.classifier(self.features(z))


class JigsawHead(ClassifierHead):
    """Classifier over a fixed permutation set, kept as a buffer so that checkpoints carry the set."""

    def __init__(self, channels, norm_layer, permutations, in_size):
        super().__init__(channels, len(permutations), norm_layer, in_size)
        self.register_buffer('permutations', permutations)


def decoder_head(input_nc, output_nc, ngf, norm_layer, n_blocks=0, tanh=True):
    """A head shaped like the translation decoder: ``n_blocks`` residual blocks, two upsamplings, a 7x7 conv to
    ``output_nc`` channels, then tanh unless ``tanh`` is False (the published depth head has none)."""
    resnet = networks.ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, n_blocks=n_blocks)
    layers = list(resnet.model)
    start = next(i for i, layer in enumerate(layers)
                 if isinstance(layer, (networks.ResnetBlock, nn.ConvTranspose2d)))
    head = resnet.model[start:]
    if not tanh:
        head = head[:-1]
    return head


def build_heads(tasks, input_nc, opt, n_blocks=0):
    """The auxiliary heads of one generator whose encoder reads ``input_nc`` channels (ngf * 4 features out);
    ``n_blocks`` residual blocks open the depth and gray heads (3 with --netG liss)."""
    norm_layer = networks.get_norm_layer(opt.norm)
    channels = opt.ngf * 4
    heads = {}
    for task in tasks:
        if task == 'rotation':
            head = ClassifierHead(channels, 4, norm_layer, opt.crop_size)
        elif task == 'jigsaw':
            permutations = jigsaw_permutations(opt.jigsaw_set, opt.jigsaw_grid, opt.jigsaw_permutations,
                                               opt.jigsaw_seed)
            grid = opt.jigsaw_grid
            head = JigsawHead(channels, norm_layer, permutations, jigsaw_crop_size(opt) // grid * grid)
        elif task == 'depth':
            head = decoder_head(input_nc, 1, opt.ngf, norm_layer, n_blocks, tanh=False)
        else:  # gray: colour back from luma
            if input_nc < 3:
                raise ValueError('the gray task reconstructs colour images; drop it from --auxiliary_tasks '
                                 'with --input_nc/--output_nc 1')
            head = decoder_head(input_nc, input_nc, opt.ngf, norm_layer, n_blocks)
        heads[task] = networks.init_net(head, opt.init_type, opt.init_gain)
    return heads
