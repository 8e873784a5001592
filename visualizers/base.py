"""What every display backend shares: the :class:`Backend` interface, the registry of backends and the loss
selection of the trackers (--log_level).

A new backend is one file with a ``@register_backend('name')`` class and one import line in
``visualizers/__init__.py``: the Visualizer starts every registered backend whose ``enabled(opt)`` is true,
and TrainOptions adds every backend's ``modify_commandline_options``.
"""
from collections import OrderedDict

# name -> Backend subclass, in registration order (the order backends start in)
BACKENDS = OrderedDict()


def register_backend(name):
    """Class decorator: make a Backend subclass available to the Visualizer under ``name``."""
    def decorate(cls):
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TypeError(f'{cls!r} must subclass visualizers.base.Backend to be a display backend')
        if name in BACKENDS and BACKENDS[name] is not cls:
            raise ValueError(f"display backend '{name}' is registered twice "
                             f"({BACKENDS[name].__name__}, {cls.__name__})")
        cls.name = name
        BACKENDS[name] = cls
        return cls
    return decorate


def backend_names():
    """Registered backend names, in the order they start."""
    return list(BACKENDS)


# ---------------------------------------------------------------------------------------------- losses


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


class BackendUnavailable(Exception):
    """A backend that cannot start; its message (one line) says why and what to do."""


# ---------------------------------------------------------------------------------------------- backends


class Backend:
    """Interface of a display backend; every method may raise: the Visualizer then disables the backend.

    A subclass's ``__init__(opt)`` starts it, or raises BackendUnavailable with a one-line reason (training
    then goes on without it).
    """

    name = 'backend'  # set by @register_backend
    aggregated_names = None  # losses that total the others, from BaseModel.aggregated_loss_names()

    @staticmethod
    def modify_commandline_options(parser):
        """Add this backend's options to the training parser (called once per backend by the Visualizer)."""
        return parser

    @staticmethod
    def enabled(opt):
        """Whether the options ask for this backend (the Visualizer then constructs it with ``opt``)."""
        return False


    def wants_images(self, save):
        """Whether display() needs the current visuals; ``save`` is True at --update_html_freq steps."""
        return False

    def display(self, images, epoch, total_iters, save):
        """images: OrderedDict label -> HxWx3 uint8 array."""

    def losses(self, epoch, counter_ratio, losses, total_iters):
        """Losses of the current iteration; x = epoch - 1 + counter_ratio is the (fractional) epoch."""

    def metrics(self, epoch, metrics, split):
        """Per-epoch metrics such as validation scores; ``split`` (e.g. 'val') prefixes their names, None: none."""

    def text(self, text, step):
        """A line of text worth keeping with the run (e.g. a training-phase switch), at training step ``step``."""

    def parameters(self, params):
        """Values that describe the run (name -> number or string), e.g. when a phase of training started."""

    def confusion_matrix(self, matrix, title, step):
        """A classifier's confusion matrix (list of rows: truth, columns: prediction) named ``title``."""

    def take_error(self):
        """An error raised in a background thread since the last call, or None."""
        return None

    def close(self):
        """Flush and release (bounded time)."""


def server_unreachable(url, timeout=2.0):
    """Why the server at ``url`` cannot be reached (one TCP connect, at most ``timeout`` seconds), or None."""
    import socket
    from urllib.parse import urlparse
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == 'https' else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f'cannot reach {parsed.hostname}:{port} ({exc.strerror or exc})'
    return None
