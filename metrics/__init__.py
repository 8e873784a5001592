"""Image quality metrics, one file per concern (every public function returns a plain dict of floats;
the held-out evaluation during training and the best networks of a run are in training/):

registry.py     metric names and directions: register_metric / get_metric / metric_names / parse_metrics /
                higher_is_better
weights.py      InceptionV3 weights (torch-fidelity's file, a local path or a clear error; random ones for tests)
inputs.py       image folders, tensors and results folders as metric inputs; pairing by file name
stats_cache.py  project-local cache of real-image statistics (.fid_stats/)
fidelity.py     fid, kid, isc through torch-fidelity
clean_fid.py    clean_fid through clean-fid (BlobGAN's published FID), asked for by name
paired.py       psnr, ssim, l1 between images paired by name
compute.py      evaluate(): every requested metric in one call; FID_BY_BACKEND (--fid_backend -> metric name)
json_io.py      metrics.json files: the one format of metric results (test.py, tools, BlobGAN's FID files)
results.py      scores of a test.py results folder (test.py --metrics, train.py --eval_freq, tools/compare.py)

``import metrics as M`` gives the public names below; importing the package registers every metric.
"""
from metrics.registry import get_metric, higher_is_better, metric_names, parse_metrics, register_metric  # noqa: F401
from metrics.weights import (default_weights_location, make_random_inception_weights,  # noqa: F401
                             official_weights_url, resolve_inception_weights, weights_tag)
from metrics.inputs import list_images, match_pairs, results_dir_images  # noqa: F401
from metrics.stats_cache import (DEFAULT_CACHE_DIR, FID_DIMS, cache_real_statistics,  # noqa: F401
                                 cached_statistics_info, has_cached_statistics, normalize_cache_name)
from metrics.fidelity import fidelity_metrics  # noqa: F401
from metrics.paired import paired_metrics  # noqa: F401
from metrics.clean_fid import GeneratorSamples, clean_fid_metrics  # noqa: F401
from metrics.compute import FID_BY_BACKEND, evaluate  # noqa: F401
from metrics.json_io import format_metrics, read_metrics_json, write_metrics_json  # noqa: F401
