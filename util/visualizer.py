"""Shows training progress through independent backends chosen by options.

* console + ``loss_log.txt`` (always, rank 0);
* HTML (``checkpoints/NAME/web/index.html``, off with ``--no_html``): the newest snapshots of the current
  visuals first, a loss-curve PNG, and frozen history pages for older snapshots;
* visdom (``--display_id`` > 0): image grid, label table and loss plot on a visdom server;
* comet_ml (``--comet`` / ``--comet_offline``): parameters, git hash, losses and images, online or as an
  offline archive to upload later.

Each backend is optional and isolated: one that cannot start is reported once and left out, one that fails
later is reported once and disabled, and the others go on. Nothing here may stop or slow a training run:
visdom posts from a background thread through a small bounded queue, with short timeouts.

Test results are written with :func:`save_images` into a results page (util/html.py).
"""
import argparse
import json
import os
import queue
import socket
import sys
import threading
import time
from collections import OrderedDict, deque
from urllib.parse import urlparse

import numpy as np

from util import html, util

# ---------------------------------------------------------------------------------------------- test pages


def save_images(webpage, visuals, image_path, aspect_ratio=1.0, width=256):
    """Save every visual of the first image of a batch as images/<stem>_<label>.png and add one table row
    (input, outputs and targets side by side, in the model's visual order) to the results page."""
    image_dir = webpage.get_image_dir()
    path = image_path[0] if isinstance(image_path, (list, tuple)) else image_path
    stem = os.path.splitext(os.path.basename(path))[0]
    ims, txts = [], []
    for label, im_data in visuals.items():
        image_name = f'{stem}_{label}.png'
        util.save_image(util.tensor2im(im_data), os.path.join(image_dir, image_name), aspect_ratio=aspect_ratio)
        ims.append(image_name)
        txts.append(label)
    webpage.add_result_row(stem, ims, txts, width=width)


# ---------------------------------------------------------------------------------------------- helpers


def aggregate_losses(losses):
    """Per-network totals: names starting with 'D' train a discriminator, all others the generator(s).

    This is what ``--log_level 1`` sends to comet: {'G_total': ..., 'D_total': ...} (only the present ones).
    """
    totals = OrderedDict()
    for name, value in losses.items():
        key = 'D_total' if name.startswith('D') else 'G_total'
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def losses_for_level(losses, log_level, aggregated_names=None):
    """The losses a tracker logs at --log_level 0 (none), 1 (per-network totals) or 2 (all, plus totals).

    A model whose losses include their own totals names them in ``aggregated_names``: level 1 logs just
    those and level 2 all losses as they are (summing them again would count terms twice).
    """
    if log_level <= 0:
        return OrderedDict()
    if aggregated_names is not None:
        keep = aggregated_names if log_level == 1 else losses
        return OrderedDict((k, float(losses[k])) for k in keep if k in losses)
    totals = aggregate_losses(losses)
    if log_level == 1:
        return totals
    out = OrderedDict((k, float(v)) for k, v in losses.items())
    out.update(totals)
    return out


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


class BackendUnavailable(Exception):
    """A backend that cannot start; its message (one line) says why and what to do."""


# ---------------------------------------------------------------------------------------------- backends


class Backend:
    """Interface of a display backend; every method may raise: the Visualizer then disables the backend."""

    name = 'backend'
    aggregated_names = None  # losses that total the others, from BaseModel.aggregated_loss_names()

    def wants_images(self, save):
        """Whether display() needs the current visuals; ``save`` is True at --update_html_freq steps."""
        return False

    def display(self, images, epoch, total_iters, save):
        """images: OrderedDict label -> HxWx3 uint8 array."""

    def losses(self, epoch, counter_ratio, losses, total_iters):
        """Losses of the current iteration; x = epoch - 1 + counter_ratio is the (fractional) epoch."""

    def metrics(self, epoch, metrics, split):
        """Per-epoch metrics such as validation scores."""

    def take_error(self):
        """An error raised in a background thread since the last call, or None."""
        return None

    def close(self):
        """Flush and release (bounded time)."""


