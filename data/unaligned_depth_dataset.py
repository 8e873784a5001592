"""Unpaired images of two domains plus one depth map per image, for the depth task of LiSS.

Depth maps live beside the images, in DATAROOT/<phase>A/depths and DATAROOT/<phase>B/depths, with the same
file stem as their image and any image format (e.g. trainA/horse1.jpg -> trainA/depths/horse1.png). They are
loaded as one channel in [-1, 1] and cropped/flipped exactly like their image.
"""
import os

from data.base_dataset import BaseDataset, get_params, get_transform, load_image
from data.image_folder import is_image_file, make_dataset

DEPTH_DIR = 'depths'
LAYOUT = ('  DATAROOT/trainA/*.jpg  DATAROOT/trainA/depths/*.png  (same stems)\n'
          '  DATAROOT/trainB/*.jpg  DATAROOT/trainB/depths/*.png  (and val/test splits alike)')


def depth_index(image_dir):
    """stem -> depth map path for every image file in ``image_dir/depths`` (empty when the folder is absent)."""
    depth_dir = os.path.join(image_dir, DEPTH_DIR)
    if not os.path.isdir(depth_dir):
        return {}
    return {os.path.splitext(f)[0]: os.path.join(depth_dir, f) for f in sorted(os.listdir(depth_dir))
            if is_image_file(f)}


def wants_depth(opt):
    """Depth maps are required while training a model whose --auxiliary_tasks include depth."""
    tasks = str(getattr(opt, 'auxiliary_tasks', '') or '').replace(' ', ',').split(',')
    return bool(opt.isTrain) and 'depth' in [t.strip().lower() for t in tasks]


class UnalignedDepthDataset(BaseDataset):
    """Returns {'A', 'B', 'A_paths', 'B_paths'} like unaligned, plus 'A_depth', 'B_depth' (1xHxW) when the
    depth task is on (a missing depth map is then an error naming the file expected)."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument('--load_depth', type=str, default='auto', choices=['auto', 'always', 'never'],
                            help='load depth maps: auto = when training with the depth auxiliary task')
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.dir_A = os.path.join(opt.dataroot, opt.phase + 'A')
        self.dir_B = os.path.join(opt.dataroot, opt.phase + 'B')
        # the depth maps sit inside the image folders: keep them out of the image lists
        self.A_paths = self._images(self.dir_A)
        self.B_paths = self._images(self.dir_B)
        self.A_size, self.B_size = len(self.A_paths), len(self.B_paths)
        btoA = opt.direction == 'BtoA'
        self.input_nc = opt.output_nc if btoA else opt.input_nc
        self.output_nc = opt.input_nc if btoA else opt.output_nc
        mode = getattr(opt, 'load_depth', 'auto')
        self.load_depth = mode == 'always' or (mode == 'auto' and wants_depth(opt))
        if self.load_depth:
            self.depth_A = self._match_depths(self.dir_A, self.A_paths)
            self.depth_B = self._match_depths(self.dir_B, self.B_paths)

    def _images(self, directory):
        return make_dataset(directory, self.opt.max_dataset_size, LAYOUT, skip_dirs=(DEPTH_DIR,))

    @staticmethod
    def _match_depths(directory, paths):
        index = depth_index(directory)
        depths = []
        for path in paths:
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem not in index:
                raise FileNotFoundError(
                    f"no depth map for '{path}': expected {os.path.join(directory, DEPTH_DIR, stem)}.<png|jpg|...>; "
                    f"add it (datasets/make_synthetic_dataset.py --kind unpaired --depth writes them for synthetic "
                    f"data) or drop depth from --auxiliary_tasks")
            depths.append(index[stem])
        return depths

    def __getitem__(self, index):
        rng = self.item_rng(index)
        index_A = index % self.A_size
        index_B = index % self.B_size if self.opt.serial_batches else rng.randint(0, self.B_size - 1)
        A_path, B_path = self.A_paths[index_A], self.B_paths[index_B]
        A_img, B_img = load_image(A_path), load_image(B_path)
        params_A = get_params(self.opt, A_img.size, rng)
        params_B = get_params(self.opt, B_img.size, rng)
        item = {'A': get_transform(self.opt, params_A, grayscale=(self.input_nc == 1))(A_img),
                'B': get_transform(self.opt, params_B, grayscale=(self.output_nc == 1))(B_img),
                'A_paths': A_path, 'B_paths': B_path}
        if self.load_depth:
            for key, params, depth_path, size in (('A_depth', params_A, self.depth_A[index_A], A_img.size),
                                                  ('B_depth', params_B, self.depth_B[index_B], B_img.size)):
                depth = load_image(depth_path, mode='L')
                if depth.size != size:  # depth estimators often work at their own resolution
                    depth = depth.resize(size)
                item[key] = get_transform(self.opt, params, grayscale=True)(depth)
        return item

    def __len__(self):
        return max(self.A_size, self.B_size)
