"""clean-fid FID (Parmar et al., CVPR 2022; the ``clean-fid`` package), as BlobGANEX computes BlobGAN's FID.

Statistics are ``{name}_clean_custom_na.npz`` files with ``mu`` and ``sigma`` (the published ``fid_stats/*.npz``
drop in), kept in a project folder (``--stats_dir``, default ``.fid_stats/clean``), never inside site-packages.
Real images are resized to the generator's shape first (BlobGANEX setup_fid.py ``load_fn``: (256, 512); with
``center_crop``: shorter side to ``size`` then a centre square), then clean-fid's PIL bicubic resize to 299 and the
TorchScript InceptionV3 (``inception-2015-12-05.pt``: a local file, or 'download' from the clean-fid URL).

Registered as the metric ``clean_fid`` (kind 'fidelity', backend 'clean-fid', lower is better), reached through
``metrics.evaluate(generated, metrics='clean_fid', real_cache_name=NAME)`` like fid/kid/isc; it is computed only
when asked for by name (``--fid_backend clean-fid`` in BlobGAN's model and tools: metrics/compute.py FID_BY_BACKEND).
"""
import os
import random
from collections import namedtuple

import numpy as np
import torch

from data.image_folder import IMG_EXTENSIONS
from metrics.inputs import device_is_cuda
from metrics.registry import get_metric, register_metric

DEFAULT_STATS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.fid_stats', 'clean')
INCEPTION_FILE = 'inception-2015-12-05.pt'
BACKEND = 'clean-fid'


@register_metric('clean_fid', 'fidelity', higher_is_better=False, backend=BACKEND, default=False,
                 description="FID as clean-fid computes it (BlobGAN's published numbers; not comparable with fid)")
def _clean_fid(distance):
    return {'clean_fid': float(distance)}


class GeneratorSamples(namedtuple('GeneratorSamples', 'fn z_dim num batch_size')):
    """``num`` images ``fn(z)`` ((B, 3, H, W) floats in [0, 255]) for z ~ N(0, I) of shape (batch_size, z_dim), drawn
    from torch's global generator as clean-fid's ``get_model_features`` does: the batch size decides which z each
    sample gets, so it is part of the input rather than an Inception setting."""
    __slots__ = ()


def _cleanfid():
    try:
        from cleanfid import fid
    except ImportError:
        raise ImportError('--fid_backend clean-fid needs the clean-fid package: pip install clean-fid') from None
    return fid


def stats_file(name, stats_dir=None):
    return os.path.join(stats_dir or DEFAULT_STATS_DIR, f'{name}_clean_custom_na.npz'.lower())


def inception_url():
    from cleanfid.downloads_helper import inception_url as url
    return url


def load_inception(weights=None, device='cpu'):
    """clean-fid's feature function (uint8-range images (B,3,299,299) -> (B, 2048) numpy-ready features).

    ``weights``: a path to ``inception-2015-12-05.pt``; None -> that file in the stats folder or clean-fid's /tmp
    location; 'download' -> fetch it into the stats folder."""
    _cleanfid()
    candidates = [weights] if weights not in (None, 'download') else \
        [os.path.join(DEFAULT_STATS_DIR, INCEPTION_FILE), os.path.join('/tmp', INCEPTION_FILE)]
    if weights == 'download':
        from cleanfid.downloads_helper import check_download_inception
        os.makedirs(DEFAULT_STATS_DIR, exist_ok=True)
        try:
            check_download_inception(DEFAULT_STATS_DIR)
        except Exception as err:
            raise FileNotFoundError(f'cannot download the clean-fid Inception ({type(err).__name__}); fetch '
                                    f'{inception_url()} elsewhere and pass it with --inception_weights') from None
    path = next((c for c in candidates if c and os.path.isfile(c)), None)
    if path is None:
        raise FileNotFoundError(f'clean-fid needs the TorchScript Inception {INCEPTION_FILE}: pass it with '
                                f'--inception_weights PATH (download {inception_url()}), or --inception_weights '
                                f'download')
    try:
        base = torch.jit.load(path, map_location='cpu').eval().to(device)
    except Exception as err:
        raise ValueError(f'{path!r} is not a TorchScript Inception file: {str(err).splitlines()[0]}') from None

    @torch.no_grad()
    def features(x):  # clean mode: already resized to 299; the network takes (x - 128) / 128
        return base.layers.forward((x.to(device).float() - 128) / 128).flatten(1)
    return features


def real_transform(size, aspect_ratio=1.0, center_crop=False, antialias=False):
    """HWC uint8 array -> HWC uint8 array at the generator's shape (applied before clean-fid's own resize).

    Published (BlobGANEX setup_fid.py ``load_fn``): torchvision's bilinear resize of the uint8 tensor, which under the
    torchvision the published code pins (0.12) has no antialiasing; ``antialias=True`` low-pass filters first."""
    from torchvision.transforms import functional as F

    def fn(x):
        t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)
        if center_crop:
            t = F.center_crop(F.resize(t, size, antialias=antialias), size)
        else:
            t = F.resize(t, [size, int(round(size * aspect_ratio))], antialias=antialias)
        return t.permute(1, 2, 0).numpy()
    return fn


