"""Measure what logging costs a training loop, per iteration, with each visualizer backend.

    python -m tools.bench.benchmark_logging               # console, html, visdom (own server), visdom down, comet offline,
                                                          # W&B offline
    python -m tools.bench.benchmark_logging --size 256 --iters 4000 --backends html,comet

The loop calls the Visualizer exactly as train.py does (display every --display_freq images, HTML/comet
images every --update_html_freq, losses every --print_freq) with 3 visuals of --size px and 4 losses, and no
model, so the time measured is the logging alone. Two figures per backend: the mean cost per iteration at the
given frequencies (the classic defaults 100 / 400 / 1000), and the cost of one iteration that logs everything
(all three frequencies hit at once). A visdom server is started on 127.0.0.1 at a free port for the 'visdom'
case (without its CDN download) and stopped at the end.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from types import SimpleNamespace

import torch

from util.visdom_server import free_port, local_visdom_server
from visualizers import Visualizer

BACKENDS = ('console', 'html', 'visdom', 'visdom_down', 'comet_offline', 'wandb_offline')


def make_opt(backend, folder, port):
    return SimpleNamespace(
        name=backend, checkpoints_dir=folder, isTrain=True, rank=0, no_html=backend != 'html',
        display_id=1 if backend.startswith('visdom') else 0, display_server='http://127.0.0.1',
        display_port=port if backend == 'visdom' else free_port(), display_env=f'bench_{os.getpid()}',
        display_ncols=4, display_winsize=256, html_page_size=10, plot_smoothing=0.6, continue_train=False,
        comet=False, comet_offline=backend == 'comet_offline', comet_project=None, comet_workspace=None,
        comet_tags='', log_level=2, wandb=False, wandb_offline=backend == 'wandb_offline',
        wandb_project='bench', wandb_entity=None, wandb_run_name=None)


def run_loop(vis, iters, freqs, visuals, losses):
    """train.py's after_step logic for ``iters`` images (batch size 1); returns seconds spent."""
    print_freq, display_freq, html_freq = freqs
    crossed = lambda total, freq: freq > 0 and total % freq == 0
    start = time.perf_counter()
    for total in range(1, iters + 1):
        if crossed(total, display_freq):
            vis.display_current_results(visuals, 1, crossed(total, html_freq), total)
        if crossed(total, print_freq):
            vis.print_current_losses(1, total, losses, 0.1, 0.01)
            vis.plot_current_losses(1, total / iters, losses, total_iters=total)
    return time.perf_counter() - start


def measure(backend, args, port, visuals, losses):
    folder = tempfile.mkdtemp(prefix=f'bench_{backend}_')
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        t0 = time.perf_counter()
        vis = Visualizer(make_opt(backend, folder, port))
        t_start = time.perf_counter() - t0
        vis.reset()
        run_loop(vis, args.display_freq, (args.print_freq, args.display_freq, args.update_html_freq),
                 visuals, losses)  # warm-up: imports (matplotlib, PIL plugins), first page, first posts
        vis.reset()
        t_loop = run_loop(vis, args.iters, (args.print_freq, args.display_freq, args.update_html_freq),
                          visuals, losses)
        t_all = run_loop(vis, args.full_iters, (1, 1, 1), visuals, losses)
        t0 = time.perf_counter()
        vis.close()
        t_close = time.perf_counter() - t0
    active = ','.join(vis.backend_names()) or 'console only'
    return dict(backend=backend, active=active, start_s=t_start, per_iter_ms=1000 * t_loop / args.iters,
                full_iter_ms=1000 * t_all / args.full_iters, close_s=t_close)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--backends', default=','.join(BACKENDS), help=f'comma-separated subset of {",".join(BACKENDS)}')
    p.add_argument('--size', type=int, default=256, help='visual size in pixels (3 visuals per display)')
    p.add_argument('--iters', type=int, default=4000, help='iterations (images) of the loop at the frequencies below')
    p.add_argument('--full_iters', type=int, default=20, help='iterations that log everything, for the worst case')
    p.add_argument('--print_freq', type=int, default=100, help='as train.py --print_freq')
    p.add_argument('--display_freq', type=int, default=400, help='as train.py --display_freq')
    p.add_argument('--update_html_freq', type=int, default=1000, help='as train.py --update_html_freq')
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(',') if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        p.error(f'unknown backend(s) {", ".join(sorted(unknown))}; choose from {", ".join(BACKENDS)}')
    os.environ.setdefault('COMET_API_KEY', '')  # never go online from a benchmark (wandb_offline is offline too)
    g = torch.Generator().manual_seed(0)
    visuals = {k: torch.rand(1, 3, args.size, args.size, generator=g) * 2 - 1 for k in ('real_A', 'fake_B', 'real_B')}
    losses = {'G_GAN': 0.7, 'G_L1': 12.0, 'D_real': 0.3, 'D_fake': 0.4}
    rows = []
    with contextlib.ExitStack() as stack:
        port = stack.enter_context(local_visdom_server()) if 'visdom' in backends else free_port()
        for backend in backends:
            rows.append(measure(backend, args, port, visuals, losses))
    print(f'{args.size}px visuals; frequencies print {args.print_freq} / display {args.display_freq} / '
          f'html {args.update_html_freq}; {args.iters} iterations')
    print(f'{"case":<15}{"active backends":<22}{"start s":>9}{"ms/iter":>10}{"ms, log-all iter":>18}{"close s":>9}')
    for r in rows:
        print(f'{r["backend"]:<15}{r["active"]:<22}{r["start_s"]:>9.3f}{r["per_iter_ms"]:>10.3f}'
              f'{r["full_iter_ms"]:>18.1f}{r["close_s"]:>9.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
