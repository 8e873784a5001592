"""Write an LSUN-style LMDB database (key -> encoded image) from a folder of images, for --dataset_mode lmdb.

    python -m tools.gan.make_lmdb --src datasets/synthetic_shapes --out datasets/shapes_lmdb [--size 64]

Keys are the images' paths relative to --src; values are the files' bytes, or the image re-encoded (--format)
after scaling its short side to --size.
"""
import argparse
import io
import os
import sys

from PIL import Image

from data.base_dataset import load_image
from data.image_folder import make_dataset
from util.cli import run_cli


def write_lmdb(src, out, size=0, fmt='webp', map_size_gb=64):
    """Store every image under ``src`` into a new LMDB database ``out``; returns the number written."""
    import lmdb
    paths = make_dataset(src)
    if os.path.exists(os.path.join(out, 'data.mdb')):
        raise ValueError(f"'{out}' already holds an LMDB database; choose another --out")
    os.makedirs(out, exist_ok=True)
    env = lmdb.open(out, map_size=int(map_size_gb * 1024 ** 3), subdir=True)
    try:
        with env.begin(write=True) as txn:
            for path in paths:
                key = os.path.relpath(path, src).replace(os.sep, '/').encode()
                if size:
                    img = load_image(path)
                    scale = size / min(img.size)
                    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                                     Image.BICUBIC)
                    buffer = io.BytesIO()
                    img.save(buffer, format=fmt.upper(), **({'lossless': True} if fmt == 'webp' else {}))
                    value = buffer.getvalue()
                else:
                    with open(path, 'rb') as f:
                        value = f.read()
                txn.put(key, value)
    finally:
        env.close()
    return len(paths)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', required=True, help='folder of images (searched recursively)')
    parser.add_argument('--out', required=True, help='folder of the new database (data.mdb, lock.mdb)')
    parser.add_argument('--size', type=int, default=0,
                        help='scale each image so its short side is this many pixels (0: store the files as they are)')
    parser.add_argument('--format', default='webp', choices=['webp', 'png', 'jpeg'],
                        help='encoding of re-scaled images (webp is lossless here, as LSUN uses webp)')
    parser.add_argument('--map_size_gb', type=float, default=64, help='maximum size of the database (sparse file)')
    args = parser.parse_args(argv)
    count = write_lmdb(args.src, args.out, args.size, args.format, args.map_size_gb)
    print(f'wrote {count} images to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
