"""Image quality metrics for generated images.

* FID, KID and IS (``fid``, ``kid``, ``isc``) through torch-fidelity's ``calculate_metrics``, with the
  Inception weights taken from torch-fidelity's download location, a local file, or a clear error;
  real-image statistics can be cached in a project-local folder under a lowercased name (what
  blobgan's ``setup_fid`` / ``compute_fid`` scripts use).
* PSNR, SSIM and L1 (``psnr``, ``ssim``, ``l1``) for paired folders, through torchmetrics.
* ``write_metrics_json`` / ``read_metrics_json`` for ``metrics.json`` files.

Every public function returns a plain ``dict`` of Python floats.
"""
import hashlib
import json
import math
import os
import re
import time
import warnings

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from util.util import atomic_torch_save, atomic_write_text

FIDELITY_METRICS = ('fid', 'kid', 'isc')
PAIRED_METRICS = ('psnr', 'ssim', 'l1')
ALL_METRICS = FIDELITY_METRICS + PAIRED_METRICS
# Spellings users type for the same metric.
METRIC_ALIASES = {'is': 'isc', 'inception_score': 'isc', 'mae': 'l1', 'l1_loss': 'l1'}
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')

# Project-local cache of real-image statistics (ignored by git); never site-packages or ~/.cache.
DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.fid_stats')

# torch-fidelity's name for its TF-compatible InceptionV3 and the layers each metric reads.
_FEATURE_EXTRACTOR = 'inception-v3-compat'
FID_DIMS = (64, 192, 768, 2048)
_LAYER_ISC = 'logits_unbiased'
# The official file's name ends with the first 8 hex digits of its SHA-256 (torch.hub convention).
_OFFICIAL_SHA256_PREFIX = '6726825d'


# ----------------------------------------------------------------------------------------------
# small helpers

def parse_metrics(spec):
    """Turn ``"fid,kid,isc"`` (or a list) into a validated list of metric names, order kept."""
    if spec is None:
        return []
    items = spec.split(',') if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        name = METRIC_ALIASES.get(name, name)
        if name not in ALL_METRICS:
            raise ValueError(f"unknown metric '{item}': choose from {','.join(ALL_METRICS)}")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError(f"no metric given: choose from {','.join(ALL_METRICS)}")
    return out


def list_images(path, suffix='', max_images=None):
    """Sorted image files of folder ``path`` (not recursive) whose stem ends with ``suffix``.

    ``path`` may also be a list of files, which is filtered the same way.
    """
    if isinstance(path, (list, tuple)):
        files = [str(p) for p in path]
        where = 'the given file list'
    else:
        path = str(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"image folder '{path}' does not exist (give a folder of .png/.jpg images)")
        files = [os.path.join(path, f) for f in os.listdir(path)]
        where = f"'{path}'"
    files = sorted(f for f in files if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
                   and os.path.splitext(os.path.basename(f))[0].endswith(suffix) and os.path.isfile(f))
    if not files:
        what = f"images whose name ends with '{suffix}'" if suffix else 'images'
        raise ValueError(f"no {what} ({'/'.join(e[1:] for e in IMAGE_EXTENSIONS)}) found in {where}")
    if max_images is not None:
        files = files[:int(max_images)]
    return files


def results_dir_images(results_dir, fake_suffix='_fake_B', real_suffix='_real_B'):
    """Generated and real image files of a test.py results folder.

    Accepts ``results/NAME/<phase>_<epoch>`` or its ``images`` subfolder (where test.py writes
    ``<name>_fake_B.png`` next to ``<name>_real_B.png``). Returns ``(fake_files, real_files)``.
    """
    results_dir = str(results_dir)
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"results folder '{results_dir}' does not exist (run test.py first)")
    images = os.path.join(results_dir, 'images')
    folder = images if os.path.isdir(images) else results_dir
    try:
        fake = list_images(folder, suffix=fake_suffix)
        real = list_images(folder, suffix=real_suffix)
    except ValueError as err:
        subdirs = sorted(d for d in os.listdir(results_dir) if os.path.isdir(os.path.join(results_dir, d, 'images')))
        hint = f"; pick one of its phase folders: {', '.join(subdirs)}" if subdirs else ''
        raise ValueError(f"{err} (results folder '{results_dir}'{hint})") from None
    return fake, real


