"""CIFAR-100 (32x32, colour) from torchvision's pickled files under --dataroot, for unconditional GANs (Ganzo's
``cifar100``).

    DATAROOT/cifar-100-python/train  (test for --phase test; meta for the class names, optional)

Fetch them once with python -c "import torchvision; torchvision.datasets.CIFAR100(root='DATAROOT', download=True)".
The files are read as they are (no checksum test). Labels are the 100 fine classes.
"""
import os

import torchvision

from data.cifar10_dataset import Cifar10Dataset
from data.unconditional import TorchvisionDataset


class _UncheckedCIFAR100(torchvision.datasets.CIFAR100):
    """torchvision's CIFAR100 without md5 checks; class names from the meta file when it is there."""

    def _check_integrity(self):
        files = self.train_list if self.train else self.test_list
        return all(os.path.isfile(os.path.join(self.root, self.base_folder, f)) for f, _ in files)

    def _load_meta(self):
        if os.path.isfile(os.path.join(self.root, self.base_folder, self.meta['filename'])):
            return super()._load_meta()
        self.classes = [str(i) for i in range(100)]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


class Cifar100Dataset(Cifar10Dataset):
    """Items {'A': image, 'label': 0-99, 'A_paths'}; 32 px colour by default."""

    tv_name = 'CIFAR100'

    @classmethod
    def tv_files(cls, train):
        return [os.path.join('cifar-100-python', 'train' if train else 'test')]

    def tv_dataset(self, train):
        return _UncheckedCIFAR100(self.root, train=train, download=False)

    def files_read(self, train):
        return TorchvisionDataset.files_read(self, train)  # one file a split, not CIFAR-10's batches
