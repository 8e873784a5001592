"""CIFAR-10 (32x32, colour) from torchvision's pickled batches under --dataroot, for unconditional GANs.

    DATAROOT/cifar-10-batches-py/data_batch_1 ... data_batch_5  (test_batch for --phase test)

Fetch them once with python -c "import torchvision; torchvision.datasets.CIFAR10(root='DATAROOT', download=True)".
The files are read as they are (no checksum test), so a subset of the batches also works.
"""
import os
import pickle

import torchvision

from data.unconditional import TorchvisionDataset

BATCHES = [f'data_batch_{i}' for i in range(1, 6)]


class _PresentBatchesCIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 reading the batches of the split that exist, without md5 checks."""

    def __init__(self, root, train=True):
        folder = os.path.join(root, self.base_folder)
        self.train_list = [[f, None] for f in BATCHES if os.path.isfile(os.path.join(folder, f))]
        self.test_list = [['test_batch', None]]
        super().__init__(root, train=train, download=False)

    def _check_integrity(self):
        files = self.train_list if self.train else self.test_list
        return bool(files) and all(os.path.isfile(os.path.join(self.root, self.base_folder, f)) for f, _ in files)

    def _load_meta(self):
        path = os.path.join(self.root, self.base_folder, self.meta['filename'])
        if os.path.isfile(path):
            return super()._load_meta()
        self.classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


class Cifar10Dataset(TorchvisionDataset):
    """Items {'A': image, 'label': 0-9, 'A_paths'}; 32 px colour by default."""

    tv_name = 'CIFAR10'

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.set_defaults(output_nc=3, input_nc=3, crop_size=32, load_size=32)
        return parser

    @classmethod
    def tv_files(cls, train):
        if train:  # at least the first batch; the others are read when present
            return [os.path.join('cifar-10-batches-py', BATCHES[0])]
        return [os.path.join('cifar-10-batches-py', 'test_batch')]

    def tv_dataset(self, train):
        return _PresentBatchesCIFAR10(self.root, train=train)

    def files_read(self, train):
        folder = os.path.join(self.root, 'cifar-10-batches-py')
        names = [f for f in BATCHES if os.path.isfile(os.path.join(folder, f))] if train else ['test_batch']
        return [os.path.join(folder, f) for f in names]

    @classmethod
    def damage(cls, path):
        try:
            with open(path, 'rb') as f:
                pickle.load(f, encoding='latin1')
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged batch
            return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return None
