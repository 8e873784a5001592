"""A folder of images, or of class subfolders, for unconditional GANs (Ganzo's ``folder`` dataset).

    DATAROOT/*.png                      unlabelled images (any depth)
    DATAROOT/<class>/*.png              one subfolder per class (labels are the sorted subfolder names)
    DATAROOT/<phase>/...                either of the above under --phase (train) when that folder exists

--image_class NAME keeps the images of one class subfolder.
"""
import os

from data.base_dataset import load_image
from data.image_folder import is_image_file, make_dataset
from data.unconditional import UnconditionalDataset

LAYOUT = '  DATAROOT/*.png  or  DATAROOT/<class>/*.png  (optionally under DATAROOT/<phase>/)'


class FolderDataset(UnconditionalDataset):
    """Items {'A': image, 'label': class index (-1 without class folders), 'A_paths': path}."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument('--image_class', type=str, default=None,
                            help='dataset_mode folder: train on the images of this class subfolder only')
        return parser

    def load_train(self):
        root = self.root
        if root is None:
            raise FileNotFoundError('--dataset_mode folder needs --dataroot, a folder of images or of class folders')
        if os.path.isdir(os.path.join(root, self.opt.phase)):
            root = os.path.join(root, self.opt.phase)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"dataset folder '{root}' does not exist\nexpected layout:\n{LAYOUT}")
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        image_class = getattr(self.opt, 'image_class', None)
        if image_class:
            if image_class not in self.classes:
                raise FileNotFoundError(f"--image_class {image_class}: no class folder '{os.path.join(root, image_class)}' "
                                        f"(classes: {', '.join(self.classes) or 'none, the folder has no subfolders'})")
            folder = os.path.join(root, image_class)
            if not any(is_image_file(f) for _, _, files in os.walk(folder, followlinks=True) for f in files):
                raise FileNotFoundError(f"--image_class {image_class}: the class folder '{folder}' contains no images")
            self.paths = make_dataset(folder, self.opt.max_dataset_size)
            self.labels = [self.classes.index(image_class)] * len(self.paths)
        else:
            self.paths = make_dataset(root, self.opt.max_dataset_size, LAYOUT)
            self.labels = [self._label(root, p) for p in self.paths]
        return len(self.paths)

    def _label(self, root, path):
        top = os.path.relpath(path, root).split(os.sep)[0]
        return self.classes.index(top) if top in self.classes else -1

    def class_labels(self):
        return set(self.labels)

    def get_image(self, index):
        return load_image(self.paths[index]), self.labels[index], self.paths[index]
