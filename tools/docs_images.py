"""Screenshots for the docs (docs/images/) from trained runs: the demo app's pix2pix page after translating a test
image, its BlobGAN page after sampling a scene, and test.py's results page of the pix2pix run.

    python -m tools.docs_images --pix2pix synthetic_facades_pix2pix --blobgan synthetic_scenes_blobgan

scripts/docs_images.sh trains both runs first (the demo's pix2pix, a BlobGAN for a few minutes) and then calls
this. Each run is served with the app on a free loopback port and driven by headless chromium through Selenium
(demo_app/browser.py); the results page is opened as a file:// URL.
"""
import argparse
import os
import sys
import tempfile

from PIL import Image

from demo_app.browser import chromium_driver, wait_for_image
from demo_app.core import Session
from demo_app.server import build_app, launch
from util.cli import run_cli
from util.errors import OptionError

SHOTS = ('app_pix2pix.png', 'app_blobgan.png', 'results_page.png')


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pix2pix', required=True, help='name of the trained pix2pix run (served with the app)')
    p.add_argument('--blobgan', required=True, help='name of the trained BlobGAN run (served with the app)')
    p.add_argument('--checkpoints_dir', default='./checkpoints', help='where both runs are')
    p.add_argument('--results_page', default=None,
                   help="test.py's page of the pix2pix run (default: ./results/<pix2pix>/test_latest/index.html)")
    p.add_argument('--example', default='1.png', help="test image of the pix2pix run uploaded to its page")
    p.add_argument('--seed', type=int, default=0, help='seed of the BlobGAN scene sampled on its page')
    p.add_argument('--out_dir', default='docs/images', help='where the screenshots go (' + ', '.join(SHOTS) + ')')
    p.add_argument('--window', default='1280x900', help='browser window size WIDTHxHEIGHT (the screenshot size)')
    return p


def serve(name, checkpoints_dir):
    """The app of run ``name`` on a free loopback port: (gradio Blocks, URL)."""
    demo = build_app(Session(['--name', name, '--checkpoints_dir', checkpoints_dir]))
    return demo, launch(demo)


def screenshot(driver, path):
    """The top of the page (clicking scrolls the button into view)."""
    driver.execute_script('window.scrollTo(0, 0)')
    driver.save_screenshot(path)


def shoot_pix2pix(driver, demo, url, example, path, work_dir):
    """Upload the input half of a test pair (enlarged, as a user's photo would be), click Translate, wait for the
    output and the latency line, save the screenshot."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    upload = os.path.join(work_dir, 'upload.png')
    Image.fromarray(demo.page.load_example(example)).resize((256, 256), Image.NEAREST).save(upload)
    driver.get(url)
    wait = WebDriverWait(driver, 120)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#input-image input[type=file]')).send_keys(upload)
    wait_for_image(driver, 'input-image')
    driver.find_element(By.CSS_SELECTOR, '#run-button').click()
    wait_for_image(driver, 'output-image', timeout=120)
    wait.until(lambda d: 'ms' in d.find_element(By.CSS_SELECTOR, '#latency').text)
    screenshot(driver, path)


def shoot_blobgan(driver, url, seed, path):
    """Set the seed, click Sample, wait for the scene and its drawn layout, save the screenshot."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(url)
    wait = WebDriverWait(driver, 120)
    seed_box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#seed input'))
    seed_box.clear()
    seed_box.send_keys(str(seed))
    driver.find_element(By.CSS_SELECTOR, '#run-button').click()
    wait_for_image(driver, 'output-image', timeout=120)
    wait_for_image(driver, 'layout-image', timeout=120)
    screenshot(driver, path)


def shoot_results_page(driver, page, path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get('file://' + os.path.abspath(page))
    WebDriverWait(driver, 60).until(  # every image decoded
        lambda d: d.execute_script('return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)')
        and d.find_elements(By.TAG_NAME, 'img'))
    screenshot(driver, path)


def main(argv=None):
    opt = build_parser().parse_args(argv)
    page = opt.results_page or os.path.join('results', opt.pix2pix, 'test_latest', 'index.html')
    if not os.path.isfile(page):
        raise FileNotFoundError(f'no results page {page}: run test.py on --pix2pix {opt.pix2pix} first '
                                f'(or pass --results_page)')
    try:
        window = tuple(int(v) for v in opt.window.lower().split('x'))
    except ValueError:
        window = ()
    if len(window) != 2:
        raise OptionError(f'--window {opt.window}: give WIDTHxHEIGHT, e.g. 1280x900')
    driver = chromium_driver(window)
    if driver is None:
        raise OptionError('no chromium/chromedriver on this machine: apt-get install chromium chromium-driver')
    os.makedirs(opt.out_dir, exist_ok=True)
    paths = [os.path.join(opt.out_dir, name) for name in SHOTS]
    demos = []
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            demo, url = serve(opt.pix2pix, opt.checkpoints_dir)
            demos.append(demo)
            shoot_pix2pix(driver, demo, url, opt.example, paths[0], work_dir)
            demo, url = serve(opt.blobgan, opt.checkpoints_dir)
            demos.append(demo)
            shoot_blobgan(driver, url, opt.seed, paths[1])
            shoot_results_page(driver, page, paths[2])
    finally:
        driver.quit()
        for demo in demos:
            demo.close()
    for path in paths:
        print(f'wrote {path} ({os.path.getsize(path) // 1024} KB)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
