"""Listing image files of a folder tree, with errors that show the expected layout."""
import os

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.tif', '.tiff', '.webp')


def is_image_file(filename):
    return filename.lower().endswith(IMG_EXTENSIONS)


def make_dataset(directory, max_dataset_size=float('inf'), layout_hint=''):
    """Sorted image paths under ``directory`` (recursively), at most ``max_dataset_size`` of them.

    A missing or empty folder raises FileNotFoundError naming the folder and, if given, the layout expected.
    """
    hint = f'\nexpected layout:\n{layout_hint}' if layout_hint else ''
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"dataset folder '{directory}' does not exist{hint}")
    images = []
    for root, _, fnames in sorted(os.walk(directory, followlinks=True)):
        for fname in sorted(fnames):
            if is_image_file(fname):
                images.append(os.path.join(root, fname))
    if not images:
        raise FileNotFoundError(f"dataset folder '{directory}' contains no images "
                                f"({', '.join(IMG_EXTENSIONS)}){hint}")
    return images[:min(max_dataset_size, len(images))]
