"""Scores of a folder of translated images, shared by test.py (--metrics), train.py (--eval_freq) and
tools/compare.py: FID/KID/IS and PSNR/SSIM/L1 from metrics/ between the generated (``*_fake_B``) and
real (``*_real_B``) images that save_images wrote, plus what the model measured itself (e.g. diversity).
"""
import os

from metrics.compute import evaluate
from metrics.inputs import results_dir_images
from metrics.json_io import read_metrics_json, write_metrics_json
from metrics.registry import get_metric, parse_metrics
from metrics.weights import weights_tag

METRICS_FILE = 'metrics.json'
RANDOM_WEIGHTS_NOTE = ('FID/KID/IS computed with randomly initialised Inception weights: useful to compare runs '
                       'of this study with each other only, NOT comparable with published numbers')
UNOFFICIAL_WEIGHTS_NOTE = ("FID/KID/IS computed with Inception weights other than torch-fidelity's official file: "
                           'compare them only with runs scored with the same file, never with published numbers')


def score_images(image_dir, metric_names, weights_path=None, device=None, fake_suffix='_fake_B',
                 real_suffix='_real_B', files=None):
    """Requested metrics of ``image_dir``'s generated images against the real ones with the same stems;
    ``files``: only these file names (e.g. what this test.py run wrote), not whatever else the folder holds."""
    names = parse_metrics(metric_names)
    if not names:
        return {}
    fake, real = results_dir_images(image_dir, fake_suffix, real_suffix)
    if files is not None:
        keep = {os.path.basename(f) for f in files}
        fake = [f for f in fake if os.path.basename(str(f)) in keep]
        real = [f for f in real if os.path.basename(str(f)) in keep]
    return evaluate(fake, real, names, weights_path=weights_path, device=device,
                    gen_suffix=fake_suffix, real_suffix=real_suffix)


def score_samples(files, real, metric_names, weights_path=None, device=None):
    """Distribution metrics (fid, kid, isc) of generated samples (``files``, e.g. what test.py --model gan wrote)
    against ``real`` (a folder, or a Dataset such as :class:`metrics.inputs.DatasetImages`), read in batches:
    memory does not grow with the number of samples beyond the metrics' features."""
    names = parse_metrics(metric_names)
    paired = [m for m in names if get_metric(m).kind == 'paired']
    if paired:  # also refused by the options before anything is generated (models/gan_model.py)
        raise ValueError(unpaired_metrics_message(paired))
    if not names:
        return {}
    return evaluate(list(files), real, names, weights_path=weights_path, device=device)


def unpaired_metrics_message(paired):
    return (f"--metrics {','.join(paired)}: these compare each output with its target image, and generated samples "
            f"have none; use fid, kid or isc")


def write_results_metrics(web_dir, metrics):
    """Write ``<web_dir>/metrics.json`` (atomically) and return its path."""
    return write_metrics_json(os.path.join(web_dir, METRICS_FILE), metrics)


def read_results_metrics(web_dir):
    path = os.path.join(web_dir, METRICS_FILE)
    return read_metrics_json(path) if os.path.isfile(path) else {}


def uses_unofficial_weights(weights_path):
    """True when FID/KID/IS would use a weights file other than torch-fidelity's official one."""
    if not weights_path:
        return False
    return weights_tag(weights_path) != 'official'
