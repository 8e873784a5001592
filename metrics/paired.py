"""PSNR, SSIM and L1 (``psnr``, ``ssim``, ``l1``) between pairs of images with matching file names: each
registered function scores one pair of 1x3xHxW tensors in [0, 1]; :func:`paired_metrics` averages them."""
import math

import torch

from metrics.inputs import device_is_cuda, load_float, match_pairs
from metrics.registry import get_metric, metric_names, parse_metrics, register_metric


@register_metric('psnr', 'paired', description='peak signal-to-noise ratio in dB, data range 1 (inf if identical)')
def psnr(x, y):
    from torchmetrics.functional.image import peak_signal_noise_ratio
    mse = float(torch.mean((x - y) ** 2))
    return math.inf if mse == 0 else float(peak_signal_noise_ratio(x, y, data_range=1.0))


@register_metric('ssim', 'paired', description="structural similarity, torchmetrics' Gaussian 11x11 window")
def ssim(x, y):
    from torchmetrics.functional.image import structural_similarity_index_measure
    if min(x.shape[2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {x.shape[3]}x{x.shape[2]}")
    return float(structural_similarity_index_measure(x, y, data_range=1.0))


@register_metric('l1', 'paired', aliases=('mae', 'l1_loss'), description='mean absolute difference in [0, 1]')
def l1(x, y):
    return float(torch.mean(torch.abs(x - y)))


def paired_metrics(generated, real, metrics=None, gen_suffix='', real_suffix='', device=None):
    """Mean per-image PSNR (dB), SSIM and L1 (or the requested registered paired metrics; default: all of them)
    between pairs of images with matching names.

    Pixels are compared in [0, 1] (data range 1): L1 is the mean absolute difference on that scale,
    PSNR is ``inf`` for identical images (so is the mean if any pair is identical), SSIM uses
    torchmetrics' Gaussian 11x11 window. Returns e.g. ``{'psnr': .., 'ssim': .., 'l1': ..}``.
    """
    requested = parse_metrics(metrics if metrics is not None else metric_names('paired'))
    names = [m for m in requested if get_metric(m).kind == 'paired']
    if not names:
        return {}
    dev = torch.device('cuda' if device_is_cuda(device) else 'cpu')
    sums = {m: 0.0 for m in names}
    pairs = match_pairs(generated, real, gen_suffix, real_suffix)
    for gen_file, real_file in pairs:
        x, y = load_float(gen_file).to(dev), load_float(real_file).to(dev)
        if x.shape != y.shape:
            raise ValueError(f"paired images differ in size: '{gen_file}' is {x.shape[3]}x{x.shape[2]}, "
                             f"'{real_file}' is {y.shape[3]}x{y.shape[2]}")
        for m in names:
            try:
                sums[m] += get_metric(m).fn(x, y)
            except ValueError as err:
                raise ValueError(f"{err} ('{gen_file}')") from None
    return {m: sums[m] / len(pairs) for m in names}
