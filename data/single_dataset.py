"""One folder of images, for one-directional inference (--model test) and unconditional models."""
from data.base_dataset import BaseDataset, get_params, get_transform, load_image
from data.image_folder import make_dataset

LAYOUT = '  DATAROOT/*.jpg  (any folder of images; point --dataroot at e.g. datasets/horse2zebra/testA)'


class SingleDataset(BaseDataset):
    """Returns {'A', 'A_paths'} for every image under --dataroot."""

    def __init__(self, opt):
        super().__init__(opt)
        self.A_paths = make_dataset(opt.dataroot, opt.max_dataset_size, LAYOUT)
        self.input_nc = opt.output_nc if opt.direction == 'BtoA' else opt.input_nc

    def __getitem__(self, index):
        A_path = self.A_paths[index]
        A_img = load_image(A_path)
        params = get_params(self.opt, A_img.size, self.item_rng(index))
        A = get_transform(self.opt, params, grayscale=(self.input_nc == 1))(A_img)
        return {'A': A, 'A_paths': A_path}

    def __len__(self):
        return len(self.A_paths)
