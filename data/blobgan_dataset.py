"""Dataset mode for unconditional BlobGAN: a folder of images for training, noise indices for generation.

Training items are resized so they cover a crop_size x (crop_size * aspect_ratio) box (rectangular images such
as 256x512 keep their proportions) and randomly cropped/flipped with the per-item generator. At test time
the mode yields ``--num_samples`` items {'z_index', 'A_paths'} from which the model draws reproducible noise.
"""
from PIL import Image

from data.base_dataset import BaseDataset, load_image, to_tensor
from data.image_folder import make_dataset

LAYOUT = '  DATAROOT/**/*.jpg|png  (any folder of images, searched recursively)'


def image_shape(opt):
    """(height, width) of the images BlobGAN is trained on."""
    h = int(opt.crop_size)
    w = h * float(getattr(opt, 'aspect_ratio', 1.0))
    if abs(w - round(w)) > 1e-6:
        raise ValueError(f'--crop_size {h} times --aspect_ratio {opt.aspect_ratio} must be a whole number of pixels')
    return h, int(round(w))


def cover_crop(img, height, width, rng, random_crop=True):
    """Scale ``img`` to cover height x width (keeping its proportions), then crop that box."""
    ow, oh = img.size
    scale = max(width / ow, height / oh)
    nw, nh = max(width, round(ow * scale)), max(height, round(oh * scale))
    if (nw, nh) != (ow, oh):
        img = img.resize((nw, nh), Image.BICUBIC)
    x = rng.randint(0, nw - width) if random_crop else (nw - width) // 2
    y = rng.randint(0, nh - height) if random_crop else (nh - height) // 2
    return img.crop((x, y, x + width, y + height))


class BlobganDataset(BaseDataset):
    """Train: {'A': image, 'A_paths': path}; test: {'z_index': i, 'A_paths': 'sample_000i.png'}."""

    def __init__(self, opt):
        super().__init__(opt)
        self.generate = not opt.isTrain
        if self.generate:
            self.n = int(getattr(opt, 'num_samples', 0) or 0)
            if self.n < 1:
                raise ValueError('--num_samples must be at least 1 to generate samples with --model blobgan')
        else:
            self.paths = make_dataset(opt.dataroot, opt.max_dataset_size, LAYOUT)
            self.n = len(self.paths)
        self.shape = image_shape(opt)

    def __getitem__(self, index):
        if self.generate:
            return {'z_index': index, 'A_paths': f'sample_{index:04d}.png'}
        rng = self.item_rng(index)
        img = load_image(self.paths[index])
        img = cover_crop(img, *self.shape, rng, random_crop=self.opt.preprocess != 'none')
        if not self.opt.no_flip and rng.random() > 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return {'A': to_tensor(img), 'A_paths': self.paths[index]}

    def __len__(self):
        return self.n