def list_files(path, txt=None, n=None, shuffle=False, seed=0):
    """Image files from a folder (recursive) or from a text file of names relative to ``path`` (``--txt``)."""
    if txt:
        if not os.path.isfile(txt):
            raise FileNotFoundError(f'--txt {txt!r}: no such file')
        with open(txt) as f:
            files = [os.path.join(path, line.strip()) for line in f if line.strip()]
    else:
        if not os.path.isdir(path or ''):
            raise FileNotFoundError(f'image folder {path!r} does not exist')
        files = sorted(os.path.join(r, f) for r, _, fs in os.walk(path, followlinks=True) for f in fs
                       if f.lower().endswith(IMG_EXTENSIONS))
    if not files:
        raise FileNotFoundError(f'no images found ({txt or path})')
    if shuffle:
        random.Random(seed).shuffle(files)
    return files[:n] if n and n > 0 else files


def make_stats(files, name, size, aspect_ratio=1.0, center_crop=False, weights=None, stats_dir=None,
               batch_size=32, num_workers=0, device='cpu', overwrite=True, antialias=False):
    """Computes and writes the statistics of real images; returns {'path', 'num_images'}."""
    fid = _cleanfid()
    out = stats_file(name, stats_dir)
    if os.path.exists(out) and not overwrite:
        raise ValueError(f'clean-fid statistics {out!r} exist already')
    feats = fid.get_files_features(files, load_inception(weights, device), num_workers=num_workers,
                                   batch_size=batch_size, device=torch.device(device), mode='clean',
                                   custom_image_tranform=real_transform(size, aspect_ratio, center_crop, antialias),
                                   verbose=False)
    if feats.shape[0] < 2:
        raise ValueError('clean-fid statistics need at least 2 images')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + '.tmp.npz'
    np.savez_compressed(tmp, mu=feats.mean(0), sigma=np.cov(feats, rowvar=False))
    os.replace(tmp, out)
    return {'path': out, 'num_images': int(feats.shape[0])}


def load_stats(name, stats_dir=None):
    path = stats_file(name, stats_dir)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'no clean-fid statistics {path!r}: compute them with python -m tools.blobgan.setup_fid '
                                f'--fid_backend clean-fid --name {name} --path DIR (or copy a published fid_stats/*.npz)')
    with np.load(path) as f:
        return f['mu'], f['sigma']


def clean_fid_metrics(generated, real_cache_name, weights_path=None, cache_dir=None, device=None, batch_size=32):
    """``{'clean_fid': ..}`` of ``generated`` (:class:`GeneratorSamples`, an image folder or a list of image files)
    against the statistics named ``real_cache_name`` (:func:`make_stats`, tools/blobgan/setup_fid.py) in
    ``cache_dir`` (default ``.fid_stats/clean``); ``weights_path``: the TorchScript Inception
    (:func:`load_inception`)."""
    if real_cache_name is None:
        raise ValueError('clean_fid compares with cached real statistics: give their name (made by '
                         'python -m tools.blobgan.setup_fid --fid_backend clean-fid)')
    device = 'cuda' if device_is_cuda(device) else 'cpu'
    if isinstance(generated, GeneratorSamples):
        distance = generator_fid(generated.fn, real_cache_name, generated.num, generated.z_dim, generated.batch_size,
                                 weights_path, cache_dir, device)
    elif isinstance(generated, (str, list, tuple)):
        files = list_files(generated) if isinstance(generated, str) else list(generated)
        distance = files_fid(files, real_cache_name, batch_size, weights_path, cache_dir, device)
    else:
        raise ValueError(f'clean_fid scores generator samples (GeneratorSamples) or image files, not '
                         f'{type(generated).__name__}')
    return get_metric('clean_fid').fn(distance)


def generator_fid(gen_fn, name, num_gen, z_dim, batch_size=16, weights=None, stats_dir=None, device='cpu'):
    """FID of ``gen_fn(z) -> images in [0, 255]`` (B,3,H,W) against the named statistics (clean mode)."""
    fid = _cleanfid()
    reference = load_stats(name, stats_dir)
    if num_gen < 2:
        raise ValueError('FID needs at least 2 generated images')
    feats = fid.get_model_features(gen_fn, load_inception(weights, device), mode='clean', z_dim=z_dim,
                                   num_gen=num_gen, batch_size=batch_size, device=torch.device(device), verbose=False)
    return _distance(fid, feats, reference)


def files_fid(files, name, batch_size=32, weights=None, stats_dir=None, device='cpu'):
    """FID of image files (clean-fid's PIL loading and clean resize) against the named statistics."""
    fid = _cleanfid()
    reference = load_stats(name, stats_dir)
    if len(files) < 2:
        raise ValueError('FID needs at least 2 generated images')
    feats = fid.get_files_features(files, load_inception(weights, device), num_workers=0, batch_size=batch_size,
                                   device=torch.device(device), mode='clean', verbose=False)
    return _distance(fid, feats, reference)


def _distance(fid, feats, reference):
    mu_ref, sigma_ref = reference
    return float(fid.frechet_distance(feats.mean(0), np.cov(feats, rowvar=False), mu_ref, sigma_ref))


def make_random_inception(path, seed=0, features=2048):
    """A TorchScript stand-in with the clean-fid Inception interface (``layers``: (B,3,299,299) -> (B,features)),
    random weights -- for tests and offline smoke runs only. Tests pass a small ``features``: the FID's matrix
    square root costs O(features^3), a minute on one core at Inception's 2048."""
    torch.manual_seed(seed)

    class Layers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 16, 8, stride=8)
            self.fc = torch.nn.Linear(16 * 16, features)

        def forward(self, x):
            y = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 4)
            return self.fc(y.flatten(1))

    class Base(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = Layers()

        def forward(self, x):
            return self.layers(x)

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.jit.script(Base()).save(path)
    return path
