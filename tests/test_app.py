"""The demo app: page functions per model on tiny runs, the HTTP API through gradio_client, and one real
headless-Chromium session (upload, click, wait for the output, screenshot)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from tiny_runs import has_model, make_run
from demo_app.core import AppInputError, Session
from demo_app import pages

RGB = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
GRAY = RGB[:, :, 0].copy()


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('app_runs'))


def session(root, name, *extra):
    return Session(['--name', name, '--checkpoints_dir', make_run(root, name), *extra])


def page(root, name, *extra):
    s = session(root, name, *extra)
    return pages.page_class(s.model, s.opt.model)(s)


def test_pix2pix_page_translates_uploads_and_test_images(root):
    p = page(root, 'p2p')
    assert type(p) is pages.TranslationPage
    out = p.translate(RGB)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8  # resized to the run's crop size
    assert (p.translate(RGB) == out).all()  # seeded: the same request gives the same image
    names = p.example_names()
    assert names == ['1.png', '2.png']
    pair = np.asarray(Image.open(os.path.join(p.opt.dataroot, 'test', '1.png')).convert('RGB'))
    # --direction BtoA: the generator reads the right half of the A|B test pair
    assert (p.load_example('1.png') == pair[:, pair.shape[1] // 2:]).all()
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)])
    assert (p.translate(rgba) == out).all()  # opaque alpha is dropped, as the data loaders do
    assert p.session.last_latency_ms > 0


def test_wrong_channels_missing_run_and_foreign_checkpoint_are_clear(root):
    p = page(root, 'p2p')
    with pytest.raises(AppInputError, match=r'takes RGB images \(3 channels\), but this image is grayscale'):
        p.translate(GRAY)
    with pytest.raises(AppInputError, match='no image'):
        p.translate(None)
    from options.base_options import OptionError
    with pytest.raises(OptionError, match="no run 'nope'.*runs there: .*p2p"):
        Session(['--name', 'nope', '--checkpoints_dir', make_run(root, 'p2p')])
    # a cycle_gan run's weights under pix2pix options: the checkpoint does not fit, said in one line
    ck = make_run(root, 'cyc')
    make_run(root, 'p2p')
    foreign = os.path.join(ck, 'foreign')
    shutil.copytree(os.path.join(ck, 'p2p'), foreign, dirs_exist_ok=True)
    shutil.copy(os.path.join(ck, 'cyc', 'latest_net_G_A.pth'), os.path.join(foreign, 'latest_net_G.pth'))
    from models.base_model import CheckpointError
    with pytest.raises(CheckpointError, match='does not fit the network'):
        Session(['--name', 'foreign', '--checkpoints_dir', ck])


def test_switching_runs_in_the_page(root):
    p = page(root, 'p2p')
    ck = p.opt.checkpoints_dir
    shutil.copytree(os.path.join(ck, 'p2p'), os.path.join(ck, 'p2p_copy'), dirs_exist_ok=True)
    assert '**p2p_copy**' in p.switch_run('p2p_copy', 'latest')
    assert p.opt.name == 'p2p_copy' and p.model.opt.name == 'p2p_copy' and p.translate(RGB).shape == (32, 32, 3)
    with pytest.raises(AppInputError, match="no run 'nope' in this app's checkpoints folder; runs here: .*p2p"):
        p.switch_run('nope')
    with pytest.raises(AppInputError, match="run 'p2p' has no checkpoint '7'; saved labels for this experiment: latest"):
        p.switch_run('p2p', '7')
    make_run(root, 'cyc')
    with pytest.raises(AppInputError, match="'cyc' is a --model cycle_gan run.*python app.py --name cyc"):
        p.switch_run('cyc')
    assert p.opt.name == 'p2p_copy'  # a failed switch keeps the loaded run


def test_load_run_serves_runs_of_the_checkpoints_folder_only_and_names_no_server_path(root, tmp_path):
    """--host 0.0.0.0 exposes /load_run: an absolute path, '..', a link out of --checkpoints_dir or an epoch that is
    a path are refused, and no error shows where the server keeps its files."""
    p = page(root, 'p2p')
    ck = p.opt.checkpoints_dir
    outside = tmp_path / 'elsewhere'
    shutil.copytree(os.path.join(ck, 'p2p'), outside / 'run')
    link = os.path.join(ck, 'link_out')
    os.symlink(outside / 'run', link)
    shutil.copytree(os.path.join(ck, 'p2p'), os.path.join(ck, 'broken'), dirs_exist_ok=True)
    with open(os.path.join(ck, 'broken', 'latest_net_G.pth'), 'wb') as f:
        f.write(b'cut')
    try:
        for name, epoch in ((str(outside / 'run'), ''), (os.path.join(ck, 'p2p'), ''), ('../p2p', ''),
                            (f'../{os.path.basename(ck)}/p2p', ''), ('link_out', ''), ('.', ''),
                            ('p2p', '../../p2p/latest'), ('p2p', str(outside / 'run' / 'latest'))):
            with pytest.raises(AppInputError) as info:
                p.switch_run(name, epoch)
            message = str(info.value)
            assert ("no run '" in message or 'has no checkpoint' in message), message
            assert ck not in message.replace(name, '').replace(epoch, '') and str(tmp_path) not in \
                message.replace(name, '').replace(epoch, '')
        from util.errors import CheckpointError
        with pytest.raises(CheckpointError, match="^'<checkpoints_dir>/broken/latest_net_G.pth' ") as info:
            p.switch_run('broken')
        assert ck not in str(info.value) and os.path.realpath(ck) not in str(info.value)
        assert p.opt.name == 'p2p'  # every refused switch keeps the loaded run
    finally:
        os.remove(link)
        shutil.rmtree(os.path.join(ck, 'broken'))


def test_uploads_of_any_pil_mode_are_converted_through_their_mode(root, tmp_path):
    """16-bit greys are scaled (not clipped to white), palettes read through their colours, colour input is made
    grey for a grayscale generator; Gradio hands uploads over as PIL images of the file's own mode."""
    from demo_app.core import to_pil
    gray16 = tmp_path / 'gray16.png'
    Image.fromarray(GRAY.astype(np.uint16) * 257).save(gray16)
    palette = tmp_path / 'palette.png'
    Image.fromarray(RGB).quantize(16).save(palette)
    with Image.open(gray16) as im16, Image.open(palette) as pal:
        assert im16.mode == 'I;16' and pal.mode == 'P'
        colour = page(root, 'color')
        for a, b in zip(colour.colorize(im16), colour.colorize(GRAY)):
            assert (a == b).all()  # the same image in 16 bits colorizes as in 8 bits
        assert (colour.colorize(GRAY.astype(np.uint16) * 257)[1] == colour.colorize(GRAY)[1]).all()  # numpy too
        p2p = page(root, 'p2p')
        as_rgb = np.asarray(pal.convert('RGB'))
        assert (p2p.translate(pal) == p2p.translate(as_rgb)).all()  # an RGB run takes a colour palette PNG
        with pytest.raises(AppInputError, match='but this image is grayscale'):
            p2p.translate(im16)
        assert np.array_equal(np.asarray(to_pil(pal, 1)), np.asarray(Image.fromarray(as_rgb).convert('L')))
    assert np.array_equal(np.asarray(to_pil(RGB, 1)), np.asarray(Image.fromarray(RGB).convert('L')))
    see_through = Image.fromarray(RGB).quantize(4)
    see_through.info['transparency'] = 0
    assert (np.asarray(to_pil(see_through, 3))[np.asarray(see_through) == 0] == 255).all()  # onto white


