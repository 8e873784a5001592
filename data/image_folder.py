"""Listing image files of a folder tree, with errors that show the expected layout."""
import os

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.tif', '.tiff', '.webp')


def is_image_file(filename):
    return filename.lower().endswith(IMG_EXTENSIONS)


def make_dataset(directory, max_dataset_size=float('inf'), layout_hint='', skip_dirs=()):
    """Sorted image paths under ``directory`` (recursively), at most ``max_dataset_size`` of them.

    Subfolders named in ``skip_dirs`` (e.g. auxiliary 'depths' maps) are not listed.
    A missing or empty folder raises FileNotFoundError naming the folder and, if given, the layout expected.
    """
    hint = f'\nexpected layout:\n{layout_hint}' if layout_hint else ''
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"dataset folder '{directory}' does not exist{hint}")
    images = []
    for root, dirs, fnames in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)  # in place: prunes and orders the walk
        for fname in sorted(fnames):
            if is_image_file(fname):
                images.append(os.path.join(root, fname))
    if not images:
        raise FileNotFoundError(f"dataset folder '{directory}' contains no images "
                                f"({', '.join(IMG_EXTENSIONS)}){hint}")
    return images[:min(max_dataset_size, len(images))]