def normalize_cache_name(name):
    """Lowercase a statistics cache name and check it is usable in a file name."""
    key = str(name).strip().lower()
    if not re.fullmatch(r'[a-z0-9][a-z0-9._-]*', key):
        raise ValueError(f"invalid statistics name '{name}': use letters, digits, '.', '_' or '-'")
    return key


def _device_is_cuda(device):
    if device is None:
        return torch.cuda.is_available()
    kind = torch.device(device).type
    if kind == 'cuda' and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested for metrics but CUDA is not available: use device='cpu'")
    if kind not in ('cpu', 'cuda'):
        raise ValueError(f"metrics run on 'cpu' or 'cuda', not '{device}'")
    return kind == 'cuda'


# ----------------------------------------------------------------------------------------------
# Inception weights

def official_weights_url():
    """Where torch-fidelity downloads its InceptionV3 weights from."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    return URL_INCEPTION_V3


def default_weights_location():
    """Where torch-fidelity's download is kept (torch.hub's checkpoint folder, same as torch-fidelity)."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(official_weights_url()))


def resolve_inception_weights(weights_path=None, download=True):
    """Return a local path to InceptionV3 weights for FID/KID/IS.

    ``weights_path`` given: it must exist. Otherwise torch-fidelity's own file is used from the
    torch.hub cache, downloaded there first when online. Offline with no file: FileNotFoundError
    saying how to get it.
    """
    if weights_path:
        weights_path = os.path.expanduser(str(weights_path))
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(f"Inception weights file '{weights_path}' not found: download "
                                    f"{official_weights_url()} and pass its path with --fidelity_weights")
        return weights_path
    dst = default_weights_location()
    if os.path.isfile(dst):
        return dst
    reason = 'downloading is disabled'
    if download:
        try:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            torch.hub.download_url_to_file(official_weights_url(), dst, hash_prefix=_OFFICIAL_SHA256_PREFIX,
                                           progress=False)
            return dst
        except Exception as err:  # offline, proxy, HTTP or hash errors all end the same way for the user
            reason = f"download failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    raise FileNotFoundError(f"Inception weights for FID/KID/IS are not available ({reason}): on a machine with "
                            f"internet download {official_weights_url()} and pass it with --fidelity_weights PATH "
                            f"(or copy it to {dst})")


_sha_cache = {}


def _sha256(path):
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _sha_cache:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        _sha_cache[key] = h.hexdigest()
    return _sha_cache[key]


def weights_tag(weights_file):
    """``'official'`` for torch-fidelity's file, else ``'w<sha256 prefix>'``.

    Part of every cache key, so statistics computed with different weights never mix.
    """
    sha = _sha256(weights_file)
    return 'official' if sha.startswith(_OFFICIAL_SHA256_PREFIX) else 'w' + sha[:10]


def _warn_if_unofficial(weights_file):
    if weights_tag(weights_file) != 'official':
        warnings.warn(f"Inception weights '{weights_file}' are not torch-fidelity's official file: FID/KID/IS "
                      "computed with them are not comparable with published numbers", stacklevel=3)


