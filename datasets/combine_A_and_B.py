"""Combine two folders of corresponding images into an aligned (A|B side by side) dataset.

Input layout (the same split subfolders and file names on both sides)::

    fold_A/train/1.jpg   fold_B/train/1.jpg   ->   fold_AB/train/1.jpg  (A left, B right)
    fold_A/test/2.png    fold_B/test/2.png    ->   fold_AB/test/2.png

With ``--use_AB`` the pairs are named ``x_A.ext`` / ``x_B.ext`` and the output is ``x.ext``.
The result is what the ``aligned`` dataset mode (pix2pix) reads.

Example::

    python datasets/combine_A_and_B.py --fold_A path/A --fold_B path/B --fold_AB datasets/mydata

Images of different sizes are an error unless ``--resize B_to_A`` (resize B to A's size)
or ``--resize square`` with ``--size N`` (resize both to N x N) is given.
"""

import argparse
import importlib.util
import multiprocessing
import os
import sys

from PIL import Image


def _image_folder():
    """The project's data/image_folder.py (the one IMG_EXTENSIONS), loaded by path: this script runs as
    ``python datasets/combine_A_and_B.py`` without the repository on sys.path, and that module needs only os."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "image_folder.py")
    spec = importlib.util.spec_from_file_location("_zoo_image_folder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


is_image_file = _image_folder().is_image_file


def load_rgb(path):
    """Open an image as RGB (or L when grayscale), with a one-line error for unreadable files."""
    try:
        with Image.open(path) as img:
            img.load()
            # Palette/alpha/16-bit modes cannot be pasted side by side reliably: normalise.
            return img.convert("L") if img.mode in ("L", "1") else img.convert("RGB")
    except FileNotFoundError:
        raise
    except Exception as exc:  # PIL raises many types for corrupt files
        raise ValueError(f"cannot read image {path}: {exc}; replace or delete the file") from exc


def concat_side_by_side(img_a, img_b):
    """Return a new image with img_a on the left and img_b on the right (same height required)."""
    if img_a.mode != img_b.mode:
        img_a, img_b = img_a.convert("RGB"), img_b.convert("RGB")
    if img_a.height != img_b.height:
        raise ValueError(f"heights differ ({img_a.height} vs {img_b.height})")
    out = Image.new(img_a.mode, (img_a.width + img_b.width, img_a.height))
    out.paste(img_a, (0, 0))
    out.paste(img_b, (img_a.width, 0))
    return out


def save_image_atomic(img, path, jpeg_quality=95):
    """Save through a temp file + rename, so an interrupted run never leaves a half-written image."""
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise ValueError(f"unsupported output extension {ext!r} for {path}")
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    kwargs = {"quality": jpeg_quality} if fmt == "JPEG" else {}
    try:
        img.save(tmp, format=fmt, **kwargs)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def combine_pair(job):
    """Worker: read one A/B pair, check/resize sizes, write the AB image. Returns the output path."""
    path_a, path_b, path_ab, resize, size = job
    img_a, img_b = load_rgb(path_a), load_rgb(path_b)
    if resize == "square":
        img_a = img_a.resize((size, size), Image.BICUBIC)
        img_b = img_b.resize((size, size), Image.BICUBIC)
    elif img_a.size != img_b.size:
        if resize == "B_to_A":
            img_b = img_b.resize(img_a.size, Image.BICUBIC)
        else:
            raise ValueError(
                f"size mismatch: {path_a} is {img_a.width}x{img_a.height} but {path_b} is "
                f"{img_b.width}x{img_b.height}; pass --resize B_to_A (resize B to A's size) "
                f"or --resize square --size N (resize both to N x N)")
    save_image_atomic(concat_side_by_side(img_a, img_b), path_ab)
    return path_ab


def b_name_for(name_a, use_ab):
    """File name of the B image matching A image ``name_a`` (None when A does not follow *_A.ext)."""
    if not use_ab:
        return name_a
    stem, ext = os.path.splitext(name_a)
    return stem[:-2] + "_B" + ext if stem.endswith("_A") else None


def ab_name_for(name_a, use_ab):
    if not use_ab:
        return name_a
    stem, ext = os.path.splitext(name_a)
    return stem[:-2] + ext


def plan_jobs(fold_a, fold_b, fold_ab, num_imgs=None, use_ab=False, resize="none", size=256,
              log=print):
    """List (A, B, AB, resize, size) jobs for every split folder present in both fold_A and fold_B.

    A images without a B counterpart are skipped with a warning; no pairs at all is an error.
    """
    for label, folder in (("--fold_A", fold_a), ("--fold_B", fold_b)):
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{label} folder {folder} does not exist")
    splits = sorted(d for d in os.listdir(fold_a) if os.path.isdir(os.path.join(fold_a, d)))
    if not splits:
        raise ValueError(f"{fold_a} has no split subfolders; put the images in e.g. "
                         f"{os.path.join(fold_a, 'train')} and {os.path.join(fold_b, 'train')}")
    jobs = []
    for split in splits:
        dir_b = os.path.join(fold_b, split)
        if not os.path.isdir(dir_b):
            log(f"warning: skipping split '{split}': {dir_b} does not exist")
            continue
        names = sorted(n for n in os.listdir(os.path.join(fold_a, split)) if is_image_file(n))
        if use_ab:
            names = [n for n in names if b_name_for(n, True) is not None]
        if num_imgs is not None:
            names = names[:num_imgs]
        missing = []
        for name in names:
            path_b = os.path.join(dir_b, b_name_for(name, use_ab))
            if not os.path.isfile(path_b):
                missing.append(name)
                continue
            jobs.append((os.path.join(fold_a, split, name), path_b,
                         os.path.join(fold_ab, split, ab_name_for(name, use_ab)), resize, size))
        log(f"split '{split}': {len(names) - len(missing)} pairs"
            + (f", {len(missing)} A images without a B image skipped (e.g. {missing[0]})"
               if missing else ""))
    if not jobs:
        raise ValueError(f"no matching image pairs found between {fold_a} and {fold_b}: "
                         f"they need the same split subfolders and file names"
                         + (" (x_A.ext / x_B.ext with --use_AB)" if use_ab else ""))
    return jobs


def run_jobs(fn, jobs, multiprocess=True, num_workers=None):
    """``[fn(job) for job in jobs]``, spread over a process pool when several cores and jobs exist."""
    workers = num_workers or os.cpu_count() or 1
    if multiprocess and workers > 1 and len(jobs) > 1:
        with multiprocessing.Pool(min(workers, len(jobs))) as pool:
            return pool.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    return [fn(job) for job in jobs]


def combine(fold_a, fold_b, fold_ab, num_imgs=None, use_ab=False, resize="none", size=256,
            multiprocess=True, num_workers=None, log=print):
    """Create the aligned dataset; returns the list of written paths."""
    if resize == "square" and (size is None or size <= 0):
        raise ValueError("--resize square needs a positive --size")
    jobs = plan_jobs(fold_a, fold_b, fold_ab, num_imgs, use_ab, resize, size, log)
    for split_dir in sorted({os.path.dirname(j[2]) for j in jobs}):
        os.makedirs(split_dir, exist_ok=True)
    written = run_jobs(combine_pair, jobs, multiprocess, num_workers)
    log(f"wrote {len(written)} aligned images to {fold_ab}")
    return written


def build_parser():
    p = argparse.ArgumentParser(description="Combine folders A and B into aligned A|B images.")
    p.add_argument("--fold_A", required=True, help="input folder A with split subfolders (train, test, ...)")
    p.add_argument("--fold_B", required=True, help="input folder B with the same split subfolders and file names")
    p.add_argument("--fold_AB", required=True, help="output folder; gets the same split subfolders")
    p.add_argument("--num_imgs", type=int, default=None, help="at most this many images per split (default: all)")
    p.add_argument("--use_AB", action="store_true", help="pairs are named x_A.ext / x_B.ext; output is x.ext")
    p.add_argument("--resize", choices=["none", "B_to_A", "square"], default="none",
                   help="none: different sizes are an error; B_to_A: resize B to A's size; "
                        "square: resize both to --size x --size")
    p.add_argument("--size", type=int, default=256, help="side length for --resize square")
    p.add_argument("--no_multiprocessing", action="store_true", help="process images in this process only")
    p.add_argument("--num_workers", type=int, default=None, help="worker processes (default: CPU count)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        combine(args.fold_A, args.fold_B, args.fold_AB, args.num_imgs, args.use_AB, args.resize,
                args.size, not args.no_multiprocessing, args.num_workers)
    except (ValueError, FileNotFoundError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
