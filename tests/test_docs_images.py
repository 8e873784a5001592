"""tools/docs_images.py (the docs screenshots of scripts/docs_images.sh) on tiny saved runs: the app pages are
driven and the results page is opened in headless chromium; the input errors are one line."""
import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_test
from demo_app.browser import chromium_paths
from tiny_runs import make_run
from tools import docs_images
from util.errors import OptionError


def test_screenshots_of_both_apps_and_the_results_page(tmp_path):
    if chromium_paths() is None:
        pytest.skip('no chromium/chromedriver on this machine (apt-get install chromium chromium-driver)')
    root = str(tmp_path)
    ck = make_run(root, 'p2p')
    make_run(root, 'blob')
    results = os.path.join(root, 'results')
    assert run_test(['--name', 'p2p', '--checkpoints_dir', ck, '--results_dir', results, '--num_test', '2']) == 0
    out = os.path.join(root, 'shots')
    docs_images.main(['--pix2pix', 'p2p', '--blobgan', 'blob', '--checkpoints_dir', ck, '--out_dir', out,
                      '--results_page', os.path.join(results, 'p2p', 'test_latest', 'index.html'),
                      '--window', '800x600', '--seed', '3'])
    for name in docs_images.SHOTS:
        shot = np.asarray(Image.open(os.path.join(out, name)).convert('RGB'))
        assert shot.shape == (600, 800, 3)
        assert shot.reshape(-1, 3).std(axis=0).max() > 10, name  # a page was drawn, not a blank window
    # the results page shows the test images' rows: its screenshot differs from the app's
    assert not np.array_equal(np.asarray(Image.open(os.path.join(out, 'results_page.png'))),
                              np.asarray(Image.open(os.path.join(out, 'app_pix2pix.png'))))


def test_missing_results_page_and_bad_window_are_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match='no results page .*run test.py on --pix2pix p2p first'):
        docs_images.main(['--pix2pix', 'p2p', '--blobgan', 'blob', '--results_page', str(tmp_path / 'none.html')])
    page = tmp_path / 'index.html'
    page.write_text('<html></html>')
    with pytest.raises(OptionError, match='--window 800: give WIDTHxHEIGHT'):
        docs_images.main(['--pix2pix', 'p2p', '--blobgan', 'blob', '--results_page', str(page), '--window', '800'])