def test_stochastic_gallery_is_seeded_and_scored(root):
    p = page(root, 'stoch')
    outs, diversity = p.samples(RGB, 3, 7)
    again, diversity_again = p.samples(RGB, 3, 7)
    other, _ = p.samples(RGB, 3, 8)
    assert len(outs) == 3 and all(o.shape == (32, 32, 3) for o in outs)
    assert all((a == b).all() for a, b in zip(outs, again)) and diversity == diversity_again
    assert diversity > 0 and not (outs[0] == outs[1]).all()
    assert not all((a == b).all() for a, b in zip(outs, other))
    _, single = p.samples(RGB, 1, 7)
    assert single is None
    with pytest.raises(AppInputError, match='between 1 and 16'):
        p.samples(RGB, 0, 1)


def test_colorization_page_takes_gray_or_colour(root):
    p = page(root, 'color')
    gray, colour = p.colorize(GRAY)
    assert gray.shape == (32, 32) and colour.shape == (32, 32, 3)
    _, colour_from_rgb = p.colorize(RGB)
    assert colour_from_rgb.shape == (32, 32, 3)


def test_cycle_gan_page_runs_both_generators(root):
    p = page(root, 'cyc')
    a, b = p.translate(RGB, 'A'), p.translate(RGB, 'B')
    assert a.shape == b.shape == (32, 32, 3) and not (a == b).all()
    assert p.example_names('A') == ['1.png', '2.png'] and p.domains('B') == ('B', 'A')
    with pytest.raises(AppInputError):
        p.translate(RGB, 'C')


