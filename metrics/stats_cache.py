"""Project-local cache of real-image Inception statistics (``.fid_stats/``, ignored by git; never
site-packages or ~/.cache), keyed by a lowercased name, the weights and the feature size: what blobgan's
``setup_fid`` / ``compute_fid`` tools and ``fidelity_metrics(real_cache_name=...)`` use."""
import json
import os
import re
import time

from metrics.inputs import as_dataset, device_is_cuda, need
from metrics.weights import resolve_inception_weights, warn_if_unofficial, weights_tag
from util.util import atomic_write_text

DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.fid_stats')

# torch-fidelity's name for its TF-compatible InceptionV3 and the layers each metric reads.
_FEATURE_EXTRACTOR = 'inception-v3-compat'
FID_DIMS = (64, 192, 768, 2048)
_LAYER_ISC = 'logits_unbiased'


def normalize_cache_name(name):
    """Lowercase a statistics cache name and check it is usable in a file name."""
    key = str(name).strip().lower()
    if not re.fullmatch(r'[a-z0-9][a-z0-9._-]*', key):
        raise ValueError(f"invalid statistics name '{name}': use letters, digits, '.', '_' or '-'")
    return key


def check_dims(dims):
    dims = int(dims)
    if dims not in FID_DIMS:
        raise ValueError(f"FID/KID feature size must be one of {', '.join(map(str, FID_DIMS))} (Inception layers), "
                         f"got {dims}")
    return dims


def cache_key(name, weights_file, dims):
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


def read_meta(cache_dir, key, dims):
    files = _cache_files(cache_dir, key, dims)
    if not all(os.path.isfile(p) for p in files.values()):
        return None
    with open(files['meta']) as f:
        return json.load(f)


def has_cached_statistics(name, weights_path=None, cache_dir=None, dims=2048):
    """True when ``cache_real_statistics(name=...)`` was run for these Inception weights and feature size."""
    weights_file = resolve_inception_weights(weights_path)
    dims = check_dims(dims)
    return read_meta(cache_dir or DEFAULT_CACHE_DIR, cache_key(name, weights_file, dims), dims) is not None


def cached_statistics_info(name, weights_path=None, cache_dir=None, dims=2048):
    """Metadata of a cached statistics entry (source, number of images, weights), or FileNotFoundError."""
    weights_file = resolve_inception_weights(weights_path)
    dims = check_dims(dims)
    cache_dir = cache_dir or DEFAULT_CACHE_DIR
    meta = read_meta(cache_dir, cache_key(name, weights_file, dims), dims)
    if meta is None:
        key = normalize_cache_name(name)
        raise FileNotFoundError(f"no cached statistics named '{key}' in '{cache_dir}' for these Inception weights "
                                f"and dims={dims}: compute them first with cache_real_statistics "
                                f"(python -m tools.blobgan.setup_fid --fid_backend torch-fidelity --path DIR --name {key})")
    return meta


def fidelity_kwargs(weights_file, cuda, batch_size, n_items, dims, verbose, seed):
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
    warn_if_unofficial(weights_file)
    dims = check_dims(dims)
    dataset, fingerprint = as_dataset(real, resize=resize, max_images=max_images)
    return build_cache(dataset, fingerprint, real, name, weights_file, cache_dir or DEFAULT_CACHE_DIR,
                        device_is_cuda(device), batch_size, dims, seed, verbose)


def build_cache(dataset, fingerprint, source, name, weights_file, cache_dir, cuda, batch_size, dims, seed,
                 verbose):
    import torch_fidelity
    key = cache_key(name, weights_file, dims)
    files = _cache_files(cache_dir, key, dims)
    n = len(dataset)
    need(n, 'real', 'caching statistics')
    os.makedirs(cache_dir, exist_ok=True)
    for p in files.values():
        if os.path.exists(p):
            os.remove(p)
    # The same dataset under the same cache name on both sides: torch-fidelity extracts it once, caches
    # both feature layers (FID/KID and IS) and the FID statistics, and the second side is a cache hit.
    # Every later fid/kid/isc call can then be served from the cache alone.
    out = torch_fidelity.calculate_metrics(
        input1=dataset, input2=dataset, input1_cache_name=key, input2_cache_name=key, cache=True,
        cache_root=cache_dir, isc=True, fid=True, isc_splits=default_isc_splits(n),
        **fidelity_kwargs(weights_file, cuda, batch_size, n, dims, verbose, seed))
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


def default_isc_splits(n):
    # torch-fidelity's default of 10 splits leaves empty splits (NaN) on small sets; keep >= 2 images per split.
    return max(1, min(10, n // 2))