def _inception_skeleton():
    """An InceptionV3 with the exact module names of torch-fidelity's extractor, without loading weights.

    torch-fidelity's constructor always loads a file, so the layer list is rebuilt from its own blocks;
    tests check the result loads strictly into ``FeatureExtractorInceptionV3``.
    """
    from torch import nn
    from torch_fidelity.feature_extractor_inceptionv3 import (BasicConv2d, InceptionA, InceptionB, InceptionC,
                                                              InceptionD, InceptionE_1, InceptionE_2)
    net = nn.Module()
    net.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
    net.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
    net.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
    net.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
    net.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
    net.Mixed_5b = InceptionA(192, pool_features=32)
    net.Mixed_5c = InceptionA(256, pool_features=64)
    net.Mixed_5d = InceptionA(288, pool_features=64)
    net.Mixed_6a = InceptionB(288)
    net.Mixed_6b = InceptionC(768, channels_7x7=128)
    net.Mixed_6c = InceptionC(768, channels_7x7=160)
    net.Mixed_6d = InceptionC(768, channels_7x7=160)
    net.Mixed_6e = InceptionC(768, channels_7x7=192)
    net.Mixed_7a = InceptionD(768)
    net.Mixed_7b = InceptionE_1(1280)
    net.Mixed_7c = InceptionE_2(2048)
    net.fc = nn.Linear(2048, 1008)
    return net


def make_random_inception_weights(path, seed=0):
    """Write a randomly initialised state_dict for torch-fidelity's InceptionV3 extractor to ``path``.

    For tests and offline smoke runs only: FID/KID/IS computed with it measure distances in a random
    feature space and are NOT comparable with published numbers. Convolutions use He initialisation
    and batch norms are identities, so the 2048-d features keep a usable scale through the network.
    """
    gen = torch.Generator().manual_seed(int(seed))
    net = _inception_skeleton()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity='relu', generator=gen)
            elif isinstance(module, torch.nn.Linear):
                # wide enough logits that the Inception Score is not stuck at exactly 1
                module.weight.normal_(0.0, 5.0 / math.sqrt(module.in_features), generator=gen)
                module.bias.zero_()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    atomic_torch_save(state, str(path))
    return str(path)


# ----------------------------------------------------------------------------------------------
# image sources for torch-fidelity

class _FileImages(Dataset):
    """Image files as 3xHxW uint8 tensors (what torch-fidelity's extractors take)."""

    def __init__(self, files, resize=None):
        self.files = list(files)
        self.resize = resize
        if resize is None:
            sizes = {}
            for f in self.files:
                with Image.open(f) as im:  # header only: cheap even for large folders
                    sizes.setdefault(im.size, f)
                if len(sizes) > 1:
                    (s1, f1), (s2, f2) = list(sizes.items())[:2]
                    raise ValueError(f"images have different sizes ({f1}: {s1[0]}x{s1[1]}, {f2}: {s2[0]}x{s2[1]}): "
                                     "pass resize=SIZE (--resize SIZE) to bring them to one square size")

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            with Image.open(self.files[i]) as im:
                im = im.convert('RGB')
        except OSError as err:
            raise ValueError(f"cannot read image '{self.files[i]}': {err}") from None
        if self.resize:
            import torchvision.transforms.functional as TF
            im = TF.center_crop(TF.resize(im, self.resize), self.resize)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous()


class _TensorImages(Dataset):
    """A Nx{1,3}xHxW tensor (uint8, or float in [-1, 1] as the models output) as uint8 RGB images."""

    def __init__(self, images):
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"image tensor must be Nx3xHxW or Nx1xHxW, got {tuple(images.shape)}")
        if images.dtype != torch.uint8:
            images = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
        self.images = images.cpu()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def _as_dataset(images, resize=None, suffix='', max_images=None):
    """Folder, file list, tensor or Dataset -> (Dataset, description used to detect stale caches)."""
    if isinstance(images, torch.Tensor):
        ds = _TensorImages(images[:max_images] if max_images else images)
        return ds, None
    if isinstance(images, Dataset):
        return images, None
    files = list_images(images, suffix=suffix, max_images=max_images)
    listing = [(os.path.realpath(f), os.path.getsize(f), os.stat(f).st_mtime_ns) for f in files]
    fingerprint = hashlib.sha1(repr((listing, resize)).encode()).hexdigest()
    return _FileImages(files, resize=resize), fingerprint


def _need(n, what, metric, minimum=2):
    if n < minimum:
        raise ValueError(f"{metric} needs at least {minimum} {what} images, got {n}")


