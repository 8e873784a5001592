"""Listing image files of a folder tree, with errors that show the expected layout."""
import os

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.tif', '.tiff', '.webp')


def is_image_file(filename):
    return filename.lower().endswith(IMG_EXTENSIONS)


def list_image_files(directory, recursive=True, skip_dirs=()):
    """Sorted paths of the image files in ``directory``: its whole tree (following links, in sorted walk order,
    leaving out subfolders named in ``skip_dirs``) or, with ``recursive=False``, its top level only.

    The one image listing of the project; a missing folder gives [] and callers say what that means.
    """
    if not recursive:
        if not os.path.isdir(directory):
            return []
        return [os.path.join(directory, f) for f in sorted(os.listdir(directory))
                if is_image_file(f) and os.path.isfile(os.path.join(directory, f))]
    images = []
    for root, dirs, fnames in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)  # in place: prunes and orders the walk
        images.extend(os.path.join(root, fname) for fname in sorted(fnames) if is_image_file(fname))
    return images


def make_dataset(directory, max_dataset_size=float('inf'), layout_hint='', skip_dirs=()):
    """Sorted image paths under ``directory`` (recursively), at most ``max_dataset_size`` of them.

    Subfolders named in ``skip_dirs`` (e.g. auxiliary 'depths' maps) are not listed.
    A missing or empty folder raises FileNotFoundError naming the folder and, if given, the layout expected.
    """
    hint = f'\nexpected layout:\n{layout_hint}' if layout_hint else ''
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"dataset folder '{directory}' does not exist{hint}")
    images = list_image_files(directory, skip_dirs=skip_dirs)
    if not images:
        raise FileNotFoundError(f"dataset folder '{directory}' contains no images "
                                f"({', '.join(IMG_EXTENSIONS)}){hint}")
    return images[:min(max_dataset_size, len(images))]
