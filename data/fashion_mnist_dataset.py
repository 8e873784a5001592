"""Fashion-MNIST (28x28, grey) from torchvision's files under --dataroot, for unconditional GANs.

    DATAROOT/FashionMNIST/raw/train-images-idx3-ubyte, train-labels-idx1-ubyte  (t10k-* for --phase test)

Fetch them once with python -c "import torchvision; torchvision.datasets.FashionMNIST(root='DATAROOT', download=True)".
"""
import torchvision

from data.mnist_dataset import MnistDataset, _SplitMNIST


class _SplitFashionMNIST(_SplitMNIST):
    resources = torchvision.datasets.FashionMNIST.resources
    classes = torchvision.datasets.FashionMNIST.classes
    folder = 'FashionMNIST'


class FashionMnistDataset(MnistDataset):
    """Items {'A': garment, 'label': 0-9, 'A_paths'}; grey (--output_nc 1) by default."""

    tv_name = 'FashionMNIST'
    tv_class = _SplitFashionMNIST
