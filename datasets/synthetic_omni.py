"""Synthetic four-domain omni dataset (no download): street-like scenes for rf, rn, sf, sn.

Each scene has sky, ground and a few box "buildings"; flooded domains (rf, sf) have a water layer at the
bottom; simulated domains (sf, sn) use flat colours, real ones (rf, rn) add texture noise. Labels are
consistent with the image: depth grows towards the horizon, height is the building height, segmentation
uses Cityscapes-like ids (0 road, 2 building, 8 vegetation, 10 sky, 255 ignore for water), water is a mask.

Files are laid out as a folder per category (Data, Depth, Segmentation, Height, Flood) per domain, exactly
what tools/omnigan/process_data.py expects, and the lists <domain>_train / <domain>_val are written next to them.
Real domains carry pseudo-labels d, s (and w for rf) as images; simulated ones d, s, h as .npy arrays and w.
"""
import os
import sys

import numpy as np
from PIL import Image

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data.omni_dataset import DOMAINS, items_from_folders, relative_items, write_list  # noqa: E402

ROAD, BUILDING, VEGETATION, SKY, IGNORE = 0, 2, 8, 10, 255
# which labels each domain gets, and in which file format
_LABELS = {
    "rf": {"d": "png", "s": "png", "w": "png"},
    "rn": {"d": "png", "s": "png"},
    "sf": {"d": "npy", "s": "npy", "h": "npy", "w": "png"},
    "sn": {"d": "npy", "s": "npy", "h": "npy", "w": "png"},
}
_FOLDERS = {"x": "Data", "d": "Depth", "s": "Segmentation", "h": "Height", "w": "Flood"}


def _scene(rng, size, flooded, simulated):
    """One scene: (rgb uint8 HxWx3, depth float, seg int, height float, water mask float)."""
    h = w = size
    ys = np.arange(h, dtype=np.float32)[:, None].repeat(w, 1)
    horizon = int(rng.uniform(0.3, 0.5) * h)
    seg = np.where(ys < horizon, SKY, ROAD).astype(np.int64)
    depth = np.where(ys < horizon, 1.0, 1.0 - (ys - horizon) / max(1, h - horizon) * 0.9).astype(np.float32)
    height = np.zeros((h, w), np.float32)
    rgb = np.zeros((h, w, 3), np.float32)
    sky = np.array([110, 160, 230]) + rng.uniform(-20, 20, 3)
    ground = np.array([90, 90, 95]) + rng.uniform(-15, 15, 3)
    rgb[:] = np.where((ys < horizon)[..., None], sky, ground)
    for _ in range(rng.randint(1, 4)):
        bw = rng.randint(size // 8, size // 3)
        bh = rng.randint(size // 6, horizon + size // 8)
        x0 = rng.randint(0, w - bw)
        bottom = min(h, horizon + rng.randint(size // 16, size // 5))
        top = max(0, bottom - bh)
        cls = BUILDING if rng.rand() < 0.7 else VEGETATION
        color = (np.array([150, 120, 100]) if cls == BUILDING else np.array([60, 140, 60])) + rng.uniform(-30, 30, 3)
        rgb[top:bottom, x0:x0 + bw] = color
        seg[top:bottom, x0:x0 + bw] = cls
        depth[top:bottom, x0:x0 + bw] = 1.0 - (bottom - horizon) / max(1, h - horizon) * 0.9
        height[top:bottom, x0:x0 + bw] = (bottom - np.arange(top, bottom, dtype=np.float32))[:, None] / size
    water = np.zeros((h, w), np.float32)
    if flooded:
        level = int(rng.uniform(0.7, 0.85) * h)
        water[level:] = 1.0
        blue = np.array([40, 80, 130], np.float32)
        rgb[level:] = 0.35 * rgb[level:] + 0.65 * blue
        seg[level:] = IGNORE
    if not simulated:
        # texture + sensor noise make "real" images distinguishable from flat-shaded simulated ones
        rgb += rng.normal(0, 12, rgb.shape) + 10 * np.sin(ys / 3.0)[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8), depth, seg, height, water


def _save(key, array, path):
    if path.endswith(".npy"):
        np.save(path, array)
    elif key == "x":
        Image.fromarray(array).save(path)
    elif key == "s":
        Image.fromarray(array.astype(np.uint8), "L").save(path)
    else:  # d, h, w stored as 8-bit images scaled to 0..255
        Image.fromarray(np.clip(np.rint(array * 255), 0, 255).astype(np.uint8), "L").save(path)


def make_omni_dataset(root, n_train=4, n_val=2, size=64, seed=0, list_format="mixed", domains=DOMAINS):
    """Write a small four-domain omni dataset under `root` and return {(domain, split): list path}.

    Layout: <root>/<domain>/<Data|Depth|Segmentation|Height|Flood>/<split>_<i>.<ext> and the lists
    <root>/<domain>_<split>.<json|yaml> with paths relative to <root>. list_format: json, yaml, or mixed
    (json for real domains, yaml for simulated ones, so both readers get used).
    """
    if list_format not in ("json", "yaml", "mixed"):
        raise ValueError(f"list_format must be json, yaml or mixed, got {list_format!r}")
    if size < 16 or size % 8:
        raise ValueError(f"size must be a multiple of 8 and at least 16, got {size}")
    rng = np.random.RandomState(seed)
    written = {}
    for domain in domains:
        if domain not in _LABELS:
            raise ValueError(f"unknown domain {domain!r}: choose among {', '.join(DOMAINS)}")
        flooded, simulated = domain[1] == "f", domain[0] == "s"
        dom_dir = os.path.join(root, domain)
        formats = dict(_LABELS[domain], x="png")
        for key in formats:
            os.makedirs(os.path.join(dom_dir, _FOLDERS[key]), exist_ok=True)
        for split, count in (("train", n_train), ("val", n_val)):
            for i in range(count):
                rgb, depth, seg, height, water = _scene(rng, size, flooded, simulated)
                arrays = {"x": rgb, "d": depth, "s": seg, "h": height, "w": water}
                for key, ext in formats.items():
                    _save(key, arrays[key], os.path.join(dom_dir, _FOLDERS[key], f"{split}_{i:03d}.{ext}"))
        mapping = {_FOLDERS[key]: key for key in formats}  # the folders this domain has
        items, incomplete = items_from_folders(dom_dir, mapping)
        assert not incomplete, incomplete  # we wrote every file ourselves
        fmt = list_format if list_format != "mixed" else ("yaml" if simulated else "json")
        for split in ("train", "val"):
            part = [it for it in items if os.path.basename(it["x"]).startswith(split + "_")]
            path = os.path.join(root, f"{domain}_{split}.{fmt}")
            written[(domain, split)] = write_list(relative_items(part, os.path.abspath(root)), path)
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a small synthetic four-domain omni dataset.")
    parser.add_argument("--root", default="datasets/synthetic_omni", help="output folder")
    parser.add_argument("--n_train", type=int, default=8, help="training scenes per domain")
    parser.add_argument("--n_val", type=int, default=2, help="validation scenes per domain")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (multiple of 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--list_format", default="mixed", choices=["json", "yaml", "mixed"], help="list file format")
    a = parser.parse_args()
    paths = make_omni_dataset(a.root, a.n_train, a.n_val, a.size, a.seed, a.list_format)
    print(f"wrote {len(paths)} lists under {a.root}")