def test_liss_page_shows_translation_and_heads(root):
    p = page(root, 'liss')
    out = p.heads(RGB, 'A')
    assert list(out) == ['translation', 'depth', 'gray', 'colorized gray', 'rotation']
    assert out['depth'].shape == (32, 32) and out['colorized gray'].shape == (32, 32, 3)
    assert set(out['rotation']) == set(pages.ROTATIONS) and abs(sum(out['rotation'].values()) - 1) < 1e-5
    # the translation is the cycle_gan generator's output
    assert (out['translation'] == pages.CycleGANPage.translate(p, RGB, 'A')).all()


def test_omnigan_page_shows_heads_and_painter(root):
    p = page(root, 'omni')
    out = p.outputs(RGB)
    assert list(out) == p.output_names()
    for name in ('depth', 'segmentation', 'height', 'water mask', 'flooded (painter)'):
        assert out[name].shape[:2] == (32, 32)


def test_blobgan_page_samples_and_edits_with_the_editing_api(root):
    p = page(root, 'blob')
    image, drawn, layout = p.sample(3, 0.0)
    assert image.shape == drawn.shape == (32, 32, 3) and not (image == drawn).all()
    again, _, _ = p.sample(3, 0.0)
    assert (again == image).all()
    truncated, _, lay_t = p.sample(3, 1.0)  # full truncation: the mean layout, whatever the seed
    _, _, lay_t2 = p.sample(4, 1.0)
    assert np.allclose(lay_t['xs'], lay_t2['xs'], atol=1e-5)
    moved, _, lay2 = p.edit(layout, 1, dx=0.2)
    assert abs(float(lay2['xs'][0, 1] - layout['xs'][0, 1]) - 0.2) < 1e-5 and not (moved == image).all()
    assert float(layout['xs'][0, 1]) == float(p.sample(3, 0.0)[2]['xs'][0, 1])  # the input layout is untouched
    _, _, lay3 = p.edit(layout, 0, size_delta=1.5, style_seed='9')
    assert abs(float(lay3['sizes'][0, 1] - layout['sizes'][0, 1]) - 1.5) < 1e-5
    assert not np.allclose(lay3['features'][0, 1], layout['features'][0, 1])
    _, _, lay4 = p.edit(layout, 2, remove=True)
    assert p.blob_table(lay4)[2][-1] == 'hidden'
    with pytest.raises(AppInputError, match='blobs 0 to 2'):
        p.edit(layout, 5)
    with pytest.raises(AppInputError, match='sample a scene first'):
        p.edit(None, 0)


def test_unknown_model_has_a_clear_error_and_parents_are_used(root):
    s = session(root, 'p2p')

    class Child(type(s.model)):
        pass
    s.model.__class__ = Child
    assert pages.page_class(s.model, 'child_model') is pages.TranslationPage
    with pytest.raises(AppInputError, match='no page for --model'):
        pages.page_class(object(), 'nothing')


def test_amp_and_channels_last_are_honoured(root):
    p = page(root, 'p2p', '--amp', 'bf16', '--channels_last')
    assert p.opt.amp == 'bf16' and p.opt.channels_last
    x = p.image_batch(RGB, 3, p.model.netG)
    assert x.is_contiguous(memory_format=__import__('torch').channels_last)
    reference = page(root, 'p2p').translate(RGB).astype(int)
    assert np.abs(p.translate(RGB).astype(int) - reference).mean() < 8  # bf16 rounding only


