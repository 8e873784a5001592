"""Build the aligned pix2pix Cityscapes dataset (photo | color label map) from the official files.

Cityscapes may not be redistributed, so it cannot be downloaded by our scripts. Get it yourself:
register at https://www.cityscapes-dataset.com, download ``gtFine_trainvaltest.zip`` and
``leftImg8bit_trainvaltest.zip``, unzip both, then run::

    python datasets/prepare_cityscapes_dataset.py --gtFine_dir PATH/gtFine \\
        --leftImg8bit_dir PATH/leftImg8bit --output_dir datasets/cityscapes

For every ``gtFine/<phase>/<city>/<id>_gtFine_color.png`` the matching photo
``leftImg8bit/<phase>/<city>/<id>_leftImg8bit.png`` is found; both are resized to
``--size`` x ``--size`` and written side by side (A = photo on the left, B = label on the
right) as ``<output_dir>/<phase>/<id>.jpg``. Train label->photo with ``--direction BtoA``.
"""

import argparse
import os
import sys

from PIL import Image

# combine_A_and_B lives next to this file; make it importable however this script is started.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from combine_A_and_B import concat_side_by_side, load_rgb, run_jobs, save_image_atomic  # noqa: E402

LABEL_SUFFIX = "_gtFine_color.png"
PHOTO_SUFFIX = "_leftImg8bit.png"


def convert_pair(job):
    """Worker: resize photo (bicubic) and label (nearest, keeps the exact class colors) and save."""
    photo_path, label_path, out_path, size = job
    photo = load_rgb(photo_path).convert("RGB").resize((size, size), Image.BICUBIC)
    label = load_rgb(label_path).convert("RGB").resize((size, size), Image.NEAREST)
    save_image_atomic(concat_side_by_side(photo, label), out_path)
    return out_path


def plan_jobs(gtfine_dir, leftimg_dir, output_dir, phases, size, ext="jpg", log=print):
    """Pair every color label map with its photo; labels without a photo are skipped with a warning."""
    hint = ("download and unzip gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip "
            "from https://www.cityscapes-dataset.com")
    for label, folder in (("--gtFine_dir", gtfine_dir), ("--leftImg8bit_dir", leftimg_dir)):
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{label} folder {folder} does not exist; {hint}")
    jobs = []
    for phase in phases:
        label_root = os.path.join(gtfine_dir, phase)
        if not os.path.isdir(label_root):
            raise FileNotFoundError(f"{label_root} does not exist; --gtFine_dir must be the gtFine "
                                    f"folder that contains {', '.join(phases)}")
        found, missing = 0, []
        for city in sorted(os.listdir(label_root)):
            city_dir = os.path.join(label_root, city)
            if not os.path.isdir(city_dir):
                continue
            for name in sorted(os.listdir(city_dir)):
                if not name.endswith(LABEL_SUFFIX):
                    continue
                image_id = name[: -len(LABEL_SUFFIX)]
                photo = os.path.join(leftimg_dir, phase, city, image_id + PHOTO_SUFFIX)
                if not os.path.isfile(photo):
                    missing.append(photo)
                    continue
                found += 1
                jobs.append((photo, os.path.join(city_dir, name),
                             os.path.join(output_dir, phase, f"{image_id}.{ext}"), size))
        log(f"{phase}: {found} pairs" + (f", {len(missing)} labels without a photo skipped "
                                         f"(e.g. {missing[0]})" if missing else ""))
    if not jobs:
        raise ValueError(f"no *{LABEL_SUFFIX} label maps with matching *{PHOTO_SUFFIX} photos found "
                         f"under {gtfine_dir} and {leftimg_dir} for phases {', '.join(phases)}")
    return jobs


def prepare(gtfine_dir, leftimg_dir, output_dir, phases=("train", "val"), size=256, ext="jpg",
            multiprocess=True, num_workers=None, log=print):
    """Write the aligned dataset; returns the list of written paths."""
    if size <= 0:
        raise ValueError("--size must be positive")
    jobs = plan_jobs(gtfine_dir, leftimg_dir, output_dir, phases, size, ext, log)
    for phase in phases:
        os.makedirs(os.path.join(output_dir, phase), exist_ok=True)
    written = run_jobs(convert_pair, jobs, multiprocess, num_workers)
    log(f"wrote {len(written)} aligned images to {output_dir}")
    return written


def build_parser():
    p = argparse.ArgumentParser(description="Make aligned photo|label pairs from Cityscapes.")
    p.add_argument("--gtFine_dir", required=True, help="the unzipped gtFine folder (has train/, val/)")
    p.add_argument("--leftImg8bit_dir", required=True, help="the unzipped leftImg8bit folder (has train/, val/)")
    p.add_argument("--output_dir", default="./datasets/cityscapes", help="where the aligned dataset is written")
    p.add_argument("--phases", nargs="+", default=["train", "val"], help="splits to convert")
    p.add_argument("--size", type=int, default=256, help="both images are resized to size x size")
    p.add_argument("--ext", choices=["jpg", "png"], default="jpg",
                   help="output format (png keeps label colors exact; jpg is smaller)")
    p.add_argument("--no_multiprocessing", action="store_true", help="process images in this process only")
    p.add_argument("--num_workers", type=int, default=None, help="worker processes (default: CPU count)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        prepare(args.gtFine_dir, args.leftImg8bit_dir, args.output_dir, args.phases, args.size,
                args.ext, not args.no_multiprocessing, args.num_workers)
    except (ValueError, FileNotFoundError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
