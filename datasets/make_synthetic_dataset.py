"""Generate small synthetic datasets, from a seed and without any download, so every model runs out of the box.

Kinds:
  paired    facades-like pairs in the aligned layout (train/val/test, each image is photo|label side by side,
            as in the pix2pix facades dataset, so train label -> photo with --direction BtoA). The photo is a
            deterministic function of the label map (each class has its own texture, plus fixed shading),
            so the mapping is learnable.
  unpaired  two domains in the unaligned layout (trainA/trainB/testA/testB): day scenes (A) and dusk scenes
            (B) drawn independently, the same kinds of objects under two palettes. --depth also writes a
            depth map per image into <split>A/depths and <split>B/depths (same stem), for the liss model.
  omni      the four-domain (rf, rn, sf, sn) dataset of the omnigan model with its JSON/YAML lists.
  images    a single folder of unlabelled scenes (for unconditional models such as blobgan).
  shapes    coloured shapes (circle, square, triangle) on plain backgrounds, one subfolder per class, for the
            unconditional GANs (--model gan --dataset_mode folder, --image_class circle keeps one class).

    python datasets/make_synthetic_dataset.py --kind paired --out datasets/synthetic_facades --size 64
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# label palette (like the facades labels) and, per class, (base colour, texture) of the photo
FACADE_CLASSES = {
    # name: (label colour, photo base colour)
    'sky': ((0, 0, 170), (150, 190, 235)),
    'wall': ((0, 85, 255), (196, 120, 90)),
    'roof': ((255, 0, 0), (110, 40, 40)),
    'window': ((0, 255, 255), (40, 60, 90)),
    'door': ((255, 170, 0), (100, 60, 30)),
    'balcony': ((170, 255, 85), (160, 160, 165)),
}
CLASS_NAMES = list(FACADE_CLASSES)


def facade_layout(rng, h, w):
    """A label map (HxW class indices) of a building: sky, wall, roof, rows of windows, balconies, a door."""
    labels = np.full((h, w), CLASS_NAMES.index('wall'), dtype=np.int64)
    roof = int(rng.integers(h // 10, h // 5))
    labels[:roof] = CLASS_NAMES.index('sky')
    labels[roof:roof + max(2, h // 16)] = CLASS_NAMES.index('roof')
    floors = int(rng.integers(2, 5))
    columns = int(rng.integers(2, 5))
    top = roof + max(2, h // 16) + 2
    floor_h = (h - top) // (floors + 1)
    col_w = w // columns
    for f in range(floors):
        y0 = top + f * floor_h + floor_h // 5
        y1 = y0 + max(2, floor_h // 2)
        for c in range(columns):
            x0 = c * col_w + col_w // 4
            x1 = x0 + max(2, col_w // 2)
            labels[y0:y1, x0:x1] = CLASS_NAMES.index('window')
        if rng.random() < 0.5:
            labels[y1:y1 + max(1, floor_h // 8), :] = CLASS_NAMES.index('balcony')
    door_w = max(3, w // 8)
    door_x = int(rng.integers(0, w - door_w))
    labels[h - max(4, floor_h * 3 // 4):, door_x:door_x + door_w] = CLASS_NAMES.index('door')
    return labels


def facade_photo(labels):
    """The photo of a label map: per-class colour and texture, with fixed left-to-right shading."""
    h, w = labels.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    photo = np.zeros((h, w, 3), np.float32)
    textures = {
        'sky': 1.0 - 0.25 * ys / h,
        'wall': 0.85 + 0.15 * (((ys // 3) + ((xs + 3 * ((ys // 3) % 2)) // 6)) % 2),  # bricks
        'roof': 0.8 + 0.2 * (((xs + ys) // 2) % 2),  # tiles
        'window': 0.7 + 0.5 * (1.0 - ys / h),  # reflections
        'door': 0.8 + 0.2 * ((xs // 2) % 2),  # planks
        'balcony': 0.9 + 0.1 * ((xs // 3) % 2),  # railing
    }
    for index, name in enumerate(CLASS_NAMES):
        mask = labels == index
        colour = np.array(FACADE_CLASSES[name][1], np.float32)
        photo[mask] = colour * textures[name][mask][:, None]
    photo *= (0.8 + 0.2 * xs / w)[..., None]
    return np.clip(photo, 0, 255).astype(np.uint8)


def label_image(labels):
    palette = np.array([FACADE_CLASSES[n][0] for n in CLASS_NAMES], np.uint8)
    return palette[labels]


def make_paired(out, size, counts, seed):
    """Aligned pairs photo|label (facades convention) in out/<split>/<i>.png."""
    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        os.makedirs(os.path.join(out, split), exist_ok=True)
        for i in range(count):
            labels = facade_layout(rng, size, size)
            pair = np.concatenate([facade_photo(labels), label_image(labels)], axis=1)
            Image.fromarray(pair).save(os.path.join(out, split, f'{i + 1}.png'))


PALETTES = {
    'day': {'sky': (120, 180, 240), 'ground': (90, 160, 70), 'house': (210, 180, 140), 'window': (80, 110, 150),
            'tree': (40, 120, 40), 'sun': (255, 230, 90)},
    'dusk': {'sky': (40, 40, 90), 'ground': (30, 60, 40), 'house': (90, 70, 80), 'window': (250, 210, 90),
             'tree': (20, 50, 30), 'sun': (230, 230, 250)},
}


def outdoor_scene(rng, size, palette):
    """An outdoor scene under a palette, and its depth map in [0, 1] (1 = far)."""
    h = w = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = int(rng.uniform(0.35, 0.6) * h)
    image = np.zeros((h, w, 3), np.float32)
    sky = ys < horizon
    image[sky] = np.array(palette['sky'], np.float32) * (0.8 + 0.2 * ys[sky, None] / h)
    image[~sky] = palette['ground']
    depth = np.where(sky, 1.0, 0.9 - 0.8 * (ys - horizon) / max(1, h - horizon)).astype(np.float32)
    cx, cy, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.05, 0.25) * h, max(2.0, 0.06 * w)
    image[((xs - cx) ** 2 + (ys - cy) ** 2 < r * r) & sky] = palette['sun']
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        base = rng.uniform(horizon + 2, h - 1)
        objects.append((base, 'house' if rng.random() < 0.5 else 'tree', rng.uniform(0, w)))
    for base, kind, x in sorted(objects):  # far to near: near objects drawn last
        scale = 0.3 + 0.7 * (base - horizon) / max(1, h - horizon)
        obj_depth = 0.9 - 0.8 * (base - horizon) / max(1, h - horizon)
        if kind == 'house':
            half, height = 0.12 * w * scale, 0.3 * h * scale
            mask = (np.abs(xs - x) < half) & (ys < base) & (ys > base - height)
            image[mask] = palette['house']
            win = mask & (np.abs(xs - x) < half * 0.4) & (ys < base - height * 0.4) & (ys > base - height * 0.8)
            image[win] = palette['window']
        else:
            radius = 0.1 * w * scale
            mask = (xs - x) ** 2 + (ys - (base - radius)) ** 2 < radius ** 2
            image[mask] = palette['tree']
        depth[mask] = obj_depth
    return np.clip(image, 0, 255).astype(np.uint8), depth


def make_unpaired(out, size, counts, seed, with_depth=False):
    """Day scenes in <split>A, dusk scenes in <split>B, optionally with depth maps in <split>X/depths."""
    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        for domain, palette in (('A', 'day'), ('B', 'dusk')):
            folder = os.path.join(out, split + domain)
            os.makedirs(folder, exist_ok=True)
            if with_depth:
                os.makedirs(os.path.join(folder, 'depths'), exist_ok=True)
            for i in range(count):
                image, depth = outdoor_scene(rng, size, PALETTES[palette])
                Image.fromarray(image).save(os.path.join(folder, f'{i + 1}.png'))
                if with_depth:
                    Image.fromarray((depth * 255).round().astype(np.uint8), 'L').save(
                        os.path.join(folder, 'depths', f'{i + 1}.png'))


def make_images(out, size, count, seed):
    """One folder of unlabelled scenes (both palettes) for unconditional models."""
    rng = np.random.default_rng(seed)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        image, _ = outdoor_scene(rng, size, PALETTES['day' if i % 2 == 0 else 'dusk'])
        Image.fromarray(image).save(os.path.join(out, f'{i + 1}.png'))


SHAPE_CLASSES = ('circle', 'square', 'triangle')
SHAPE_COLOURS = ((220, 40, 40), (40, 170, 60), (50, 90, 220), (240, 200, 40))
SHAPE_BACKGROUNDS = ((20, 20, 30), (235, 230, 215))


def shape_image(rng, size, kind):
    """One ``kind`` shape of a palette colour, random centre and size, on a dark or light plain background."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    image = np.empty((size, size, 3), np.float32)
    image[:] = SHAPE_BACKGROUNDS[int(rng.integers(len(SHAPE_BACKGROUNDS)))]
    r = rng.uniform(0.18, 0.32) * size
    cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
    if kind == 'circle':
        mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
    elif kind == 'square':
        mask = (np.abs(xs - cx) < r * 0.85) & (np.abs(ys - cy) < r * 0.85)
    else:  # upward triangle inside the circle of radius r
        top, base = cy - r, cy + r * 0.6
        half = (ys - top) / (base - top) * r
        mask = (ys > top) & (ys < base) & (np.abs(xs - cx) < half)
    image[mask] = SHAPE_COLOURS[int(rng.integers(len(SHAPE_COLOURS)))]
    return image.astype(np.uint8)


