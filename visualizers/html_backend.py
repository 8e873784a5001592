"""HTML display backend: checkpoints/NAME/web/index.html (newest snapshots of the current visuals first, a
loss-curve PNG) and frozen history pages for older snapshots; off with ``--no_html``."""
import argparse
import json
import os
import time
from collections import deque

import numpy as np

from util import html, util
from visualizers.base import Backend, register_backend


def smooth(values, weight):
    """Exponential moving average with bias correction (weight 0 returns the values unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(values) < 2:
        return values
    out = np.empty_like(values)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = acc / norm
    return out


def decimate(x, y, max_points):
    """Bucket means so a plot never draws more than ``max_points`` points per line (bounded drawing cost)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) <= max_points:
        return x, y
    edges = np.linspace(0, len(x), max_points + 1).astype(int)
    counts = np.diff(edges)
    return np.add.reduceat(x, edges[:-1]) / counts, np.add.reduceat(y, edges[:-1]) / counts


def _fraction(value):
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f'{value} is not in [0, 1)')
    return value


@register_backend('html')
class HTMLBackend(Backend):
    """checkpoints/NAME/web/: index.html (newest snapshots first, loss plot) and frozen history pages.

    The cost of an update does not grow with the run: each snapshot is rendered to HTML once, index.html
    holds only the newest ``page_size`` of them, and every ``page_size`` snapshots a history page is written
    once and never touched again. The loss history lives in memory (and in the append-only
    loss_history.jsonl, read back once on --continue_train); the plot draws at most MAX_PLOT_POINTS per line
    (bucket means, then --plot_smoothing) and is redrawn at most every PLOT_MIN_INTERVAL seconds.
    """

    MAX_PLOT_POINTS = 2000
    PLOT_MIN_INTERVAL = 10.0  # seconds between two drawings of the plot (~0.1-0.5 s each); close() draws the last

    @staticmethod
    def modify_commandline_options(parser):
        parser.add_argument('--html_page_size', type=int, default=10,
                            help='snapshots shown on web/index.html; older ones go to history pages of this size')
        parser.add_argument('--plot_smoothing', type=_fraction, default=0.0,
                            help='exponential smoothing weight in [0, 1) of the loss curves in web/loss_plot.png '
                                 '(0: raw values)')
        return parser

    @staticmethod
    def enabled(opt):
        return opt.isTrain and not getattr(opt, 'no_html', False)

    def __init__(self, opt):
        self.opt = opt
        self.title = f'Experiment name = {opt.name}'
        self.web_dir = os.path.join(opt.checkpoints_dir, opt.name, 'web')
        self.img_dir = os.path.join(self.web_dir, 'images')
        self.width = getattr(opt, 'display_winsize', 256)
        self.page_size = max(1, getattr(opt, 'html_page_size', 10))
        self.smoothing = getattr(opt, 'plot_smoothing', 0.0)
        self.snapshot_log = os.path.join(self.web_dir, 'snapshots.jsonl')
        self.loss_log = os.path.join(self.web_dir, 'loss_history.jsonl')
        self.plot_path = os.path.join(self.web_dir, 'loss_plot.png')
        util.mkdirs(self.img_dir)
        self.recent = deque(maxlen=self.page_size)  # rendered snapshot fragments, oldest first
        self.count = 0  # snapshots taken in this run folder
        self.loss_x = {}  # loss name -> list of x (fractional epochs)
        self.loss_y = {}
        self.plot_dirty = False
        self.last_plot = -float('inf')
        if getattr(opt, 'continue_train', False):
            self._load_history()
        else:  # a new run in this folder starts new pages (old images stay on disk)
            for path in (self.snapshot_log, self.loss_log, self.plot_path):
                if os.path.exists(path):
                    os.remove(path)
            for name in os.listdir(self.web_dir):
                if name.startswith('history_') and name.endswith('.html'):
                    os.remove(os.path.join(self.web_dir, name))

    def _load_history(self):
        """Read the snapshot and loss logs of the run being resumed (once, at start)."""
        if os.path.exists(self.snapshot_log):
            with open(self.snapshot_log) as f:
                records = [json.loads(line) for line in f if line.strip()]
            self.count = len(records)
            for rec in records[-self.page_size:]:
                self.recent.append(self._fragment(rec['epoch'], rec['iters'], rec['entries'], rec.get('time', '')))
        if os.path.exists(self.loss_log):
            with open(self.loss_log) as f:
                for line in f:
                    if line.strip():
                        rec = json.loads(line)
                        self._add_losses(rec['x'], rec['losses'])

    def wants_images(self, save):
        return save

    def _fragment(self, epoch, iters, entries, stamp):
        """One snapshot as an HTML string (rendered once)."""
        return html.snapshot_fragment(f'epoch [{epoch}] iteration [{iters}]  {stamp}', entries, self.width)

    def display(self, images, epoch, total_iters, save):
        if not save:
            return
        entries = []
        for label, image in images.items():
            name = f'epoch{epoch:03d}_iter{total_iters}_{label}.png'
            util.save_image(image, os.path.join(self.img_dir, name))
            entries.append([label, name])
        stamp = time.strftime('%Y-%m-%d %H:%M:%S')
        with open(self.snapshot_log, 'a') as f:
            f.write(json.dumps({'epoch': epoch, 'iters': total_iters, 'entries': entries, 'time': stamp}) + '\n')
        self.recent.append(self._fragment(epoch, total_iters, entries, stamp))
        self.count += 1
        if self.count % self.page_size == 0:  # a full chunk: freeze it as a history page
            html.write_snapshot_page(os.path.join(self.web_dir, self._history_name(self.count // self.page_size)),
                                     f'{self.title}: snapshots {self.count - self.page_size + 1}-{self.count}',
                                     list(self.recent)[::-1], links=[('index.html', 'latest')])
        self.write_page()

    @staticmethod
    def _history_name(page):
        return f'history_{page:04d}.html'

    def write_page(self, final=False):
        """Regenerate the loss plot (at most every PLOT_MIN_INTERVAL s, unless final) and index.html."""
        if self.plot_dirty and (final or time.monotonic() - self.last_plot >= self.PLOT_MIN_INTERVAL):
            self.write_plot()
        pages = self.count // self.page_size
        links = [(self._history_name(p), f'snapshots {(p - 1) * self.page_size + 1}-{p * self.page_size}')
                 for p in range(pages, 0, -1)]
        html.write_snapshot_page(os.path.join(self.web_dir, 'index.html'), self.title, list(self.recent)[::-1],
                                 links=links, plot='loss_plot.png' if os.path.exists(self.plot_path) else None,
                                 refresh=60)

    def _add_losses(self, x, losses):
        for name, value in losses.items():
            self.loss_x.setdefault(name, []).append(x)
            self.loss_y.setdefault(name, []).append(float(value))
        self.plot_dirty = True

    def losses(self, epoch, counter_ratio, losses, total_iters):
        x = epoch - 1 + counter_ratio
        values = {k: float(v) for k, v in losses.items()}
        self._add_losses(x, values)
        with open(self.loss_log, 'a') as f:
            f.write(json.dumps({'x': x, 'iters': total_iters, 'losses': values}) + '\n')

    def write_plot(self):
        """loss_plot.png: one line per loss (smoothed with --plot_smoothing), drawn with matplotlib's Agg."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
        fig = Figure(figsize=(8, 4.5), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        for name in self.loss_x:
            x, y = decimate(self.loss_x[name], self.loss_y[name], self.MAX_PLOT_POINTS)
            ax.plot(x, smooth(y, self.smoothing), label=name, linewidth=1.2)
        ax.set_xlabel('epoch')
        ax.set_ylabel('loss')
        title = f'{self.opt.name} loss over time'
        ax.set_title(title + (f' (smoothing {self.smoothing:g})' if self.smoothing > 0 else ''))
        ax.grid(True, alpha=0.3)
        if self.loss_x:
            ax.legend(loc='upper right', fontsize='small')
        fig.tight_layout()
        util.atomic_write(self.plot_path, lambda f: fig.savefig(f, format='png'))
        self.plot_dirty = False
        self.last_plot = time.monotonic()

    def close(self):
        if self.plot_dirty:
            self.write_page(final=True)

