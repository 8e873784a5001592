"""visdom display backend (``--display_id`` > 0): image grid, label table and loss plot on a visdom server,
posted from a background thread through a small bounded queue with short timeouts."""
import queue
import socket
import sys
import threading
from collections import OrderedDict
from urllib.parse import urlparse

import numpy as np

from visualizers.base import Backend, BackendUnavailable, register_backend


@register_backend('visdom')
class VisdomBackend(Backend):
    """Image grid, label table and loss plot on a visdom server, posted from a background thread.

    Windows (per --display_id N, in --display_env): 'N_images' (grid, or 'N_image_<label>' per image with
    --display_ncols 0), 'N_labels' and 'N_loss'. Reachability is checked once with a ~1 s connect; posts
    time out after POST_TIMEOUT s; the queue holds QUEUE_SIZE updates and drops new ones when full, so a
    slow server never slows training. The first failure disables the backend (reported once).
    """

    CONNECT_TIMEOUT = 1.0
    POST_TIMEOUT = 3.0
    QUEUE_SIZE = 4

    @staticmethod
    def modify_commandline_options(parser):
        parser.add_argument('--display_id', type=int, default=1,
                            help='visdom window id of this run (several runs can share an env with different ids); '
                                 '0 turns visdom off')
        parser.add_argument('--display_server', type=str, default='http://localhost',
                            help='visdom server URL (start one with python -m visdom.server -port PORT)')
        parser.add_argument('--display_port', type=int, default=8097, help='visdom server port')
        parser.add_argument('--display_env', type=str, default='main', help='visdom environment to draw in')
        parser.add_argument('--display_ncols', type=int, default=4,
                            help='images per row of the visdom image grid; 0 shows each image in its own window')
        return parser

    @staticmethod
    def enabled(opt):
        return getattr(opt, 'display_id', 0) > 0

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

