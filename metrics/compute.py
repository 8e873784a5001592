"""One entry point for every metric: :func:`evaluate` sends each requested metric to the computation of its kind
and backend (torch-fidelity, clean-fid or the paired metrics), each computing its metrics in one pass."""
from metrics import clean_fid, fidelity
from metrics.paired import paired_metrics
from metrics.registry import get_metric, metric_names, parse_metrics

# The FID metric each --fid_backend computes (BlobGAN's model and tools; clean-fid, first, is the published one).
FID_BY_BACKEND = {clean_fid.BACKEND: 'clean_fid', fidelity.BACKEND: 'fid'}


def evaluate(generated, real=None, metrics=None, weights_path=None, real_cache_name=None, cache_dir=None,
             device=None, batch_size=32, resize=None, gen_suffix='', real_suffix='', dims=2048, seed=2020,
             verbose=False):
    """Every requested metric (default: all registered with ``default=True``) between generated and real images,
    as one flat dict of floats (what metrics.json holds, metrics/json_io.py).

    ``generated``: a folder, file list, image tensor or Dataset; for clean_fid also
    :class:`metrics.clean_fid.GeneratorSamples`. ``weights_path``, ``real_cache_name`` and ``cache_dir`` are the
    Inception file and the cached real statistics of the requested FID backend (torch-fidelity's ``.fid_stats/``
    or clean-fid's ``.fid_stats/clean``)."""
    names = parse_metrics(metrics if metrics is not None else metric_names(default_only=True))
    groups = {}
    for m in names:
        metric = get_metric(m)
        groups.setdefault(metric.backend or metric.kind, []).append(m)
    if weights_path and fidelity.BACKEND in groups and clean_fid.BACKEND in groups:
        raise ValueError(f"{','.join(groups[fidelity.BACKEND])} (torch-fidelity) and clean_fid (clean-fid) use "
                         f"different Inception files: score them in two calls")
    result = {}
    if fidelity.BACKEND in groups:
        result.update(fidelity.fidelity_metrics(
            generated, real, groups[fidelity.BACKEND], weights_path=weights_path, real_cache_name=real_cache_name,
            cache_dir=cache_dir, device=device, batch_size=batch_size, resize=resize, gen_suffix=gen_suffix,
            real_suffix=real_suffix, dims=dims, seed=seed, verbose=verbose))
    if clean_fid.BACKEND in groups:
        result.update(clean_fid.clean_fid_metrics(generated, real_cache_name, weights_path=weights_path,
                                                  cache_dir=cache_dir, device=device, batch_size=batch_size))
    if 'paired' in groups:
        if real is None:
            raise ValueError("PSNR/SSIM/L1 need a folder of real images paired by file name with the generated ones")
        result.update(paired_metrics(generated, real, groups['paired'], gen_suffix=gen_suffix,
                                     real_suffix=real_suffix, device=device))
    return result
