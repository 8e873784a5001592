"""One entry point for every metric: :func:`evaluate` sends each requested metric to its kind's computation."""
from metrics.fidelity import fidelity_metrics
from metrics.paired import paired_metrics
from metrics.registry import get_metric, metric_names, parse_metrics


def evaluate(generated, real=None, metrics=None, weights_path=None, real_cache_name=None, cache_dir=None,
             device=None, batch_size=32, resize=None, gen_suffix='', real_suffix='', dims=2048, seed=2020,
             verbose=False):
    """Every requested metric between generated and real images, as one flat dict of floats."""
    names = parse_metrics(metrics if metrics is not None else metric_names())
    kinds = {get_metric(m).kind for m in names}
    result = {}
    if 'fidelity' in kinds:
        result.update(fidelity_metrics(generated, real, names, weights_path=weights_path,
                                       real_cache_name=real_cache_name, cache_dir=cache_dir, device=device,
                                       batch_size=batch_size, resize=resize, gen_suffix=gen_suffix,
                                       real_suffix=real_suffix, dims=dims, seed=seed, verbose=verbose))
    if 'paired' in kinds:
        if real is None:
            raise ValueError("PSNR/SSIM/L1 need a folder of real images paired by file name with the generated ones")
        result.update(paired_metrics(generated, real, names, gen_suffix=gen_suffix, real_suffix=real_suffix,
                                     device=device))
    return result