def test_cli_missing_run_is_one_line(root):
    ck = make_run(root, 'p2p')
    proc = subprocess.run([sys.executable, 'app.py', '--name', 'nope', '--checkpoints_dir', ck], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error: no run 'nope'" in proc.stderr and 'Traceback' not in proc.stderr


def test_cli_busy_or_impossible_port_is_one_line_before_loading(root):
    import socket
    ck = make_run(root, 'p2p')
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        for value, message in ((port, f'error: --port {port}: cannot listen on 127.0.0.1:{port} (Address already in '
                                      f'use); stop what uses it or pick another --port'),
                               (99999, 'error: --port 99999: choose a port from 1 to 65535 (the default is 7860)')):
            proc = subprocess.run([sys.executable, 'app.py', '--name', 'p2p', '--checkpoints_dir', ck, '--port',
                                   str(value)], cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 2 and proc.stderr.strip() == message, proc.stderr
            assert 'model [' not in proc.stdout  # refused before the run was loaded


# ---------------------------------------------------------------------------------------------- served app

@pytest.fixture(scope='module')
def served(root):
    """The p2p and blob apps on free loopback ports."""
    from demo_app.server import build_app, launch
    apps = {}
    for name in ('p2p', 'blob'):
        demo = build_app(session(root, name))
        apps[name] = (demo, launch(demo))
    yield apps
    for demo, _ in apps.values():
        demo.close()


def test_http_api_through_gradio_client(served, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError
    rgb, gray = str(tmp_path / 'rgb.png'), str(tmp_path / 'gray.png')
    Image.fromarray(RGB).save(rgb)
    Image.fromarray(GRAY).save(gray)
    client = Client(served['p2p'][1], verbose=False)
    image_path, latency = client.predict(handle_file(rgb), api_name='/translate')
    assert np.asarray(Image.open(image_path)).shape == (32, 32, 3) and latency.endswith('ms')
    with Image.open(image_path) as out:
        assert out.format == 'PNG'  # lossless, not Gradio's default WebP
        direct = served['p2p'][0].page.translate(RGB)
        assert (np.asarray(out) == direct).all()
    palette = str(tmp_path / 'palette.png')  # uploaded as the file it is: read through its palette
    Image.fromarray(RGB).quantize(16).save(palette)
    palette_out, _ = client.predict(handle_file(palette), api_name='/translate')
    as_rgb = np.asarray(Image.open(palette).convert('RGB'))
    assert (np.asarray(Image.open(palette_out)) == served['p2p'][0].page.translate(as_rgb)).all()
    with pytest.raises(AppError, match="no run '/etc' in this app's checkpoints folder; runs here: ") as info:
        client.predict('/etc', 'latest', api_name='/load_run')
    assert served['p2p'][0].page.opt.checkpoints_dir not in str(info.value)
    with pytest.raises(AppError, match='grayscale'):
        client.predict(handle_file(gray), api_name='/translate')
    with pytest.raises(AppError, match="no run 'nope'"):
        client.predict('nope', 'latest', api_name='/load_run')
    blob = Client(served['blob'][1], verbose=False)
    endpoints = blob.view_api(print_info=False, return_format='dict')['named_endpoints']
    for api in ('/edit', '/remove'):  # the blob index is advertised as the integer the endpoint takes
        parameter = endpoints[api]['parameters'][0]  # the layout is session state, not a parameter
        assert parameter['parameter_name'] == 'b' and parameter['python_type']['type'] == 'int', parameter
    image_path, drawn_path, table, _ = blob.predict(3, 0.0, api_name='/sample')
    assert np.asarray(Image.open(image_path)).shape == (32, 32, 3)
    assert len(table['data']) == 3
    # the layout stays in the client's session: an edit then applies to the sampled scene
    edited, _, table2, _ = blob.predict(1, 0.2, 0.0, 0.0, '', api_name='/edit')
    assert abs(table2['data'][1][1] - table['data'][1][1] - 0.2) < 2e-3
    assert not (np.asarray(Image.open(edited)) == np.asarray(Image.open(image_path))).all()


def chromium_driver():
    """Selenium on Debian's chromium + chromedriver (no browser download); None when absent."""
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_path = shutil.which('chromedriver')
    if not browser or not driver_path:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--window-size=1280,900'):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def wait_for_image(driver, elem_id, timeout=60):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, f'#{elem_id} img') if e.get_attribute('src')])


def test_real_browser_upload_click_and_screenshot(served, tmp_path):
    driver = chromium_driver()
    if driver is None:
        pytest.skip('no chromium/chromedriver on this machine (apt-get install chromium chromium-driver)')
    from selenium.webdriver.common.by import By
    shots = os.environ.get('APP_SCREENSHOT_DIR') or str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    upload = str(tmp_path / 'upload.png')  # the input half of a synthetic test pair
    Image.fromarray(served['p2p'][0].page.load_example('1.png')).resize((128, 128)).save(upload)
    try:
        driver.get(served['p2p'][1])
        wait = __import__('selenium.webdriver.support.ui', fromlist=['WebDriverWait']).WebDriverWait(driver, 60)
        file_input = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#input-image input[type=file]'))
        file_input.send_keys(upload)
        wait_for_image(driver, 'input-image')
        driver.find_element(By.CSS_SELECTOR, '#run-button').click()
        assert wait_for_image(driver, 'output-image')
        wait.until(lambda d: 'ms' in d.find_element(By.CSS_SELECTOR, '#latency').text)
        path = os.path.join(shots, 'app_pix2pix.png')
        driver.save_screenshot(path)
        assert Image.open(path).size[0] > 0

        driver.get(served['blob'][1])
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#run-button')).click()
        assert wait_for_image(driver, 'output-image') and wait_for_image(driver, 'layout-image')
        path = os.path.join(shots, 'app_blobgan.png')
        driver.save_screenshot(path)
        assert Image.open(path).size[0] > 0
    finally:
        driver.quit()


def test_blobgan_restyle_seed_must_be_a_number(root):
    p = page(root, 'blob')
    _, _, layout = p.sample(0, 0.0)
    with pytest.raises(AppInputError, match='whole number'):
        p.edit(layout, 0, style_seed='abc')
    _, _, same = p.edit(layout, 0, style_seed='  ')
    assert np.allclose(same['features'], layout['features'])


def test_gan_page_samples_a_seeded_grid(root):
    if not has_model('gan'):
        pytest.skip('the gan model is not in this checkout yet')
    p = page(root, 'gan')
    assert type(p) is pages.GanPage
    grid, samples = p.samples(3, 5)
    again, _ = p.samples(3, 5)
    other, _ = p.samples(4, 5)
    assert len(samples) == 5 and samples[0].shape[:2] == (16, 16) and grid.shape[0] > 16
    assert (grid == again).all() and not (grid == other).all()
    with pytest.raises(AppInputError, match='between 1 and 64'):
        p.samples(0, 0)


def test_gan_page_cycles_classes_of_a_conditional_run(root):
    if not has_model('gan'):
        pytest.skip('the gan model is not in this checkout yet')
    p = page(root, 'gan_cond')
    grid, samples = p.samples(1, 6)
    assert len(samples) == 6 and (grid == p.samples(1, 6)[0]).all()
    assert p.model.class_labels(range(6)).tolist() == [0, 1, 2, 0, 1, 2]


def test_onnx_runtime_serves_the_exported_generators(root):
    from demo_app.onnx_runtime import OnnxGenerator, use_onnx
    from tools import export
    from util.errors import OptionError
    ck = make_run(root, 'cyc')
    torch_page = page(root, 'cyc', '--eval')  # the export is in eval mode
    onnx_page = page(root, 'cyc', '--eval')
    with pytest.raises(OptionError, match='export it first: python -m tools.export --name cyc'):
        use_onnx(onnx_page)
    export.main(['--name', 'cyc', '--checkpoints_dir', ck, '--dynamic_batch'])
    onnx_page = page(root, 'cyc', '--eval')
    assert len(use_onnx(onnx_page)) == 2 and isinstance(onnx_page.model.netG_B, OnnxGenerator)
    for which in 'AB':
        a, b = torch_page.translate(RGB, which), onnx_page.translate(RGB, which)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # uint8 rounding of a < 1e-4 difference
    with pytest.raises(OptionError, match='translation pages only'):
        use_onnx(page(root, 'blob'))
