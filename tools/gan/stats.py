"""Simple statistics of an image set and a distance between two sets: how close generated samples are to the
real data without any learned feature extractor (used by the learning test and for quick checks).

    python -m tools.gan.stats --real datasets/synthetic_shapes --fake results/NAME/test_latest/images

Statistics: per-channel colour histograms (32 bins), the mean image (8x8), and shape coverage (the fraction
of pixels that differ from the image's background, estimated from its border). Distance = the earth mover's
distance between the histograms (L1 between their cumulative sums, in [-1, 1] pixel units, averaged over
channels) + mean absolute difference of the mean images + |coverage difference|.
"""
import argparse
import sys

import torch
import torch.nn.functional as F

from util.cli import run_cli

BINS = 32


def image_statistics(images):
    """``images``: (N, C, H, W) in [-1, 1] -> dict of tensors (hist: C x BINS, mean: C x 8 x 8, coverage)."""
    x = images.detach().float().clamp(-1, 1)
    hist = torch.stack([torch.histc(x[:, c], bins=BINS, min=-1, max=1) for c in range(x.shape[1])])
    hist = hist / hist.sum(dim=1, keepdim=True)
    mean = F.adaptive_avg_pool2d(x.mean(0, keepdim=True), 8)[0]
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], dim=2)  # N, C, 4W
    background = border.median(dim=2).values[:, :, None, None]
    foreground = (x - background).abs().amax(dim=1) > 0.25
    return {'hist': hist, 'mean': mean, 'coverage': foreground.float().mean()}


def statistics_distance(a, b):
    """Distance between two image sets (tensors) or their :func:`image_statistics`."""
    sa = a if isinstance(a, dict) else image_statistics(a)
    sb = b if isinstance(b, dict) else image_statistics(b)
    if sa['hist'].shape[0] != sb['hist'].shape[0]:
        raise ValueError('the two image sets have different numbers of channels')
    hist = ((sa['hist'].cumsum(1) - sb['hist'].cumsum(1)).abs().sum(dim=1) * (2.0 / BINS)).mean()
    mean = (sa['mean'] - sb['mean']).abs().mean()
    coverage = (sa['coverage'] - sb['coverage']).abs()
    return float(hist + mean + coverage)


def load_folder(path, size=None, channels=3, max_images=None):
    """Images of a folder tree as an (N, C, S, S) tensor in [-1, 1] (scaled to ``size`` when given)."""
    from data.base_dataset import load_image, to_tensor
    from data.image_folder import make_dataset
    from data.unconditional import cover_center_crop
    tensors = []
    for path_i in make_dataset(path, max_images or float('inf')):
        img = load_image(path_i, 'L' if channels == 1 else 'RGB')
        if size:
            img = cover_center_crop(img, size)
        tensors.append(to_tensor(img))
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"images under '{path}' have different sizes ({sorted(shapes)[:2]}); pass --size")
    return torch.stack(tensors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--real', required=True, help='folder of real images')
    parser.add_argument('--fake', required=True, help='folder of generated images (e.g. a test.py images folder)')
    parser.add_argument('--size', type=int, default=None, help='scale and centre-crop both sets to this side')
    parser.add_argument('--channels', type=int, default=3, choices=[1, 3], help='compare grey (1) or colour (3)')
    args = parser.parse_args(argv)
    real = load_folder(args.real, args.size, args.channels)
    fake = load_folder(args.fake, args.size or real.shape[-1], args.channels)
    distance = statistics_distance(fake, real)
    print(f'statistics distance {distance:.4f} ({len(fake)} generated vs {len(real)} real images)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