# ----------------------------------------------------------------------------------------------
# cache of real-image statistics

def _check_dims(dims):
    dims = int(dims)
    if dims not in FID_DIMS:
        raise ValueError(f"FID/KID feature size must be one of {', '.join(map(str, FID_DIMS))} (Inception layers), "
                         f"got {dims}")
    return dims


def _cache_key(name, weights_file, dims):
    # weights and feature size are part of the key, so statistics of different feature spaces never mix
    return f"{normalize_cache_name(name)}-{weights_tag(weights_file)}" + ('' if dims == 2048 else f"-d{dims}")


def _cache_files(cache_dir, key, dims):
    """The files torch-fidelity writes for a cached input (its naming), plus our metadata file."""
    prefix = os.path.join(cache_dir, f"{key}-{_FEATURE_EXTRACTOR}-")
    return {
        'features_fid': prefix + f"features-{dims}.pt",
        'features_isc': prefix + f"features-{_LAYER_ISC}.pt",
        'stat_fid': prefix + f"stat-fid-{dims}.pt",
        'meta': os.path.join(cache_dir, f"{key}.json"),
    }


def _read_meta(cache_dir, key, dims):
    files = _cache_files(cache_dir, key, dims)
    if not all(os.path.isfile(p) for p in files.values()):
        return None
    with open(files['meta']) as f:
        return json.load(f)


def has_cached_statistics(name, weights_path=None, cache_dir=None, dims=2048):
    """True when ``cache_real_statistics(name=...)`` was run for these Inception weights and feature size."""
    weights_file = resolve_inception_weights(weights_path)
    dims = _check_dims(dims)
    return _read_meta(cache_dir or DEFAULT_CACHE_DIR, _cache_key(name, weights_file, dims), dims) is not None


def cached_statistics_info(name, weights_path=None, cache_dir=None, dims=2048):
    """Metadata of a cached statistics entry (source, number of images, weights), or FileNotFoundError."""
    weights_file = resolve_inception_weights(weights_path)
    dims = _check_dims(dims)
    cache_dir = cache_dir or DEFAULT_CACHE_DIR
    meta = _read_meta(cache_dir, _cache_key(name, weights_file, dims), dims)
    if meta is None:
        key = normalize_cache_name(name)
        raise FileNotFoundError(f"no cached statistics named '{key}' in '{cache_dir}' for these Inception weights "
                                f"and dims={dims}: compute them first with cache_real_statistics "
                                f"(tools/blobgan/setup_fid.py --path DIR --name {key})")
    return meta


def _fidelity_kwargs(weights_file, cuda, batch_size, n_items, dims, verbose, seed):
    return dict(
        feature_extractor=_FEATURE_EXTRACTOR,
        feature_extractor_weights_path=weights_file,
        feature_layer_fid=str(dims),
        feature_layer_kid=str(dims),
        cuda=cuda,
        batch_size=batch_size,
        # worker processes cost more than they save on small sets
        save_cpu_ram=n_items < 512,
        rng_seed=seed,
        verbose=verbose,
    )


def cache_real_statistics(real, name, weights_path=None, cache_dir=None, max_images=None, resize=None,
                          device=None, batch_size=32, dims=2048, seed=2020, verbose=False):
    """Compute and cache the Inception features/statistics of real images under ``name`` (lowercased).

    Overwrites an existing entry of the same name, weights and ``dims``. ``real`` is a folder, a file
    list, an image tensor or a Dataset; ``max_images`` keeps the first N files (sorted by name).
    Returns ``{'num_images', 'isc', 'isc_std'}``: the Inception Score of the real set, a useful reference.
    """
    weights_file = resolve_inception_weights(weights_path)
    _warn_if_unofficial(weights_file)
    dims = _check_dims(dims)
    dataset, fingerprint = _as_dataset(real, resize=resize, max_images=max_images)
    return _build_cache(dataset, fingerprint, real, name, weights_file, cache_dir or DEFAULT_CACHE_DIR,
                        _device_is_cuda(device), batch_size, dims, seed, verbose)


