"""The seed's comet functional test: start a real (online) comet experiment through the comet backend, log
parameters, losses and an image, read them back through comet's REST API, then delete the experiment.

It needs an API key (COMET_API_KEY or .comet.config) and a reachable server, so it is skipped elsewhere.
Set ZOO_COMET_KEEP=1 (the seed's should_delete = False) to keep the experiment; kept test experiments are found
on comet's web interface by their parameter is_functional_test = True.
"""
import os
import time

import pytest
import torch

comet_ml = pytest.importorskip('comet_ml')

from visualizers.comet_backend import comet_api_key, comet_server_unreachable  # noqa: E402

SHOULD_DELETE = not os.environ.get('ZOO_COMET_KEEP')


def _skip_reason():
    if not comet_api_key():
        return 'no comet API key (COMET_API_KEY or .comet.config)'
    return comet_server_unreachable()


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=str(_skip_reason()))


def test_comet_functional_logging_and_cleanup(tmp_path):
    from options.train_options import TrainOptions
    from visualizers import Visualizer
    opt = TrainOptions(['--dataroot', str(tmp_path), '--model', 'pix2pix', '--checkpoints_dir', str(tmp_path / 'ck'),
                        '--name', 'functional', '--comet', '--no_html', '--display_id', '0', '--log_level', '2',
                        '--comet_tags', 'functional_test', '--comet_note', 'zoo functional test',
                        '--run_dir', str(tmp_path / 'run')]).parse()
    vis = Visualizer(opt)
    (backend,) = vis.backends
    assert not backend.offline, 'the comet server was reachable but the backend went offline'
    exp = backend.experiment
    exp.log_parameter('is_functional_test', True)
    key = exp.get_key()
    try:
        vis.plot_current_losses(1, 0.5, {'G_GAN': 1.5, 'D_real': 0.25}, total_iters=3)
        vis.display_current_results({'real_A': torch.zeros(1, 3, 16, 16)}, 1, True, total_iters=3)
        assert (tmp_path / 'run' / 'comet_url.txt').read_text().strip() == exp.url
        vis.close()
        api = comet_ml.API()
        remote = None
        for _ in range(20):  # the server indexes the upload asynchronously
            remote = api.get_experiment_by_key(key)
            names = {m['metricName'] for m in remote.get_metrics()} if remote else set()
            if {'G_GAN', 'D_real'} <= names:
                break
            time.sleep(3)
        assert remote is not None and {'G_GAN', 'D_real'} <= names
        params = {p['name']: p['valueCurrent'] for p in remote.get_parameters_summary()}
        assert params.get('is_functional_test') in ('True', 'true', True) and params.get('name') == 'functional'
        assert 'functional_test' in remote.get_tags()
    finally:
        if SHOULD_DELETE:
            comet_ml.API().delete_experiment(key)