class HTMLBackend(Backend):
    """checkpoints/NAME/web/: index.html (newest snapshots first, loss plot) and frozen history pages.

    The cost of an update does not grow with the run: each snapshot is rendered to HTML once, index.html
    holds only the newest ``page_size`` of them, and every ``page_size`` snapshots a history page is written
    once and never touched again. The loss history lives in memory (and in the append-only
    loss_history.jsonl, read back once on --continue_train); the plot draws at most MAX_PLOT_POINTS per line
    (bucket means, then --plot_smoothing) and is redrawn at most every PLOT_MIN_INTERVAL seconds.
    """

    name = 'html'
    MAX_PLOT_POINTS = 2000
    PLOT_MIN_INTERVAL = 10.0  # seconds between two drawings of the plot (~0.1-0.5 s each); close() draws the last

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


class VisdomBackend(Backend):
    """Image grid, label table and loss plot on a visdom server, posted from a background thread.

    Windows (per --display_id N, in --display_env): 'N_images' (grid, or 'N_image_<label>' per image with
    --display_ncols 0), 'N_labels' and 'N_loss'. Reachability is checked once with a ~1 s connect; posts
    time out after POST_TIMEOUT s; the queue holds QUEUE_SIZE updates and drops new ones when full, so a
    slow server never slows training. The first failure disables the backend (reported once).
    """

    name = 'visdom'
    CONNECT_TIMEOUT = 1.0
    POST_TIMEOUT = 3.0
    QUEUE_SIZE = 4

    def __init__(self, opt):
        self.display_id = opt.display_id
        self.ncols = getattr(opt, 'display_ncols', 4)
        self.env = getattr(opt, 'display_env', 'main')
        self.title = opt.name
        server = getattr(opt, 'display_server', 'http://localhost')
        self.server = server if '://' in server else 'http://' + server
        self.port = getattr(opt, 'display_port', 8097)
        host = urlparse(self.server).hostname or 'localhost'
        try:
            socket.create_connection((host, self.port), timeout=self.CONNECT_TIMEOUT).close()
        except OSError as exc:
            raise BackendUnavailable(
                f'visdom: no server at {self.server}:{self.port} ({exc.strerror or exc}); training goes on '
                f'without it. Start one with `python -m visdom.server -port {self.port}` and open '
                f'{self.server}:{self.port} (or pass --display_id 0 to turn visdom off)')
        self.loss_names = None
        self.dropped = 0
        self._error = None  # set by the worker thread on its first failure
        self._reported = False
        self._queue = queue.Queue(maxsize=self.QUEUE_SIZE)
        self._thread = threading.Thread(target=self._worker, name='visdom-poster', daemon=True)
        self._thread.start()

    # -- main thread: enqueue only
    def _post(self, job):
        if self._error is not None:
            return
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.dropped += 1  # the server is slower than training: skip this update rather than wait

    def wants_images(self, save):
        return True

    def display(self, images, epoch, total_iters, save):
        self._post(('images', list(images.items()), epoch, total_iters))

    def losses(self, epoch, counter_ratio, losses, total_iters):
        self._post(('losses', epoch - 1 + counter_ratio, OrderedDict((k, float(v)) for k, v in losses.items())))

    def take_error(self):
        if self._error is not None and not self._reported:
            self._reported = True
            return self._error
        return None

    def close(self):
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(None, timeout=self.POST_TIMEOUT)
        except queue.Full:
            return
        self._thread.join(timeout=2 * self.POST_TIMEOUT)  # bounded: whatever is still queued then is dropped
        if self.dropped:
            print(f'visdom: {self.dropped} update(s) were skipped because the server answered slower than '
                  f'training ran', file=sys.stderr)

    # -- background thread
    def _client(self):
        import logging
        from visdom import Visdom

        post_timeout = self.POST_TIMEOUT

        class TimeoutVisdom(Visdom):
            """visdom's client posts without a timeout; a hung server must not hang this thread forever."""

            def _handle_post(self, url, data=None):
                response = self.session.post(url, data=data or {}, timeout=post_timeout)
                response.raise_for_status()
                return response.text

        # visdom logs a warning for every client made without the incoming socket, which is not needed here
        logging.getLogger('visdom').setLevel(logging.ERROR)
        return TimeoutVisdom(server=self.server, port=self.port, env=self.env, raise_exceptions=True,
                             use_incoming_socket=False)

    def _worker(self):
        try:
            vis = self._client()
            while True:
                job = self._queue.get()
                if job is None:
                    return
                if job[0] == 'images':
                    self._send_images(vis, job[1])
                else:
                    self._send_losses(vis, job[1], job[2])
        except Exception as exc:  # noqa: BLE001 - any failure disables visdom, never the training
            self._error = f'{type(exc).__name__}: {exc}'

    def _send_images(self, vis, items):
        labels = [label for label, _ in items]
        arrays = [image for _, image in items]
        if self.ncols > 0:
            h = max(a.shape[0] for a in arrays)
            w = max(a.shape[1] for a in arrays)
            grid = np.full((len(arrays) + (-len(arrays)) % self.ncols, 3, h, w), 255, dtype=np.uint8)
            for i, a in enumerate(arrays):  # pad to a common size and to full rows (white cells)
                grid[i, :, :a.shape[0], :a.shape[1]] = a.transpose(2, 0, 1)
            vis.images(grid, nrow=self.ncols, padding=2, win=f'{self.display_id}_images',
                       opts={'title': f'{self.title} images'})
            rows = [labels[i:i + self.ncols] for i in range(0, len(labels), self.ncols)]
            table = '<table style="border-collapse:separate;border-spacing:4px 2px">' + ''.join(
                '<tr>' + ''.join(f'<td>{label}</td>' for label in row) + '</tr>' for row in rows) + '</table>'
            vis.text(table, win=f'{self.display_id}_labels', opts={'title': f'{self.title} labels'})
        else:
            for label, a in items:
                vis.image(a.transpose(2, 0, 1), win=f'{self.display_id}_image_{label}', opts={'title': label})

    def _send_losses(self, vis, x, losses):
        names = list(losses)
        X = np.array([[x] * len(names)])
        Y = np.array([[losses[n] for n in names]])
        win = f'{self.display_id}_loss'
        opts = {'title': f'{self.title} loss over time', 'legend': names, 'xlabel': 'epoch', 'ylabel': 'loss'}
        if names != self.loss_names:  # first point (or the losses changed): a new plot
            if len(names) == 1:
                X, Y = X[0], Y[0]
            vis.line(X=X, Y=Y, win=win, opts=opts)
            self.loss_names = names
        else:
            vis.line(X=X[0] if len(names) == 1 else X, Y=Y[0] if len(names) == 1 else Y, win=win,
                     update='append', opts=opts)


