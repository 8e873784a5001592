"""``metrics.json`` files: strict JSON (``inf``/``nan`` stored as strings), written atomically."""
import json
import math

from util.util import atomic_write_text


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
