"""What the metrics read: image folders (or file lists), image tensors and test.py results folders, turned
into the datasets torch-fidelity takes or paired by file name; and the device they run on."""
import hashlib
import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from data.image_folder import IMG_EXTENSIONS, is_image_file, list_image_files


def device_is_cuda(device):
    if device is None:
        return torch.cuda.is_available()
    kind = torch.device(device).type
    if kind == 'cuda' and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested for metrics but CUDA is not available: use device='cpu'")
    if kind not in ('cpu', 'cuda'):
        raise ValueError(f"metrics run on 'cpu' or 'cuda', not '{device}'")
    return kind == 'cuda'


def list_images(path, suffix='', max_images=None):
    """Sorted image files of folder ``path`` (not recursive) whose stem ends with ``suffix``.

    ``path`` may also be a list of files, which is filtered the same way.
    """
    if isinstance(path, (list, tuple)):
        files = sorted(str(p) for p in path if is_image_file(str(p)) and os.path.isfile(str(p)))
        where = 'the given file list'
    else:
        path = str(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"image folder '{path}' does not exist (give a folder of .png/.jpg images)")
        files = list_image_files(path, recursive=False)
        where = f"'{path}'"
    files = [f for f in files if os.path.splitext(os.path.basename(f))[0].endswith(suffix)]
    if not files:
        what = f"images whose name ends with '{suffix}'" if suffix else 'images'
        raise ValueError(f"no {what} ({'/'.join(e[1:] for e in IMG_EXTENSIONS)}) found in {where}")
    if max_images is not None:
        files = files[:int(max_images)]
    return files


def results_dir_images(results_dir, fake_suffix='_fake_B', real_suffix='_real_B'):
    """Generated and real image files of a test.py results folder.

    Accepts ``results/NAME/<phase>_<epoch>`` or its ``images`` subfolder (where test.py writes
    ``<name>_fake_B.png`` next to ``<name>_real_B.png``). Returns ``(fake_files, real_files)``.
    """
    results_dir = str(results_dir)
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"results folder '{results_dir}' does not exist (run test.py first)")
    images = os.path.join(results_dir, 'images')
    folder = images if os.path.isdir(images) else results_dir
    try:
        fake = list_images(folder, suffix=fake_suffix)
        real = list_images(folder, suffix=real_suffix)
    except ValueError as err:
        subdirs = sorted(d for d in os.listdir(results_dir) if os.path.isdir(os.path.join(results_dir, d, 'images')))
        hint = f"; pick one of its phase folders: {', '.join(subdirs)}" if subdirs else ''
        raise ValueError(f"{err} (results folder '{results_dir}'{hint})") from None
    return fake, real


class _FileImages(Dataset):
    """Image files as 3xHxW uint8 tensors (what torch-fidelity's extractors take)."""

    def __init__(self, files, resize=None):
        self.files = list(files)
        self.resize = resize
        if resize is None:
            sizes = {}
            for f in self.files:
                with Image.open(f) as im:  # header only: cheap even for large folders
                    sizes.setdefault(im.size, f)
                if len(sizes) > 1:
                    (s1, f1), (s2, f2) = list(sizes.items())[:2]
                    raise ValueError(f"images have different sizes ({f1}: {s1[0]}x{s1[1]}, {f2}: {s2[0]}x{s2[1]}): "
                                     "pass resize=SIZE (--resize SIZE) to bring them to one square size")

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            with Image.open(self.files[i]) as im:
                im = im.convert('RGB')
        except OSError as err:
            raise ValueError(f"cannot read image '{self.files[i]}': {err}") from None
        if self.resize:
            import torchvision.transforms.functional as TF
            im = TF.center_crop(TF.resize(im, self.resize), self.resize)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous()


def to_uint8_rgb(images):
    """{1,3}xHxW (or Nx{1,3}xHxW) uint8, or float in [-1, 1] as the models output -> uint8 with 3 channels."""
    if images.dtype != torch.uint8:
        images = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if images.shape[-3] == 1:
        images = images.repeat_interleave(3, dim=-3)
    return images.cpu()


class _TensorImages(Dataset):
    """A Nx{1,3}xHxW tensor (uint8, or float in [-1, 1] as the models output) as uint8 RGB images."""

    def __init__(self, images):
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"image tensor must be Nx3xHxW or Nx1xHxW, got {tuple(images.shape)}")
        self.images = to_uint8_rgb(images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


class DatasetImages(Dataset):
    """The images of a data mode's items (``item[key]`` in [-1, 1], e.g. an unconditional mode's real images) as
    uint8 RGB, read one at a time: the metrics stream a dataset of any size."""

    def __init__(self, dataset, key='A'):
        self.dataset = dataset
        self.key = key

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return to_uint8_rgb(self.dataset[i][self.key])


def as_dataset(images, resize=None, suffix='', max_images=None):
    """Folder, file list, tensor or Dataset -> (Dataset, description used to detect stale caches)."""
    if isinstance(images, torch.Tensor):
        ds = _TensorImages(images[:max_images] if max_images else images)
        return ds, None
    if isinstance(images, Dataset):
        return images, None
    files = list_images(images, suffix=suffix, max_images=max_images)
    listing = [(os.path.realpath(f), os.path.getsize(f), os.stat(f).st_mtime_ns) for f in files]
    fingerprint = hashlib.sha1(repr((listing, resize)).encode()).hexdigest()
    return _FileImages(files, resize=resize), fingerprint


def need(n, what, metric, minimum=2):
    if n < minimum:
        raise ValueError(f"{metric} needs at least {minimum} {what} images, got {n}")


def load_float(path):
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert('RGB'), dtype=np.float32) / 255.0
    except OSError as err:
        raise ValueError(f"cannot read image '{path}': {err}") from None
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)


def match_pairs(generated, real, gen_suffix='', real_suffix=''):
    """Pair generated and real files by file stem (minus the suffixes). Returns [(gen, real), ...] sorted.

    Raises ValueError naming the unmatched files when the two sides differ.
    """
    gen_files = list_images(generated, suffix=gen_suffix)
    real_files = list_images(real, suffix=real_suffix)

    def by_key(files, suffix):
        out = {}
        for f in files:
            stem = os.path.splitext(os.path.basename(f))[0]
            out[stem[:len(stem) - len(suffix)] if suffix else stem] = f
        return out
    g, r = by_key(gen_files, gen_suffix), by_key(real_files, real_suffix)
    only_g, only_r = sorted(set(g) - set(r)), sorted(set(r) - set(g))
    if only_g or only_r:
        raise ValueError(f"generated and real images do not pair up by name: {len(only_g)} without a real image "
                         f"{only_g[:3]}, {len(only_r)} without a generated image {only_r[:3]}")
    return [(g[k], r[k]) for k in sorted(g)]
