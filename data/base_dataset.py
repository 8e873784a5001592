"""Base class of the dataset modes, and the image loading and augmentation they share.

Random augmentation (crop position, flip) is drawn from a generator seeded by (--seed, epoch, index), so
an item looks the same whatever the number of loader workers and whether the run was resumed.
"""
import random
from abc import ABC, abstractmethod

import numpy as np
import torch
from PIL import Image

from util.errors import BadImageError
from util.image_sizes import size_divisor


def load_image(path, mode='RGB'):
    """Open an image as 8-bit RGB or L.

    16-bit images are scaled to 8 bits, transparency is composited onto white, palettes are expanded;
    an unreadable file raises BadImageError with its path.
    """
    try:
        with Image.open(path) as img:
            img.load()
            return _to_mode(img, mode)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImageError(f"cannot read image '{path}' ({exc}); replace or delete it, "
                            f"or pass --skip_bad_images") from exc


def _to_mode(img, mode):
    if img.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I'):
        array = np.asarray(img, dtype=np.float64)
        if array.max() > 255:
            array = array / 257.0
        img = Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), 'L')
    elif img.mode == 'F':
        array = np.asarray(img, dtype=np.float64)
        scale = 255.0 if array.max() <= 1.0 else 1.0
        img = Image.fromarray(np.clip(np.rint(array * scale), 0, 255).astype(np.uint8), 'L')
    if img.mode == 'P':
        img = img.convert('RGBA')
    if img.mode in ('RGBA', 'LA', 'PA'):
        rgba = img.convert('RGBA')
        background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert(mode)


class BaseDataset(torch.utils.data.Dataset, ABC):
    """A dataset mode: subclasses load items as dicts of tensors and paths, see data/aligned_dataset.py."""

    def __init__(self, opt):
        self.opt = opt
        self.root = opt.dataroot
        self.epoch = 0

    @staticmethod
    def modify_commandline_options(parser, is_train):
        """Add dataset-specific options or change defaults of existing ones."""
        return parser

    @abstractmethod
    def __len__(self):
        """Number of items in one epoch."""

    @abstractmethod
    def __getitem__(self, index):
        """Return a dict of tensors (and their paths) for ``index``."""

    def item_rng(self, index):
        """The random generator for augmenting item ``index`` in the current epoch."""
        return random.Random(hash((int(self.opt.seed), int(self.epoch), int(index))))


def get_params(opt, size, rng):
    """Draw the crop position and flip for an image of ``size`` (w, h) from ``rng``."""
    w, h = size
    new_w, new_h = w, h
    if opt.preprocess == 'resize_and_crop':
        new_w = new_h = opt.load_size
    elif opt.preprocess == 'scale_width_and_crop':
        new_w = opt.load_size
        new_h = opt.load_size * h // w
    x = rng.randint(0, max(0, new_w - opt.crop_size))
    y = rng.randint(0, max(0, new_h - opt.crop_size))
    flip = rng.random() > 0.5
    return {'crop_pos': (x, y), 'flip': flip}


def get_transform(opt, params, grayscale=False, method=Image.BICUBIC, convert=True):
    """A function PIL image -> tensor in [-1, 1] applying --preprocess with the given crop/flip ``params``.

    Paired images transformed with the same params get the same crop and flip.
    """
    divisor = size_divisor(getattr(opt, 'netG', None))

    def transform(img):
        if grayscale:
            img = img.convert('L')
        if 'resize' in opt.preprocess:
            img = img.resize((opt.load_size, opt.load_size), method)
        elif 'scale_width' in opt.preprocess:
            img = _scale_width(img, opt.load_size, opt.crop_size, method)
        if 'crop' in opt.preprocess:
            img = _crop(img, params['crop_pos'], opt.crop_size, method)
        else:
            img = _round_to_multiple(img, divisor, method)
        if not opt.no_flip and params['flip']:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        if not convert:
            return img
        return to_tensor(img)

    return transform


def to_tensor(img):
    """PIL image -> float tensor CxHxW in [-1, 1] (converted from uint8 in torch: half the time of a float
    NumPy round trip in a loader worker, the same values)."""
    array = np.array(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1).to(torch.float32).div_(127.5).sub_(1.0).contiguous()


def _round_to_multiple(img, base, method):
    """Resize so both sides are multiples of ``base`` (what the generator's down/upsamplings need)."""
    ow, oh = img.size
    w = max(base, int(round(ow / base) * base))
    h = max(base, int(round(oh / base) * base))
    if (w, h) == (ow, oh):
        return img
    return img.resize((w, h), method)


def _scale_width(img, target_size, crop_size, method):
    ow, oh = img.size
    if ow == target_size and oh >= crop_size:
        return img
    w = target_size
    h = int(max(target_size * oh / ow, crop_size))
    return img.resize((w, h), method)


def _crop(img, pos, size, method):
    ow, oh = img.size
    if ow < size or oh < size:
        scale = size / min(ow, oh)
        img = img.resize((max(size, round(ow * scale)), max(size, round(oh * scale))), method)
        ow, oh = img.size
    x = min(pos[0], ow - size)
    y = min(pos[1], oh - size)
    return img.crop((x, y, x + size, y + size))
