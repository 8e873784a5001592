"""Unpaired images of two domains in DATAROOT/<phase>A and DATAROOT/<phase>B (CycleGAN datasets)."""
import os

from data.base_dataset import BaseDataset, get_params, get_transform, load_image
from data.image_folder import make_dataset

LAYOUT = '  DATAROOT/trainA/*.jpg  DATAROOT/trainB/*.jpg  (and testA, testB for test.py)'
AUXILIARY_FOLDERS = ('depths',)  # per-image annotations stored beside the images (see unaligned_depth)


class UnalignedDataset(BaseDataset):
    """Returns {'A', 'B', 'A_paths', 'B_paths'}; B is drawn at random unless --serial_batches."""

    def __init__(self, opt):
        super().__init__(opt)
        self.dir_A = os.path.join(opt.dataroot, opt.phase + 'A')
        self.dir_B = os.path.join(opt.dataroot, opt.phase + 'B')
        self.A_paths = make_dataset(self.dir_A, opt.max_dataset_size, LAYOUT, AUXILIARY_FOLDERS)
        self.B_paths = make_dataset(self.dir_B, opt.max_dataset_size, LAYOUT, AUXILIARY_FOLDERS)
        self.A_size = len(self.A_paths)
        self.B_size = len(self.B_paths)
        btoA = opt.direction == 'BtoA'
        self.input_nc = opt.output_nc if btoA else opt.input_nc
        self.output_nc = opt.input_nc if btoA else opt.output_nc

    def __getitem__(self, index):
        rng = self.item_rng(index)
        A_path = self.A_paths[index % self.A_size]
        index_B = index % self.B_size if self.opt.serial_batches else rng.randint(0, self.B_size - 1)
        B_path = self.B_paths[index_B]
        A_img = load_image(A_path)
        B_img = load_image(B_path)
        A = get_transform(self.opt, get_params(self.opt, A_img.size, rng), grayscale=(self.input_nc == 1))(A_img)
        B = get_transform(self.opt, get_params(self.opt, B_img.size, rng), grayscale=(self.output_nc == 1))(B_img)
        return {'A': A, 'B': B, 'A_paths': A_path, 'B_paths': B_path}

    def __len__(self):
        return max(self.A_size, self.B_size)
