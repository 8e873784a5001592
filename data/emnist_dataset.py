"""EMNIST (28x28, grey) from torchvision's files under --dataroot, for unconditional GANs (Ganzo's ``emnist``).

    DATAROOT/EMNIST/raw/emnist-SPLIT-train-images-idx3-ubyte, emnist-SPLIT-train-labels-idx1-ubyte
    (emnist-SPLIT-test-* for --phase test; SPLIT = --emnist_split: letters, digits, balanced, ...)

Fetch them once with python -c "import torchvision; torchvision.datasets.EMNIST(root='DATAROOT', split='letters',
download=True)". The images are used as the files store them (transposed, as torchvision and Ganzo read them).
"""
import os

import torchvision

from data.mnist_dataset import MnistDataset


class EmnistDataset(MnistDataset):
    """Items {'A': character, 'label': class of the split, 'A_paths'}; grey (--output_nc 1) by default."""

    tv_name = 'EMNIST'

    @staticmethod
    def modify_commandline_options(parser, is_train):
        MnistDataset.modify_commandline_options(parser, is_train)
        parser.add_argument('--emnist_split', type=str, default='letters', choices=list(torchvision.datasets.EMNIST.splits),
                            help='dataset_mode emnist: which EMNIST split to read (Ganzo\'s --image-class)')
        return parser

    def tv_files(self, train):
        prefix = f"emnist-{self.opt.emnist_split}-{'train' if train else 'test'}"
        return [os.path.join(self.tv_name, 'raw', f'{prefix}-{kind}') for kind in ('images-idx3-ubyte', 'labels-idx1-ubyte')]

    def fetch_args(self):
        return f"split='{self.opt.emnist_split}', "

    def tv_dataset(self, train):
        return torchvision.datasets.EMNIST(self.root, split=self.opt.emnist_split, train=train, download=False)