def _build_cache(dataset, fingerprint, source, name, weights_file, cache_dir, cuda, batch_size, dims, seed,
                 verbose):
    import torch_fidelity
    key = _cache_key(name, weights_file, dims)
    files = _cache_files(cache_dir, key, dims)
    n = len(dataset)
    _need(n, 'real', 'caching statistics')
    os.makedirs(cache_dir, exist_ok=True)
    for p in files.values():
        if os.path.exists(p):
            os.remove(p)
    # The same dataset under the same cache name on both sides: torch-fidelity extracts it once, caches
    # both feature layers (FID/KID and IS) and the FID statistics, and the second side is a cache hit.
    # Every later fid/kid/isc call can then be served from the cache alone.
    out = torch_fidelity.calculate_metrics(
        input1=dataset, input2=dataset, input1_cache_name=key, input2_cache_name=key, cache=True,
        cache_root=cache_dir, isc=True, fid=True, isc_splits=_isc_splits(n),
        **_fidelity_kwargs(weights_file, cuda, batch_size, n, dims, verbose, seed))
    meta = {'name': normalize_cache_name(name),
            'source': os.path.realpath(source) if isinstance(source, str) else None,
            'fingerprint': fingerprint, 'num_images': n, 'dims': dims, 'weights': os.path.realpath(weights_file),
            'weights_tag': weights_tag(weights_file), 'created': time.strftime('%Y-%m-%d %H:%M:%S')}
    atomic_write_text(files['meta'], json.dumps(meta, indent=2))
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:  # torch-fidelity changed its cache layout: better to fail here than on first use
        raise RuntimeError(f"torch-fidelity did not write the expected cache files {missing}")
    return {'num_images': float(n), 'isc': float(out['inception_score_mean']),
            'isc_std': float(out['inception_score_std'])}


