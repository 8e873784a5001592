"""The registry of metric names: what ``--metrics fid,kid,psnr`` (test.py), ``--eval_metrics`` (train.py),
tools/evaluate.py and tools/compare.py accept.

A metric registers itself with ``@register_metric(name, kind, higher_is_better)`` in the module that computes it:

* ``'fidelity'``: distribution metrics of generated images against real ones, computed by a ``backend``:
  ``'torch-fidelity'`` (metrics/fidelity.py: fid, kid, isc, all in one torch-fidelity call; the registered
  function turns torch-fidelity's output dict into this project's keys) or ``'clean-fid'`` (metrics/clean_fid.py:
  clean_fid, BlobGAN's published FID; the registered function turns the distance into this project's key);
* ``'paired'`` (metrics/paired.py): per image pair, averaged over the pairs (psnr, ssim, l1); the registered
  function takes two 1x3xHxW float tensors in [0, 1] and returns a float.
"""
from collections import OrderedDict, namedtuple

KINDS = ('fidelity', 'paired')
FIDELITY_BACKENDS = ('torch-fidelity', 'clean-fid')

Metric = namedtuple('Metric', 'name kind fn aliases description higher_is_better backend default')

_METRICS = OrderedDict()  # name -> Metric, in registration order (the order of reports and error messages)
_ALIASES = {}  # spelling users type -> name


def register_metric(name, kind, higher_is_better, aliases=(), description='', backend=None, default=True):
    """Decorator: register ``fn`` as metric ``name`` of ``kind`` ('fidelity' or 'paired'), also known as ``aliases``.
    ``higher_is_better`` is the metric's direction, read by best-checkpoint selection (``--save_best metric:X``), the
    plateau schedule and comparison reports. ``backend``: the library computing a 'fidelity' metric (metrics of one
    backend are computed in one pass). ``default=False``: computed only when asked for by name, not when no
    metric is named (clean_fid needs its own Inception file and real statistics)."""
    if kind not in KINDS:
        raise ValueError(f"metric kind must be one of {', '.join(KINDS)}, got '{kind}'")
    if (kind == 'fidelity') != (backend in FIDELITY_BACKENDS):
        raise ValueError(f"a 'fidelity' metric names its backend ({', '.join(FIDELITY_BACKENDS)}), "
                         f"a 'paired' one none; got {backend!r}")

    def decorate(fn):
        for spelling in (name, *aliases):
            owner = _ALIASES.get(spelling, spelling if spelling in _METRICS else None)
            if owner is not None and _METRICS[owner].fn is not fn:
                raise ValueError(f"metric name '{spelling}' is already registered (by '{owner}')")
        _METRICS[name] = Metric(name, kind, fn, tuple(aliases), description or (fn.__doc__ or '').strip(),
                                bool(higher_is_better), backend, bool(default))
        for alias in aliases:
            _ALIASES[alias] = name
        return fn
    return decorate


def metric_names(kind=None, backend=None, default_only=False):
    """Registered metric names (of one kind and backend, or all), in registration order; ``default_only``: those
    computed when no metric is named."""
    return tuple(m.name for m in _METRICS.values() if (kind is None or m.kind == kind)
                 and (backend is None or m.backend == backend) and (m.default or not default_only))


def get_metric(name):
    """The :class:`Metric` registered as ``name`` (case and surrounding spaces ignored, aliases resolved)."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _METRICS:
        raise ValueError(f"unknown metric '{name}': choose from {','.join(metric_names())}")
    return _METRICS[key]


def higher_is_better(key):
    """Direction of a metric or of a key of a metrics result (``kid_std`` follows ``kid``); None for keys that
    are no registered metric (counts such as ``n_samples``)."""
    key = str(key).strip().lower()
    for spelling in (key, key[:-len('_std')] if key.endswith('_std') else None):
        name = _ALIASES.get(spelling, spelling)
        if name in _METRICS:
            return _METRICS[name].higher_is_better
    return None


def parse_metrics(spec):
    """Turn ``"fid,kid,isc"`` (or a list) into a validated list of metric names, order kept, duplicates dropped."""
    if spec is None:
        return []
    items = spec.split(',') if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        if not str(item).strip():
            continue
        name = get_metric(item).name
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError(f"no metric given: choose from {','.join(metric_names())}")
    return out
