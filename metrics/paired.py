"""PSNR, SSIM and L1 (``psnr``, ``ssim``, ``l1``) between pairs of images with matching file names: each
registered function scores one pair of 1x3xHxW tensors in [0, 1]; :func:`paired_metrics` averages them."""
import math

import torch
import torch.nn.functional as F

from metrics.inputs import device_is_cuda, load_float, match_pairs
from metrics.registry import get_metric, metric_names, parse_metrics, register_metric


@register_metric('psnr', 'paired', higher_is_better=True, description='peak signal-to-noise ratio in dB, data range 1 (inf if identical)')
def psnr(x, y):
    from torchmetrics.functional.image import peak_signal_noise_ratio
    mse = float(torch.mean((x - y) ** 2))
    return math.inf if mse == 0 else float(peak_signal_noise_ratio(x, y, data_range=1.0))


SSIM_SIGMA, SSIM_RADIUS = 1.5, 5  # Wang et al. 2004: 11x11 Gaussian window, sigma 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _gaussian_blur_valid(z, kernel):
    """Separable Gaussian filter of every channel, only where the window fits (no padding)."""
    c = z.shape[1]
    kh = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    kv = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    return F.conv2d(F.conv2d(z, kh, groups=c), kv, groups=c)


def ssim_map(x, y, data_range=1.0):
    """SSIM of every pixel whose 11x11 Gaussian window (sigma 1.5) lies inside the image: the map of
    scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``
    after it crops its 5-pixel border. Inputs N x C x H x W in [0, data_range]; returns N x C x (H-10) x (W-10)."""
    x, y = x.double(), y.double()
    t = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64, device=x.device)
    kernel = torch.exp(-0.5 * (t / SSIM_SIGMA) ** 2)
    kernel = kernel / kernel.sum()
    mx, my = _gaussian_blur_valid(x, kernel), _gaussian_blur_valid(y, kernel)
    sxx = _gaussian_blur_valid(x * x, kernel) - mx * mx
    syy = _gaussian_blur_valid(y * y, kernel) - my * my
    sxy = _gaussian_blur_valid(x * y, kernel) - mx * my
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


@register_metric('ssim', 'paired', higher_is_better=True,
                 description='structural similarity (Wang et al.): 11x11 Gaussian window, mean over the pixels '
                             'where the window fits, as scikit-image')
def ssim(x, y):
    if min(x.shape[2:]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {x.shape[3]}x{x.shape[2]}")
    return float(ssim_map(x, y).mean())


@register_metric('l1', 'paired', higher_is_better=False, aliases=('mae', 'l1_loss'), description='mean absolute difference in [0, 1]')
def l1(x, y):
    return float(torch.mean(torch.abs(x - y)))


def paired_metrics(generated, real, metrics=None, gen_suffix='', real_suffix='', device=None):
    """Mean per-image PSNR (dB), SSIM and L1 (or the requested registered paired metrics; default: all of them)
    between pairs of images with matching names.

    Pixels are compared in [0, 1] (data range 1): L1 is the mean absolute difference on that scale,
    PSNR is ``inf`` for identical images (so is the mean if any pair is identical), SSIM is the standard
    definition (11x11 Gaussian window, border where the window does not fit left out, as scikit-image). Returns e.g. ``{'psnr': .., 'ssim': .., 'l1': ..}``.
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