def make_shapes(out, size, count, seed, classes=SHAPE_CLASSES):
    """``count`` images spread over one subfolder per class: out/<class>/<i>.png."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        kind = classes[i % len(classes)]
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        Image.fromarray(shape_image(rng, size, kind)).save(os.path.join(out, kind, f'{i // len(classes) + 1}.png'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--kind', choices=['paired', 'unpaired', 'omni', 'images', 'shapes'], default='paired',
                        help='which dataset to generate')
    parser.add_argument('--out', default=None, help='output folder (default: datasets/synthetic_<kind>)')
    parser.add_argument('--size', type=int, default=64, help='image side in pixels')
    parser.add_argument('--n_train', type=int, default=100, help='training images (per domain)')
    parser.add_argument('--n_val', type=int, default=10, help='validation images (per domain)')
    parser.add_argument('--n_test', type=int, default=20, help='test images (per domain)')
    parser.add_argument('--seed', type=int, default=0, help='random seed: the same seed gives the same files')
    parser.add_argument('--depth', action='store_true', help='unpaired: also write depth maps (for --model liss)')
    args = parser.parse_args(argv)
    if args.size < 16:
        parser.error('--size must be at least 16')
    out = args.out or os.path.join('datasets', f'synthetic_{args.kind}')
    counts = {'train': args.n_train, 'val': args.n_val, 'test': args.n_test}
    if args.kind == 'paired':
        make_paired(out, args.size, counts, args.seed)
    elif args.kind == 'unpaired':
        make_unpaired(out, args.size, counts, args.seed, args.depth)
    elif args.kind == 'images':
        make_images(out, args.size, args.n_train, args.seed)
    elif args.kind == 'shapes':
        make_shapes(out, args.size, args.n_train, args.seed)
    else:
        from datasets.synthetic_omni import make_omni_dataset
        make_omni_dataset(out, n_train=args.n_train, n_val=args.n_val, size=args.size, seed=args.seed)
    print(f'wrote a synthetic {args.kind} dataset to {out}')
    return out


if __name__ == '__main__':
    main()
