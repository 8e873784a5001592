"""The test results page: one table row per test image (input, outputs and targets side by side).

test.py writes its images with :func:`save_images` into a page made by :class:`util.html.HTML`.
"""
import os

from util import util


def save_images(webpage, visuals, image_path, aspect_ratio=1.0, width=256, add_row=True):
    """Save every visual of the first image of a batch as images/<stem>_<label>.png and (``add_row``) add one
    table row (input, outputs and targets side by side, in the model's visual order) to the results page.
    Single-channel visuals (--output_nc 1) are saved as grayscale images. Returns the file names written."""
    image_dir = webpage.get_image_dir()
    path = image_path[0] if isinstance(image_path, (list, tuple)) else image_path
    stem = os.path.splitext(os.path.basename(path))[0]
    ims, txts = [], []
    for label, im_data in visuals.items():
        image_name = f'{stem}_{label}.png'
        util.save_image(util.tensor2im(im_data, keep_gray=True), os.path.join(image_dir, image_name),
                        aspect_ratio=aspect_ratio)
        ims.append(image_name)
        txts.append(label)
    if add_row:
        webpage.add_result_row(stem, ims, txts, width=width)
    return ims

