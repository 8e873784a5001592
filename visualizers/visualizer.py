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

"""
import os
import sys
import time
from collections import OrderedDict

from util import util
from visualizers.base import BACKENDS, BackendUnavailable


class Visualizer:
    """Console + loss_log.txt, plus the HTML / visdom / comet backends the options ask for (rank 0 only)."""

    @staticmethod
    def modify_commandline_options(parser):
        """Add the display and tracking options: --log_level, then every registered backend's own options."""
        parser.add_argument('--log_level', type=int, default=2, choices=[0, 1, 2],
                            help='what comet logs: 0 only parameters and git hash, 1 also per-network loss '
                                 'totals (G_total, D_total) and images, 2 also every individual loss')
        for cls in BACKENDS.values():
            parser = cls.modify_commandline_options(parser)
        return parser

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
        for cls in BACKENDS.values():
            if cls.enabled(opt):
                self._start(cls, opt)

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
        self.plot_current_metrics(epoch, metrics, split)

    def plot_current_metrics(self, epoch, metrics, split=None):
        """Send per-epoch values to the trackers only (nothing printed); ``split`` prefixes their names."""
        self._broadcast('metrics', epoch, metrics, split)

    def log_text(self, text, step=None):
        """Keep a line of text with the run in the trackers (e.g. a task-schedule switch); not printed."""
        self._broadcast('text', text, self.total_iters if step is None else step)

    def log_parameters(self, params):
        """Record values that describe the run (name -> value) in the trackers, e.g. when a phase started."""
        self._broadcast('parameters', dict(params))

    def log_confusion_matrix(self, matrix, title, step=None):
        """Send a confusion matrix (list of rows: truth, columns: prediction) to the trackers."""
        self._broadcast('confusion_matrix', matrix, title, self.total_iters if step is None else step)

    def _broadcast(self, method, *args):
        if self.enabled:
            for backend in list(self.backends):
                self._call(backend, method, *args)

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
