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
MODE_CHANNELS = {'L': 1, 'LA': 2, 'RGB': 3, 'RGBA': 4}


def as_uint8(image):
    """An uploaded numpy image (HxW / HxWxC) -> uint8 array: 16-bit values are scaled (65535 is white), floats
    in [0, 1] stretched, others clipped to [0, 255]."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise AppInputError(f'expected an image, got an array of shape {tuple(image.shape)}')
    if image.dtype == np.uint16:
        image = np.rint(image / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image.astype(np.float64) * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return image


def as_pil(image):
    """An upload (a PIL image of any mode, as Gradio passes it, or a numpy array) -> PIL image in mode L, LA, RGB
    or RGBA: 16-bit and float greys are scaled as the data loaders do (data/base_dataset.py: _to_mode), a palette
    image becomes the colours of its palette (with its transparency), other modes RGB."""
    if image is None:
        raise AppInputError('no image: upload one or pick one from the test folder')
    if not isinstance(image, Image.Image):
        array = as_uint8(image)
        return Image.fromarray(array, {1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}[channels_of(array)])
    if image.mode in MODE_CHANNELS:
        return image
    if image.mode in ('P', 'PA'):
        transparent = image.mode == 'PA' or 'transparency' in image.info
        return image.convert('RGBA' if transparent else 'RGB')
    if image.mode in ('1', 'I', 'F') or image.mode.startswith('I;16'):
        return _to_mode(image, 'L')
    return image.convert('RGB')  # CMYK, YCbCr, LAB, HSV...


def channels_of(image):
    if isinstance(image, Image.Image):
        return MODE_CHANNELS[image.mode]
    return 1 if image.ndim == 2 else image.shape[2]


def to_pil(image, channels, what='this run\'s generator'):
    """An upload -> PIL image in the mode of ``channels`` (1: L, 3: RGB); colour is converted to grey for a
    grayscale generator, grey is refused by a colour one (AppInputError: the run expects colour photos). Alpha is
    composited onto white (as the data loaders do)."""
    img = as_pil(image)
    have = channels_of(img)
    if channels == 3 and have in (1, 2):
        raise AppInputError(f'{what} takes RGB images (3 channels), but this image is {CHANNEL_NAMES[have]} '
                            f'({have} channel{"s" if have > 1 else ""}); convert it to RGB first')
    if channels not in (1, 3):
        raise AppInputError(f'{what} takes {channels}-channel inputs, which the app cannot build from an image')
    return _to_mode(img, 'L' if channels == 1 else 'RGB')


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
