"""Training displays: the :class:`Visualizer` front (console + loss_log.txt) and one file per backend.

Each backend registers itself with ``@register_backend(name)`` when its module is imported; the backend
imports below are those registration lines and set the order in which backends start. Adding a backend
(tensorboard, wandb, ...) is one new ``visualizers/<name>_backend.py`` and one import line here.
"""
from visualizers.base import (BACKENDS, Backend, BackendUnavailable, aggregate_losses,  # noqa: F401
                              backend_names, losses_for_level, register_backend)
from visualizers.html_backend import HTMLBackend, decimate, smooth  # noqa: F401
from visualizers.visdom_backend import VisdomBackend  # noqa: F401
from visualizers.comet_backend import CometBackend, comet_api_key, comet_server_unreachable  # noqa: F401
from visualizers.tensorboard_backend import TensorBoardBackend  # noqa: F401
from visualizers.wandb_backend import WandbBackend, wandb_api_key, wandb_server_unreachable  # noqa: F401
from visualizers.results_page import save_images  # noqa: F401
from visualizers.visualizer import Visualizer  # noqa: F401
