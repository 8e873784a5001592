"""Build omni data lists (JSON or YAML) from a folder per category.

    python -m tools.omnigan.process_data --source data/rf --domain rf --out_dir data/lists --train_size 0.8

<source>/Data/img1.jpg, <source>/Depth/img1.npy, <source>/Segmentation/img1.png ... are grouped by file name
(extensions may differ). Without --train_size one list <domain>_<split>.<format> is written; with it,
<domain>_train and <domain>_val. The folder -> key mapping defaults to Segmentation=s, Depth=d, Data=x,
Height=h (add Flood=w for water masks) and can be replaced with --mapping; a mapped folder that does not
exist is an error.
"""
import argparse
import os
import sys

from data.omni_dataset import (DEFAULT_FOLDER_MAPPING, DOMAINS, items_from_folders, relative_items, split_items,
                               write_list)
from util.cli import run_cli


def parse_mapping(text):
    """'Folder=key,Other=key' -> dict; empty -> the default mapping."""
    if not text:
        return dict(DEFAULT_FOLDER_MAPPING)
    mapping = {}
    for part in text.split(","):
        if "=" not in part:
            raise ValueError(f"--mapping entry '{part}' must look like Folder=key (e.g. Depth=d)")
        folder, key = (p.strip() for p in part.split("=", 1))
        mapping[folder] = key
    return mapping


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", "--path", dest="source", required=True,
                   help="folder holding one sub-folder per category (--path: the published spelling)")
    p.add_argument("--domain", required=True, choices=DOMAINS, help="domain the lists describe")
    p.add_argument("--out_dir", default="", help="where to write the lists (default: --source)")
    p.add_argument("--train_size", type=float, default=None,
                   help="fraction (0-1) or percentage (1-100) of items for the train split; also writes a val list")
    p.add_argument("--split", default="train", help="split name of the single list written without --train_size")
    p.add_argument("--format", default="json", choices=["json", "yaml"], help="list file format")
    p.add_argument("--mapping", default="", help="folder=key pairs, comma separated, replacing the default "
                                                 + ",".join(f"{k}={v}" for k, v in DEFAULT_FOLDER_MAPPING.items()))
    p.add_argument("--relative", action="store_true", help="write paths relative to --out_dir instead of absolute")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/val shuffle")
    return p


def process(source, domain, out_dir="", train_size=None, split="train", fmt="json", mapping=None,
            relative=False, seed=0, log=print):
    """Write the lists and return their paths."""
    out_dir = out_dir or source
    items, incomplete = items_from_folders(source, mapping)
    for name, missing in incomplete:
        log(f"warning: skipped sample '{name}': no file in the folder(s) for {', '.join(missing)}")
    if not items:
        raise ValueError(f"no complete sample found in {source}")
    if relative:
        items = relative_items(items, os.path.abspath(out_dir))
    splits = {split: items} if train_size is None else dict(zip(("train", "val"), split_items(items, train_size, seed)))
    paths = []
    for name, part in splits.items():
        path = write_list(part, os.path.join(out_dir, f"{domain}_{name}.{fmt}"))
        log(f"wrote {len(part)} items to {path}")
        paths.append(path)
    return paths


def main(argv=None):
    args = build_parser().parse_args(argv)
    process(args.source, args.domain, args.out_dir, args.train_size, args.split, args.format,
            parse_mapping(args.mapping), args.relative, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