def _isc_splits(n):
    # torch-fidelity's default of 10 splits leaves empty splits (NaN) on small sets; keep >= 2 images per split.
    return max(1, min(10, n // 2))


# ----------------------------------------------------------------------------------------------
# FID / KID / IS

def fidelity_metrics(generated, real=None, metrics=FIDELITY_METRICS, weights_path=None, real_cache_name=None,
                     cache_dir=None, device=None, batch_size=32, resize=None, kid_subset_size=None,
                     kid_subsets=100, isc_splits=None, gen_suffix='', real_suffix='', dims=2048,
                     seed=2020, verbose=False):
    """FID/KID/IS of ``generated`` images against ``real`` ones, through ``torch_fidelity.calculate_metrics``.

    ``generated`` / ``real``: folder, file list, uint8 or [-1, 1] float image tensor, or Dataset.
    ``real_cache_name``: name of cached real statistics (project-local ``.fid_stats/``). With ``real``
    also given, the cache is built on first use and rebuilt when the real files change; with ``real``
    None the cache must exist (``cache_real_statistics``). KID's subset size is min(1000, #gen, #real);
    IS uses min(10, #gen // 2) splits. ``dims`` picks the Inception layer for FID/KID (2048 is the
    standard; 64/192/768 as in pytorch-fid's ``--dims`` are much faster on CPU but not comparable).
    Returns e.g. ``{'fid': .., 'kid': .., 'kid_std': .., 'isc': .., 'isc_std': ..}``.
    """
    import torch_fidelity
    metrics = [m for m in parse_metrics(metrics) if m in FIDELITY_METRICS]
    if not metrics:
        return {}
    binary = 'fid' in metrics or 'kid' in metrics
    weights_file = resolve_inception_weights(weights_path)
    _warn_if_unofficial(weights_file)
    cuda = _device_is_cuda(device)
    dims = _check_dims(dims)
    gen_ds, _ = _as_dataset(generated, resize=resize, suffix=gen_suffix)
    n_gen = len(gen_ds)
    for m in metrics:
        _need(n_gen, 'generated', m.upper())

    kwargs = _fidelity_kwargs(weights_file, cuda, batch_size, n_gen, dims, verbose, seed)
    kwargs.update(input1=gen_ds, isc='isc' in metrics, fid='fid' in metrics, kid='kid' in metrics,
                  isc_splits=isc_splits or _isc_splits(n_gen), kid_subsets=kid_subsets, cache=False)
    if binary:
        if real is None and real_cache_name is None:
            raise ValueError("FID/KID need real images: give a real image folder or a cached statistics name")
        cache_dir = cache_dir or DEFAULT_CACHE_DIR
        n_real = None
        if real_cache_name is not None:
            key = _cache_key(real_cache_name, weights_file, dims)
            meta = _read_meta(cache_dir, key, dims)
            if real is not None:
                real_ds, fingerprint = _as_dataset(real, resize=resize, suffix=real_suffix)
                if meta is None or meta.get('num_images') != len(real_ds) or \
                        (fingerprint is not None and meta.get('fingerprint') != fingerprint):
                    if meta is not None:
                        warnings.warn(f"cached statistics '{key}' were built from other images: rebuilding them")
                    _build_cache(real_ds, fingerprint, real, real_cache_name, weights_file, cache_dir, cuda,
                                 batch_size, dims, seed, verbose)
                    meta = _read_meta(cache_dir, key, dims)
            elif meta is None:
                cached_statistics_info(real_cache_name, weights_file, cache_dir, dims)  # raises the clear error
            n_real = int(meta['num_images'])
            # Every file torch-fidelity looks up exists now, so input2 is only a label it never opens.
            kwargs.update(input2=real if isinstance(real, str) else key, input2_cache_name=key, cache=True,
                          cache_root=cache_dir)
        else:
            real_ds, _ = _as_dataset(real, resize=resize, suffix=real_suffix)
            n_real = len(real_ds)
            kwargs.update(input2=real_ds)
        for m in ('fid', 'kid'):
            if m in metrics:
                _need(n_real, 'real', m.upper())
        kwargs['kid_subset_size'] = kid_subset_size or min(1000, n_gen, n_real)
    out = torch_fidelity.calculate_metrics(**kwargs)
    result = {}
    if 'fid' in metrics:
        result['fid'] = float(out['frechet_inception_distance'])
    if 'kid' in metrics:
        result['kid'] = float(out['kernel_inception_distance_mean'])
        result['kid_std'] = float(out['kernel_inception_distance_std'])
    if 'isc' in metrics:
        result['isc'] = float(out['inception_score_mean'])
        result['isc_std'] = float(out['inception_score_std'])
    return result


# ----------------------------------------------------------------------------------------------
# paired metrics

def _load_float(path):
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert('RGB'), dtype=np.float32) / 255.0
    except OSError as err:
        raise ValueError(f"cannot read image '{path}': {err}") from None
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)


def match_pairs(generated, real, gen_suffix='', real_suffix=''):
    """Pair generated and real files by file stem (minus the suffixes). Returns [(gen, real), ...] sorted.

    Raises ValueError naming the unmatched files when the two sides differ.
    """
    gen_files = list_images(generated, suffix=gen_suffix)
    real_files = list_images(real, suffix=real_suffix)

    def by_key(files, suffix):
        out = {}
        for f in files:
            stem = os.path.splitext(os.path.basename(f))[0]
            out[stem[:len(stem) - len(suffix)] if suffix else stem] = f
        return out
    g, r = by_key(gen_files, gen_suffix), by_key(real_files, real_suffix)
    only_g, only_r = sorted(set(g) - set(r)), sorted(set(r) - set(g))
    if only_g or only_r:
        raise ValueError(f"generated and real images do not pair up by name: {len(only_g)} without a real image "
                         f"{only_g[:3]}, {len(only_r)} without a generated image {only_r[:3]}")
    return [(g[k], r[k]) for k in sorted(g)]


