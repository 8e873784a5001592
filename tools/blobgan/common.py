"""Helpers shared by the BlobGAN tools (FID, encoder training, inversion, counterfactuals)."""
import os
import random

import numpy as np
import torch
from PIL import Image

from data.blobgan_dataset import RESIZE_MODES, resize_to_shape
from data.image_folder import IMG_EXTENSIONS, list_image_files


def resolve_device(name):
    """'auto' -> cuda when available else cpu; a clear error for cuda without a GPU."""
    if name in (None, 'auto'):
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    dev = torch.device(name)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but no CUDA GPU is available; use --device cpu")
    return dev


def list_images(folder, n=None, shuffle=False, seed=0):
    """Sorted (optionally shuffled) image files under ``folder`` (recursive), at most ``n``."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    files = sorted(list_image_files(folder))
    if not files:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) under {folder!r}')
    if shuffle:
        random.Random(seed).shuffle(files)
    return files[:n] if n else files


def load_cropped(path, height, width, mode='published'):
    """Image resized to height x width by ``mode`` (data.blobgan_dataset.RESIZE_MODES; 'published': LANCZOS shorter
    side + centre crop for square generators, LANCZOS stretch for 2:1 ones, as BlobGANEX's scripts load real images;
    'cover': bicubic cover-resize + centre crop) as a float tensor (3,H,W) in [-1, 1]."""
    try:
        with Image.open(path) as im:
            im = im.convert('RGB')
    except OSError as err:
        raise ValueError(f'cannot read image {path!r}: {err}') from None
    im = resize_to_shape(im, height, width, mode)
    arr = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    return torch.from_numpy(arr.copy())


def add_resize_arg(p):
    p.add_argument('--image_resize', default='published', choices=RESIZE_MODES,
                   help="how real images become the generator's shape: 'published' (LANCZOS shorter side + centre "
                        "crop for square generators, LANCZOS stretch for 2:1 ones, as BlobGANEX's scripts), "
                        "'shorter_side', 'stretch', or 'cover' (bicubic cover-resize + centre crop, earlier here)")
    return p


class FolderImages(torch.utils.data.Dataset):
    """Images of a folder resized to the generator's shape (``mode`` as load_cropped): (tensor in [-1,1], name)."""

    def __init__(self, files, height, width, mode='published'):
        self.files, self.height, self.width, self.mode = list(files), height, width, mode

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return load_cropped(self.files[i], self.height, self.width, self.mode), os.path.basename(self.files[i])


class Uint8Images(torch.utils.data.Dataset):
    """FolderImages as 3xHxW uint8 tensors (what torch-fidelity reads)."""

    def __init__(self, files, height, width):
        self.inner = FolderImages(files, height, width)

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        img, _ = self.inner[i]
        return ((img + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def infinite_batches(dataset, batch_size, seed=0):
    """Endless shuffled batches (epochs reshuffled with a private generator)."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=gen,
                                             drop_last=len(dataset) >= batch_size)
        yield from loader


def save_grid(rows, path, pad=2):
    """Saves rows of image batches (each (N,3,H,W) in [-1,1], same N) as one PNG: one row per batch."""
    rows = [r.detach().float().cpu().clamp(-1, 1) for r in rows]
    n, _, h, w = rows[0].shape
    canvas = torch.ones(3, len(rows) * (h + pad) + pad, n * (w + pad) + pad)
    for i, row in enumerate(rows):
        for j in range(n):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            canvas[:, y:y + h, x:x + w] = (row[j] + 1) / 2
    arr = (canvas.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def save_images(images, folder, names):
    """Writes each image of a batch in [-1,1] as a PNG named by ``names``."""
    os.makedirs(folder, exist_ok=True)
    for img, name in zip(images.detach().float().cpu().clamp(-1, 1), names):
        arr = ((img + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(os.path.join(folder, name))


def to_cpu(obj):
    """Detached CPU copy of nested dicts/lists of tensors (for metadata files)."""
    if torch.is_tensor(obj):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_cpu(v) for v in obj]
    return obj
