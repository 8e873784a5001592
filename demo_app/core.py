"""What every page of the demo app shares: the loaded run, image conversions and checks, timed inference."""
import os
import threading
import time

import numpy as np
import torch
from PIL import Image

from data.base_dataset import _to_mode
from data.image_folder import is_image_file
from options.inference_options import load_trained_model
from util.errors import AppInputError  # noqa: F401 - re-exported for the pages


class Session:
    """One trained run loaded once: its options, its model (weights loaded, networks placed with --amp /
    --channels_last as in test.py) and a lock so that concurrent requests do not share the model's inputs."""

    def __init__(self, args):
        self.args = list(args)
        self.opt, self.model = load_trained_model(self.args)
        self.lock = threading.Lock()
        self.last_latency_ms = None

    def with_run(self, name, epoch=None):
        """A new Session of run ``name`` (and ``epoch``) with this session's other options."""
        args, skip = [], False
        for i, arg in enumerate(self.args):
            if skip:
                skip = False
                continue
            flag = arg.split('=', 1)[0]
            if flag == '--name' or (epoch and flag == '--epoch'):
                skip = '=' not in arg
                continue
            args.append(arg)
        args += ['--name', name] + (['--epoch', str(epoch)] if epoch else [])
        return Session(args)

    @property
    def device(self):
        return self.opt.device

    def to_input(self, tensor):
        """A (1, C, H, W) batch on the model's device and memory format."""
        return self.model.to_device(tensor)

    def run(self, fn, seed=None):
        """``fn()`` under the lock, without gradients, in the model's autocast (--amp), seeding the global RNG
        when ``seed`` is given (dropout, stochastic samples); records the latency in ms."""
        with self.lock:
            t0 = time.perf_counter()
            if seed is not None:
                torch.manual_seed(int(seed))
            with torch.inference_mode(), self.model.autocast():
                out = fn()
            self.last_latency_ms = 1000 * (time.perf_counter() - t0)
        return out

    def test_images(self, subfolder=''):
        """Image files of the run's test split (``<dataroot>/<phase><subfolder>``), sorted; [] when absent."""
        root = getattr(self.opt, 'dataroot', None)
        if not root:
            return []
        folder = os.path.join(root, self.opt.phase + subfolder)
        if not os.path.isdir(folder):
            return []
        return sorted(os.path.join(folder, f) for f in os.listdir(folder) if is_image_file(f))


# ---------------------------------------------------------------------------------------------- images

CHANNEL_NAMES = {1: 'grayscale', 2: 'grayscale with alpha', 3: 'RGB', 4: 'RGBA'}


def as_uint8(image):
    """An uploaded image (numpy HxW / HxWxC, or PIL) -> uint8 numpy array (HxW or HxWxC)."""
    if image is None:
        raise AppInputError('no image: upload one or pick one from the test folder')
    if isinstance(image, Image.Image):
        image = np.asarray(image)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise AppInputError(f'expected an image, got an array of shape {tuple(image.shape)}')
    if image.dtype != np.uint8:
        image = np.clip(image.astype(np.float64) * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return image


def channels_of(image):
    return 1 if image.ndim == 2 else image.shape[2]


def to_pil(image, channels, what='this run\'s generator'):
    """uint8 image -> PIL image in the mode of ``channels`` (1: L, 3: RGB); AppInputError for a channel count
    the generator cannot take. Alpha is composited onto white (as the data loaders do)."""
    image = as_uint8(image)
    have = channels_of(image)
    colour = have in (3, 4)
    if (channels == 3 and not colour) or (channels == 1 and colour):
        need = CHANNEL_NAMES.get(channels, f'{channels}-channel')
        raise AppInputError(f'{what} takes {need} images ({channels} channel{"s" if channels > 1 else ""}), but this '
                            f'image is {CHANNEL_NAMES[have]} ({have} channel{"s" if have > 1 else ""}); convert it '
                            f'to {need} first')
    if channels not in (1, 3):
        raise AppInputError(f'{what} takes {channels}-channel inputs, which the app cannot build from an image')
    mode = {1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}[have]
    return _to_mode(Image.fromarray(image, mode), 'L' if channels == 1 else 'RGB')


def round_size(size, multiple):
    return max(multiple, int(round(size / multiple)) * multiple)


def pil_to_tensor(img, size, multiple=1):
    """PIL image -> (1, C, size, size) tensor in [-1, 1] (bicubic resize, as test.py's --preprocess resize)."""
    side = round_size(size, multiple)
    img = img.resize((side, side), Image.BICUBIC)
    array = np.asarray(img, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())[None] / 127.5 - 1.0


def tensor_to_image(tensor):
    """(1, C, H, W) or (C, H, W) tensor in [-1, 1] -> uint8 HxWx3 (or HxW for one channel) numpy image."""
    t = tensor.detach().float().cpu()
    if t.dim() == 4:
        t = t[0]
    t = ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if t.shape[0] == 1:
        return t[0].numpy()
    return t[:3].permute(1, 2, 0).contiguous().numpy()


def load_input_half(path, dataset_mode, direction):
    """A test image as the generator's input: for aligned A|B pairs the half that --direction reads from."""
    with Image.open(path) as img:
        img.load()
        img = _to_mode(img, 'RGB')
    if dataset_mode == 'aligned':
        w, h = img.size
        half = w // 2
        img = img.crop((0, 0, half, h)) if direction == 'AtoB' else img.crop((half, 0, w, h))
    return np.asarray(img)