def comet_api_key():
    """The API key comet_ml would use (COMET_API_KEY, .comet.config here or in ~, COMET_CONFIG), or None."""
    from comet_ml.config import get_api_key, get_config
    return get_api_key(None, get_config())


def comet_server_unreachable(timeout=2.0):
    """Why the comet server (COMET_URL_OVERRIDE or comet.com) cannot be reached, or None when a connect works.

    comet_ml itself retries for about 40 s before giving up; this check costs at most ``timeout`` seconds.
    """
    from comet_ml.config import get_backend_address, get_config
    url = urlparse(get_backend_address(get_config()))
    port = url.port or (443 if url.scheme == 'https' else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f'cannot reach {url.hostname}:{port} ({exc.strerror or exc})'
    return None


class CometBackend(Backend):
    """comet_ml experiment: parameters, git hash and command, losses (--log_level), images, metrics.

    Online when an API key is configured and the server answers; with --comet_offline (or, with a clear
    message, when no key is found or the server cannot be reached) an OfflineExperiment writes
    checkpoints/NAME/comet/<key>.zip, uploaded later with ``comet upload <zip>``: no run loses its logs.
    """

    name = 'comet'

    def __init__(self, opt):
        self.opt = opt
        self.log_level = getattr(opt, 'log_level', 2)
        # comet_ml patches torch & co. for automatic logging; everything is logged explicitly here
        os.environ.setdefault('COMET_DISABLE_AUTO_LOGGING', '1')
        # its git metadata should describe the code that runs, whatever the working directory
        os.environ.setdefault('COMET_GIT_DIRECTORY', os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            import comet_ml
        except ImportError:
            raise BackendUnavailable('comet: comet_ml is not installed (pip install comet_ml); '
                                     'training goes on without comet')
        self.offline_dir = os.path.abspath(os.path.join(opt.checkpoints_dir, opt.name, 'comet'))
        self.offline = bool(getattr(opt, 'comet_offline', False))
        if not self.offline and not comet_api_key():
            print(f'comet: no API key found (set COMET_API_KEY or put api_key in ~/.comet.config); logging '
                  f'offline to {self.offline_dir} instead (upload later with `comet upload <zip>`)',
                  file=sys.stderr)
            self.offline = True
        kwargs = dict(project_name=getattr(opt, 'comet_project', None) or None,
                      workspace=getattr(opt, 'comet_workspace', None) or None,
                      log_code=False, log_graph=False, auto_param_logging=False, auto_metric_logging=False,
                      parse_args=False, auto_output_logging=False, log_git_metadata=True, log_git_patch=False,
                      log_env_details=False, display_summary_level=0)
        if not self.offline:
            problem = comet_server_unreachable()
            if problem is None:
                self.experiment = comet_ml.Experiment(**kwargs)
                if not getattr(self.experiment, 'alive', True):
                    problem = 'the server did not accept the experiment'
                    self.experiment.end()
            if problem is not None:
                print(f'comet: {problem}; logging offline to {self.offline_dir} instead (upload later with '
                      f'`comet upload <zip>`)', file=sys.stderr)
                self.offline = True
        if self.offline:
            util.mkdirs(self.offline_dir)
            self.experiment = comet_ml.OfflineExperiment(offline_directory=self.offline_dir, **kwargs)
        else:  # where to watch the run, beside its checkpoints (as the omnigan launcher expects)
            util.atomic_write_text(os.path.join(opt.checkpoints_dir, opt.name, 'comet_url.txt'),
                                   f'{self.experiment.url}\n')
        self._log_run(opt)

    def _log_run(self, opt):
        from util.reproducibility import git_info, library_versions, command_line
        exp = self.experiment
        exp.set_name(opt.name)
        params = {k: (str(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
                  for k, v in sorted(vars(opt).items())}
        exp.log_parameters(params)
        tags = [t.strip() for t in str(getattr(opt, 'comet_tags', '') or '').split(',') if t.strip()]
        if tags:
            exp.add_tags(tags)
        git = git_info()
        exp.log_others({'git_commit': git['commit'] or 'unknown', 'git_dirty': git['dirty'],
                        'command': command_line(), 'log_level': self.log_level})
        exp.log_others({f'version_{k}': str(v) for k, v in library_versions().items()})

    def wants_images(self, save):
        return save and self.log_level >= 1

    def display(self, images, epoch, total_iters, save):
        from PIL import Image
        for label, image in images.items():
            self.experiment.log_image(Image.fromarray(image), name=label, step=total_iters)

    def losses(self, epoch, counter_ratio, losses, total_iters):
        values = losses_for_level(losses, self.log_level, self.aggregated_names)
        if values:
            self.experiment.log_metrics(values, step=total_iters, epoch=epoch)

    def metrics(self, epoch, metrics, split):
        if self.log_level >= 1:
            self.experiment.log_metrics({f'{split}_{k}': float(v) for k, v in metrics.items()}, epoch=epoch)

    def archive_path(self):
        return os.path.join(self.offline_dir, f'{self.experiment.get_key()}.zip')

    def close(self):
        self.experiment.end()
        if self.offline:
            print(f'comet: offline experiment saved to {self.archive_path()}; upload it with '
                  f'`comet upload {self.archive_path()}` (needs an API key)', file=sys.stderr)


# ---------------------------------------------------------------------------------------------- visualizer


class Visualizer:
    """Console + loss_log.txt, plus the HTML / visdom / comet backends the options ask for (rank 0 only)."""

    @staticmethod
    def modify_commandline_options(parser):
        """Add the display and tracking options (called by TrainOptions)."""
        parser.add_argument('--display_id', type=int, default=1,
                            help='visdom window id of this run (several runs can share an env with different ids); '
                                 '0 turns visdom off')
        parser.add_argument('--display_server', type=str, default='http://localhost',
                            help='visdom server URL (start one with python -m visdom.server -port PORT)')
        parser.add_argument('--display_port', type=int, default=8097, help='visdom server port')
        parser.add_argument('--display_env', type=str, default='main', help='visdom environment to draw in')
        parser.add_argument('--display_ncols', type=int, default=4,
                            help='images per row of the visdom image grid; 0 shows each image in its own window')
        parser.add_argument('--html_page_size', type=int, default=10,
                            help='snapshots shown on web/index.html; older ones go to history pages of this size')
        parser.add_argument('--plot_smoothing', type=_fraction, default=0.0,
                            help='exponential smoothing weight in [0, 1) of the loss curves in web/loss_plot.png '
                                 '(0: raw values)')
        parser.add_argument('--comet', action='store_true',
                            help='log to comet_ml: online with an API key (COMET_API_KEY or .comet.config), '
                                 'otherwise offline into [checkpoints_dir]/[name]/comet/')
        parser.add_argument('--comet_offline', action='store_true',
                            help='log to a comet_ml OfflineExperiment archive in [checkpoints_dir]/[name]/comet/ '
                                 '(implies --comet; upload later with comet upload <zip>)')
        parser.add_argument('--comet_project', type=str, default=None, help='comet project name')
        parser.add_argument('--comet_workspace', type=str, default=None, help='comet workspace (default: your own)')
        parser.add_argument('--comet_tags', type=str, default='', help='comma-separated tags of the comet experiment')
        parser.add_argument('--log_level', type=int, default=2, choices=[0, 1, 2],
                            help='what comet logs: 0 only parameters and git hash, 1 also per-network loss '
                                 'totals (G_total, D_total) and images, 2 also every individual loss')
        from visualizers.tensorboard_backend import TensorBoardBackend
        return TensorBoardBackend.modify_commandline_options(parser)

    def __init__(self, opt):
        self.opt = opt
        self.enabled = getattr(opt, 'rank', 0) == 0
        self.use_html = opt.isTrain and not getattr(opt, 'no_html', False)
        self.win_size = getattr(opt, 'display_winsize', 256)
        self.name = opt.name
        self.saved = False
        self.closed = False
        self.web_dir = os.path.join(opt.checkpoints_dir, opt.name, 'web')
        self.img_dir = os.path.join(self.web_dir, 'images')
        self.log_name = os.path.join(opt.checkpoints_dir, opt.name, 'loss_log.txt')
        self.backends = []
        self.total_iters = 0
        if not self.enabled:
            return
        util.mkdirs(os.path.dirname(self.log_name))
        with open(self.log_name, 'a') as log_file:
            log_file.write(f'================ Training Loss ({time.strftime("%c")}) ================\n')
        if self.use_html:
            self._start(HTMLBackend, opt)
        if getattr(opt, 'display_id', 0) > 0:
            self._start(VisdomBackend, opt)
        if getattr(opt, 'comet', False) or getattr(opt, 'comet_offline', False):
            self._start(CometBackend, opt)
        from visualizers.tensorboard_backend import TensorBoardBackend
        if TensorBoardBackend.enabled(opt):
            self._start(TensorBoardBackend, opt)

    # -- backend management
    def _warn(self, message):
        print(f'warning: {message}', file=sys.stderr)
        try:
            with open(self.log_name, 'a') as log_file:
                log_file.write(f'warning: {message}\n')
        except OSError:
            pass

    def _start(self, cls, opt):
        try:
            self.backends.append(cls(opt))
        except BackendUnavailable as exc:
            self._warn(str(exc))
        except Exception as exc:  # noqa: BLE001 - a backend must never stop training
            self._warn(f'{cls.name}: could not start ({type(exc).__name__}: {exc}); training goes on without it')

    def _disable(self, backend, error):
        self._warn(f'{backend.name} failed ({error}); it is disabled for the rest of the run, the other '
                   f'displays go on')
        if backend in self.backends:
            self.backends.remove(backend)

    def _call(self, backend, method, *args):
        try:
            getattr(backend, method)(*args)
            error = backend.take_error()
        except Exception as exc:  # noqa: BLE001
            error = f'{type(exc).__name__}: {exc}'
        if error:
            self._disable(backend, error)

    def backend_names(self):
        return [b.name for b in self.backends]

    def set_aggregated_loss_names(self, names):
        """Tell the backends which losses already total the others (BaseModel.aggregated_loss_names)."""
        for backend in self.backends:
            backend.aggregated_names = names

    # -- the API train.py uses
    def reset(self):
        """Start of an epoch: the next display is saved to the HTML page whatever --update_html_freq says."""
        self.saved = False

    def display_current_results(self, visuals, epoch, save_result, total_iters=0):
        """Show the current visuals: visdom on every call; HTML and comet when ``save_result`` (or first of epoch)."""
        if not self.enabled:
            return
        self.total_iters = total_iters or self.total_iters
        save = save_result or not self.saved
        wanting = [b for b in self.backends if b.wants_images(save)]
        if not wanting:
            return
        if save:
            self.saved = True
        images = OrderedDict((label, util.tensor2im(image)) for label, image in visuals.items())
        for backend in wanting:
            self._call(backend, 'display', images, epoch, total_iters, save)

    def plot_current_losses(self, epoch, counter_ratio, losses, total_iters=None):
        """Record the losses for the plots (HTML, visdom) and the trackers (comet)."""
        if not self.enabled:
            return
        if total_iters is not None:
            self.total_iters = total_iters
        for backend in list(self.backends):
            self._call(backend, 'losses', epoch, counter_ratio, losses, self.total_iters)

    def log_message(self, message):
        """Print a line (e.g. a training-phase switch) and append it to loss_log.txt."""
        if not self.enabled:
            return
        print(message)
        with open(self.log_name, 'a') as log_file:
            log_file.write(message + '\n')

    def print_current_metrics(self, epoch, metrics, split='val'):
        """Print one line of per-epoch metrics (e.g. validation scores) and append it to loss_log.txt."""
        self.log_message(f'(epoch: {epoch}, {split}) ' + ' '.join(f'{k}: {v:.4f}' for k, v in metrics.items()))
        if self.enabled:
            for backend in list(self.backends):
                self._call(backend, 'metrics', epoch, metrics, split)

    def print_current_losses(self, epoch, iters, losses, t_comp, t_data):
        """Print one loss line and append it to loss_log.txt.

        t_comp / t_data: compute and data-loading seconds per image.
        """
        if not self.enabled:
            return
        message = f'(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) '
        message += ' '.join(f'{k}: {v:.3f}' for k, v in losses.items())
        print(message)
        with open(self.log_name, 'a') as log_file:
            log_file.write(message + '\n')

    def close(self):
        """Flush every backend (final plot, pending visdom posts, comet archive); safe to call twice."""
        if self.closed:
            return
        self.closed = True
        for backend in list(self.backends):
            self._call(backend, 'close')
