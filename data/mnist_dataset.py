"""MNIST digits (28x28, grey) from torchvision's files under --dataroot, for unconditional GANs.

    DATAROOT/MNIST/raw/train-images-idx3-ubyte, train-labels-idx1-ubyte  (t10k-* for --phase test)

Fetch them once with python -c "import torchvision; torchvision.datasets.MNIST(root='DATAROOT', download=True)".
"""
import os

import numpy as np
import torchvision

from data.unconditional import TorchvisionDataset

IDX_ITEM_BYTES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}  # idx type code -> bytes per value


class _SplitMNIST(torchvision.datasets.MNIST):
    """torchvision's MNIST needing only the files of the split it reads (in DATAROOT/MNIST/raw)."""

    folder = 'MNIST'

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.folder, 'raw')

    def _check_exists(self):
        prefix = 'train' if self.train else 't10k'
        return all(os.path.isfile(os.path.join(self.raw_folder, f'{prefix}-{kind}'))
                   for kind in ('images-idx3-ubyte', 'labels-idx1-ubyte'))


class MnistDataset(TorchvisionDataset):
    """Items {'A': digit, 'label': 0-9, 'A_paths'}; grey (--output_nc 1) by default."""

    tv_name = 'MNIST'
    tv_class = _SplitMNIST

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.set_defaults(output_nc=1, input_nc=1, crop_size=32, load_size=32)
        return parser

    @classmethod
    def tv_files(cls, train):
        prefix = 'train' if train else 't10k'
        return [os.path.join(cls.tv_name, 'raw', f'{prefix}-{kind}') for kind in ('images-idx3-ubyte', 'labels-idx1-ubyte')]

    def tv_dataset(self, train):
        return self.tv_class(self.root, train=train, download=False)

    @classmethod
    def damage(cls, path):
        """An idx file whose size is not what its header (type code, dimensions) announces."""
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b'\0\0' or magic[2] not in IDX_ITEM_BYTES:
                return 'not an idx file'
            dims = np.frombuffer(f.read(4 * magic[3]), '>i4')
        if len(dims) < magic[3]:
            return f'{size} bytes: its header is cut short'
        expected = 4 + 4 * magic[3] + int(np.prod(dims, dtype=np.int64)) * IDX_ITEM_BYTES[magic[2]]
        return None if size == expected else f'{size} bytes where its header announces {expected}'

