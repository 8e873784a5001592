"""Dataset mode for unconditional BlobGAN: a folder of images for training, noise indices for generation.

Training items are resized to crop_size x (crop_size * aspect_ratio) as ``--blob_resize`` says (published: the
shorter side with LANCZOS and a centre crop for square images, as dave-epstein/blobgan; a LANCZOS stretch to the
box for rectangular ones, as BlobGANEX), then flipped with the per-item generator. At test time the mode yields
``--num_samples`` items {'z_index', 'A_paths'} from which the model draws reproducible noise.
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


RESIZE_MODES = ('published', 'shorter_side', 'stretch', 'cover')


def shorter_side_crop(img, height, width):
    """torchvision's Resize(shorter side, LANCZOS) + CenterCrop, generalised to a height x width box: scale with
    LANCZOS until the image just covers the box (the other side truncated to an int, as torchvision does), then
    crop the centre (offsets rounded as torchvision's CenterCrop)."""
    ow, oh = img.size
    if ow * height >= oh * width:
        nw, nh = max(width, int(height * ow / oh)), height
    else:
        nw, nh = width, max(height, int(width * oh / ow))
    if (nw, nh) != (ow, oh):
        img = img.resize((nw, nh), Image.LANCZOS)
    x, y = int(round((nw - width) / 2.0)), int(round((nh - height) / 2.0))
    return img.crop((x, y, x + width, y + height))


def resize_to_shape(img, height, width, mode='published', rng=None):
    """``img`` as height x width by one of RESIZE_MODES: 'shorter_side' (dave-epstein/blobgan), 'stretch' (LANCZOS
    to exactly the box, ignoring the aspect ratio: BlobGANEX), 'published' (shorter_side for square boxes, stretch
    otherwise: what both published loaders do) or 'cover' (bicubic cover-resize, then a crop drawn from ``rng``, or
    the centre without one)."""
    if mode not in RESIZE_MODES:
        raise ValueError(f'unknown BlobGAN resize mode {mode!r}: choose from {", ".join(RESIZE_MODES)}')
    if mode == 'published':
        mode = 'shorter_side' if height == width else 'stretch'
    if mode == 'stretch':
        return img if img.size == (width, height) else img.resize((width, height), Image.LANCZOS)
    if mode == 'shorter_side':
        return shorter_side_crop(img, height, width)
    return cover_crop(img, height, width, rng, random_crop=rng is not None)


class BlobganDataset(BaseDataset):
    """Train: {'A': image, 'A_paths': path}; test: {'z_index': i, 'A_paths': 'sample_000i.png'}."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument('--blob_resize', default='published', choices=RESIZE_MODES,
                            help="how training images become crop_size x crop_size*aspect_ratio: 'published' "
                                 "(square: shorter side LANCZOS + centre crop as dave-epstein/blobgan; 2:1: LANCZOS "
                                 "stretch as BlobGANEX), 'shorter_side', 'stretch', or 'cover' (bicubic cover-resize "
                                 "+ random crop, centre crop with --preprocess none; this project's earlier loader)")
        return parser

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
        mode = getattr(self.opt, 'blob_resize', 'published')
        img = resize_to_shape(img, *self.shape, mode, rng if self.opt.preprocess != 'none' else None)
        if not self.opt.no_flip and rng.random() > 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return {'A': to_tensor(img), 'A_paths': self.paths[index]}

    def __len__(self):
        return self.n
