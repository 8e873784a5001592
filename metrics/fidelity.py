"""FID, KID and IS (``fid``, ``kid``, ``isc``; backend 'torch-fidelity') through torch-fidelity's
``calculate_metrics``: every requested one in a single pass over the images. Each registered function reads its
values out of torch-fidelity's result dict; a metric's name is torch-fidelity's flag for it
(``calculate_metrics(fid=True)``)."""
import warnings

from metrics.inputs import as_dataset, device_is_cuda, need
from metrics.registry import get_metric, metric_names, parse_metrics, register_metric
from metrics.stats_cache import (DEFAULT_CACHE_DIR, build_cache, cache_key, cached_statistics_info, check_dims,
                                 default_isc_splits, fidelity_kwargs, read_meta)
from metrics.weights import resolve_inception_weights, warn_if_unofficial


BACKEND = 'torch-fidelity'


@register_metric('fid', 'fidelity', higher_is_better=False, backend=BACKEND,
                 description='Frechet Inception distance (lower is better)')
def _fid(out):
    return {'fid': float(out['frechet_inception_distance'])}


@register_metric('kid', 'fidelity', higher_is_better=False, backend=BACKEND,
                 description='kernel Inception distance, mean and std over subsets')
def _kid(out):
    return {'kid': float(out['kernel_inception_distance_mean']),
            'kid_std': float(out['kernel_inception_distance_std'])}


@register_metric('isc', 'fidelity', higher_is_better=True, backend=BACKEND, aliases=('is', 'inception_score'),
                 description='Inception Score of the generated images, mean and std over splits')
def _isc(out):
    return {'isc': float(out['inception_score_mean']), 'isc_std': float(out['inception_score_std'])}


def fidelity_metrics(generated, real=None, metrics=None, weights_path=None, real_cache_name=None,
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
    ours = metric_names('fidelity', BACKEND)
    requested = parse_metrics(metrics if metrics is not None else ours)
    metrics = [m for m in ours if m in requested]
    if not metrics:
        return {}
    binary = 'fid' in metrics or 'kid' in metrics
    weights_file = resolve_inception_weights(weights_path)
    warn_if_unofficial(weights_file)
    cuda = device_is_cuda(device)
    dims = check_dims(dims)
    gen_ds, _ = as_dataset(generated, resize=resize, suffix=gen_suffix)
    n_gen = len(gen_ds)
    for m in metrics:
        need(n_gen, 'generated', m.upper())

    kwargs = fidelity_kwargs(weights_file, cuda, batch_size, n_gen, dims, verbose, seed)
    kwargs.update({m: True for m in metrics})  # a fidelity metric's name is torch-fidelity's flag for it
    kwargs.update(input1=gen_ds, isc_splits=isc_splits or default_isc_splits(n_gen), kid_subsets=kid_subsets,
                  cache=False)
    if binary:
        if real is None and real_cache_name is None:
            raise ValueError("FID/KID need real images: give a real image folder or a cached statistics name")
        cache_dir = cache_dir or DEFAULT_CACHE_DIR
        n_real = None
        if real_cache_name is not None:
            key = cache_key(real_cache_name, weights_file, dims)
            meta = read_meta(cache_dir, key, dims)
            if real is not None:
                real_ds, fingerprint = as_dataset(real, resize=resize, suffix=real_suffix)
                if meta is None or meta.get('num_images') != len(real_ds) or \
                        (fingerprint is not None and meta.get('fingerprint') != fingerprint):
                    if meta is not None:
                        warnings.warn(f"cached statistics '{key}' were built from other images: rebuilding them")
                    build_cache(real_ds, fingerprint, real, real_cache_name, weights_file, cache_dir, cuda,
                                batch_size, dims, seed, verbose)
                    meta = read_meta(cache_dir, key, dims)
            elif meta is None:
                cached_statistics_info(real_cache_name, weights_file, cache_dir, dims)  # raises the clear error
            n_real = int(meta['num_images'])
            # Every file torch-fidelity looks up exists now, so input2 is only a label it never opens.
            kwargs.update(input2=real if isinstance(real, str) else key, input2_cache_name=key, cache=True,
                          cache_root=cache_dir)
        else:
            real_ds, _ = as_dataset(real, resize=resize, suffix=real_suffix)
            n_real = len(real_ds)
            kwargs.update(input2=real_ds)
        for m in ('fid', 'kid'):
            if m in metrics:
                need(n_real, 'real', m.upper())
        kwargs['kid_subset_size'] = kid_subset_size or min(1000, n_gen, n_real)
    out = torch_fidelity.calculate_metrics(**kwargs)
    result = {}
    for m in metrics:
        result.update(get_metric(m).fn(out))
    return result
