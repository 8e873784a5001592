"""Shared base of the unconditional dataset modes (folder, mnist, fashion_mnist, emnist, cifar10, cifar100, lmdb).

Training items are {'A': image in [-1, 1] of --output_nc channels and --crop_size sides, 'label': class index
(-1 without classes), 'A_paths': a name}. Images are resized to --crop_size x --crop_size (--resize_mode stretch,
bilinear, Ganzo's Resize((s, s))) or scaled so their short side is --crop_size and centre cropped (cover_crop,
bicubic, the DCGAN recipes' Resize + CenterCrop), then flipped with --flip.

At test time (and --num_samples > 0) a mode yields --num_samples items {'z_index': i, 'A_paths':
'sample_000i.png'} instead, from which the model draws reproducible noise: generation needs no data files.
"""
import os
import pickle
from abc import abstractmethod

import torch
from PIL import Image

from data.base_dataset import BaseDataset, to_tensor
from util.errors import BadImageError


def cover_center_crop(img, size):
    """Scale ``img`` so it covers size x size (keeping its proportions), then take the centre square."""
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BICUBIC)
    x, y = (nw - size) // 2, (nh - size) // 2
    return img.crop((x, y, x + size, y + size))


class UnconditionalDataset(BaseDataset):
    """Subclasses implement :meth:`load_train` (set up the items) and :meth:`get_image` (PIL image, label)."""

    def __init__(self, opt):
        super().__init__(opt)
        self.generate = not opt.isTrain and int(getattr(opt, 'num_samples', 0) or 0) > 0
        self.size = int(opt.crop_size)
        self.channels = int(opt.output_nc)
        if self.generate:
            self.n = int(opt.num_samples)
        else:
            self.n = self.load_train()

    @abstractmethod
    def load_train(self):
        """Find the training items; return how many there are (at most --max_dataset_size)."""

    @abstractmethod
    def get_image(self, index):
        """(PIL image, class index or -1, name) of item ``index``."""

    def class_labels(self):
        """The set of class indices of the training items, -1 for items without a class (read without loading
        any image, so a conditional model checks them before training)."""
        return {-1}

    def transform(self, img, index):
        img = img.convert('L' if self.channels == 1 else 'RGB')
        if getattr(self.opt, 'resize_mode', 'stretch') == 'cover_crop':
            img = cover_center_crop(img, self.size)
        elif img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), Image.BILINEAR)
        if not self.opt.no_flip and self.item_rng(index).random() > 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return to_tensor(img)

    def __getitem__(self, index):
        if self.generate:
            return {'z_index': index, 'A_paths': f'sample_{index:04d}.png'}
        img, label, name = self.get_image(index)
        return {'A': self.transform(img, index), 'label': int(label), 'A_paths': name}

    def __len__(self):
        return self.n


class TorchvisionDataset(UnconditionalDataset):
    """A dataset stored as torchvision keeps it (MNIST idx files, CIFAR pickled batches) under --dataroot.

    Nothing is downloaded at run time: missing files are named in the error together with the torchvision call
    that fetches them. Subclasses set ``tv_name`` (the torchvision class) and ``tv_files(train)`` (the files a
    split needs, relative to --dataroot), and may add arguments of that call (``fetch_args``).
    """

    tv_name = None

    @classmethod
    def tv_files(cls, train):
        raise NotImplementedError

    def tv_dataset(self, train):
        raise NotImplementedError

    @classmethod
    def damage(cls, path):
        """Why the file at ``path`` cannot be read (e.g. shorter than its header says), or None when it looks
        whole; called only after torchvision failed, to name the file its error does not name."""
        return None

    def files_read(self, train):
        """Paths of every file the split reads (tv_files: those it needs)."""
        return [os.path.join(self.root, f) for f in self.tv_files(train)]

    def fetch_args(self):
        """Arguments of the torchvision call beside root, train and download (e.g. EMNIST's split)."""
        return ''

    def fetch_command(self, train):
        return (f"python -c \"import torchvision; torchvision.datasets.{self.tv_name}(root='{self.root}', "
                f"{self.fetch_args()}train={train}, download=True)\"")

    def load_train(self):
        train = self.opt.phase == 'train'
        files = [os.path.join(self.root, f) for f in self.tv_files(train)]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise FileNotFoundError(f"--dataset_mode {self.opt.dataset_mode}: missing {', '.join(missing)}; fetch "
                                    f"them once with {self.fetch_command(train)}")
        try:
            self.tv = self.tv_dataset(train)
        except (RuntimeError, ValueError, EOFError, OSError, pickle.UnpicklingError) as exc:  # a truncated download
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            read = self.files_read(train)
            damaged = [(f, why) for f, why in ((f, self.damage(f)) for f in read) if why]
            damaged = damaged or [(' or '.join(read), reason)]
            name, why = damaged[0]
            raise BadImageError(f"--dataset_mode {self.opt.dataset_mode}: cannot read {name} ({why}): it is truncated "
                                f"or corrupt; delete it and download it again with {self.fetch_command(train)}") \
                from exc
        return int(min(len(self.tv), self.opt.max_dataset_size))

    def class_labels(self):
        return set(torch.as_tensor(self.tv.targets[:self.n]).unique().tolist())

    def get_image(self, index):
        img, label = self.tv[index]
        return img, int(label), f'{self.opt.dataset_mode}_{self.opt.phase}_{index:06d}'
