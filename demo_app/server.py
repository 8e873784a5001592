"""Build the Gradio app for a run and serve it; ``python app.py --name RUN [--port 7860]``."""
import argparse
import socket
import sys
import tempfile
import time

import numpy as np

from options.inference_options import trained_runs
from util.errors import OptionError
from .core import Session
from .pages import TranslationPage, guarded, page_class


def build_app(session, runtime='torch'):
    """The gr.Blocks of the run's page (imported here: gradio is only needed to serve); ``runtime='onnx'`` runs the
    run's exported ONNX generators instead of its PyTorch networks."""
    import gradio as gr
    page = page_class(session.model, session.opt.model)(session)
    if runtime == 'onnx':
        from .onnx_runtime import use_onnx
        for path in use_onnx(page):
            print(f'serving {path} with onnxruntime')
    with gr.Blocks(title=f'{session.opt.name} — GAN model zoo', analytics_enabled=False) as demo:
        header = gr.Markdown(f'## {page.title}\n{page.describe()}')
        with gr.Accordion('Load another run of this model', open=False):
            with gr.Row():
                run = gr.Dropdown(trained_runs(session.opt.checkpoints_dir), value=session.opt.name,
                                  allow_custom_value=True, label=f'run in {session.opt.checkpoints_dir}')
                epoch = gr.Textbox(value=str(session.opt.epoch), label='epoch')
                load = gr.Button('Load run', elem_id='load-run')
        page.build(gr)
        load.click(guarded(lambda name, ep: f'## {page.title}\n{page.switch_run(name, ep)}'), [run, epoch], header,
                   api_name='load_run')
    demo.page = page
    return demo


# small runs (32 px) are shown enlarged with sharp pixels instead of as a thumbnail in a large box
CSS = '.image-container img, .image-frame img { width: 100%; height: 100%; object-fit: contain; ' \
      'image-rendering: pixelated; }'


def launch(demo, host='127.0.0.1', port=None, block=False):
    """Serve ``demo`` (queued, one request at a time: the model is shared); returns its local URL."""
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
                            css=CSS)
    return url


def parse_args(argv):
    p = argparse.ArgumentParser(description='Demo web app of a trained run (other options are the run\'s, as for '
                                            'test.py: --checkpoints_dir, --epoch, --amp, --channels_last, --eval, ...)',
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--port', type=int, default=7860, help='port to serve on')
    p.add_argument('--host', type=str, default='127.0.0.1',
                   help='address to listen on (0.0.0.0 to reach the app from other machines)')
    p.add_argument('--runtime', choices=['torch', 'onnx'], default='torch',
                   help='onnx: serve the generators exported by tools/export.py (<epoch>_net_G*.onnx) with onnxruntime '
                        '(translation pages; the export is in eval mode)')
    p.add_argument('--benchmark', type=int, default=0, metavar='N',
                   help='instead of serving: time N requests of a random crop_size image through the page function '
                        'and through the HTTP API (translation pages), print the mean latency and exit')
    return p.parse_known_args(argv)


def benchmark(demo, session, n, host):
    """Mean latency (ms) of n translation requests: the page function alone, and through the HTTP API."""
    from PIL import Image
    page = demo.page
    if not isinstance(page, TranslationPage) or type(page).translate is not TranslationPage.translate:
        raise ValueError(f'--benchmark times translation requests; --model {session.opt.model} has none')
    size = session.opt.crop_size
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    if session.opt.input_nc == 1:
        image = image[:, :, 0]
    page.translate(image)
    t0 = time.perf_counter()
    for _ in range(n):
        page.translate(image)
    direct = 1000 * (time.perf_counter() - t0) / n
    from gradio_client import Client, handle_file
    url = launch(demo, host)
    try:
        path = tempfile.NamedTemporaryFile(suffix='.png', delete=False).name
        Image.fromarray(image).save(path)
        client = Client(url, verbose=False)
        client.predict(handle_file(path), api_name='/translate')
        t0 = time.perf_counter()
        for _ in range(n):
            client.predict(handle_file(path), api_name='/translate')
        http = 1000 * (time.perf_counter() - t0) / n
    finally:
        demo.close()
    runtime = 'onnxruntime' if hasattr(getattr(session.model, 'netG', None), 'session') else 'PyTorch'
    print(f'{session.opt.name} ({session.opt.model}, --netG {session.opt.netG}, {size} px, {runtime}, '
          f'amp {session.opt.amp}, '
          f'channels_last {session.opt.channels_last}, device {session.opt.device}): page function {direct:.1f} ms, '
          f'HTTP request {http:.1f} ms (mean of {n})')
    return {'function_ms': direct, 'http_ms': http}


def check_port(host, port):
    """One line, before the run is loaded, for a --port outside 1-65535 or one that cannot be listened on (in use,
    or privileged) at --host, instead of the server's OverflowError / OSError once everything is loaded."""
    if not 1 <= port <= 65535:
        raise OptionError(f'--port {port}: choose a port from 1 to 65535 (the default is 7860)')
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OptionError(f'--host {host}: not an address this machine can listen on ({exc.strerror})') from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: only a listener blocks it
        try:
            probe.bind(address)
        except OSError as exc:
            raise OptionError(f'--port {port}: cannot listen on {host}:{port} ({exc.strerror}); stop what uses it '
                              f'or pick another --port') from None


def main(argv=None):
    args, rest = parse_args(sys.argv[1:] if argv is None else argv)
    if '--name' not in rest and not any(a.startswith('--name=') for a in rest):
        raise ValueError('--name RUN is required (the training run to demo)')
    if not args.benchmark:  # the benchmark serves on a free port of its own
        check_port(args.host, args.port)
    session = Session(rest)
    demo = build_app(session, runtime=args.runtime)
    if args.benchmark:
        benchmark(demo, session, args.benchmark, args.host)
        return 0
    launch(demo, args.host, args.port, block=True)
    return 0