def paired_metrics(generated, real, metrics=PAIRED_METRICS, gen_suffix='', real_suffix='', device=None):
    """Mean per-image PSNR (dB), SSIM and L1 between pairs of images with matching names.

    Pixels are compared in [0, 1] (data range 1): L1 is the mean absolute difference on that scale,
    PSNR is ``inf`` for identical images (so is the mean if any pair is identical), SSIM uses
    torchmetrics' Gaussian 11x11 window. Returns e.g. ``{'psnr': .., 'ssim': .., 'l1': ..}``.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
    metrics = [m for m in parse_metrics(metrics) if m in PAIRED_METRICS]
    if not metrics:
        return {}
    dev = torch.device('cuda' if _device_is_cuda(device) else 'cpu')
    sums = {m: 0.0 for m in metrics}
    pairs = match_pairs(generated, real, gen_suffix, real_suffix)
    for gen_file, real_file in pairs:
        x, y = _load_float(gen_file).to(dev), _load_float(real_file).to(dev)
        if x.shape != y.shape:
            raise ValueError(f"paired images differ in size: '{gen_file}' is {x.shape[3]}x{x.shape[2]}, "
                             f"'{real_file}' is {y.shape[3]}x{y.shape[2]}")
        if 'psnr' in sums:
            mse = float(torch.mean((x - y) ** 2))
            sums['psnr'] += math.inf if mse == 0 else float(peak_signal_noise_ratio(x, y, data_range=1.0))
        if 'ssim' in sums:
            if min(x.shape[2:]) < 11:
                raise ValueError(f"SSIM needs images of at least 11x11 pixels, '{gen_file}' is "
                                 f"{x.shape[3]}x{x.shape[2]}")
            sums['ssim'] += float(structural_similarity_index_measure(x, y, data_range=1.0))
        if 'l1' in sums:
            sums['l1'] += float(torch.mean(torch.abs(x - y)))
    return {m: sums[m] / len(pairs) for m in metrics}


# ----------------------------------------------------------------------------------------------
# one entry point and metrics.json

def evaluate(generated, real=None, metrics=ALL_METRICS, weights_path=None, real_cache_name=None, cache_dir=None,
             device=None, batch_size=32, resize=None, gen_suffix='', real_suffix='', dims=2048, seed=2020,
             verbose=False):
    """Every requested metric between generated and real images, as one flat dict of floats."""
    names = parse_metrics(metrics)
    result = {}
    if any(m in FIDELITY_METRICS for m in names):
        result.update(fidelity_metrics(generated, real, names, weights_path=weights_path,
                                       real_cache_name=real_cache_name, cache_dir=cache_dir, device=device,
                                       batch_size=batch_size, resize=resize, gen_suffix=gen_suffix,
                                       real_suffix=real_suffix, dims=dims, seed=seed, verbose=verbose))
    if any(m in PAIRED_METRICS for m in names):
        if real is None:
            raise ValueError("PSNR/SSIM/L1 need a folder of real images paired by file name with the generated ones")
        result.update(paired_metrics(generated, real, names, gen_suffix=gen_suffix, real_suffix=real_suffix,
                                     device=device))
    return result


def _json_number(v):
    # strict JSON has no inf/nan (browsers reject them); write them as strings and read them back as floats
    v = float(v)
    return v if math.isfinite(v) else str(v)


def write_metrics_json(path, metrics):
    """Atomically write a flat dict of metrics to ``path`` (``inf``/``nan`` stored as strings)."""
    data = {str(k): _json_number(v) for k, v in metrics.items()}
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + '\n'
    atomic_write_text(str(path), text)
    return str(path)


def read_metrics_json(path):
    """Read a file written by :func:`write_metrics_json` back into a dict of floats."""
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"'{path}' is not a metrics.json file (expected a JSON object)")
    return {k: float(v) for k, v in data.items()}


def format_metrics(metrics):
    """One printable line, e.g. ``fid=12.3456 kid=0.0123 psnr=21.05``."""
    return ' '.join(f"{k}={v:.6g}" for k, v in metrics.items())
