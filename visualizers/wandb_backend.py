"""Weights & Biases tracking backend (``--wandb``): the options, the losses (--log_level), the visuals and the
per-epoch metrics, online or as an offline run folder to sync later."""
import html
import os
import sys
from urllib.parse import urlparse

from visualizers.base import Backend, BackendUnavailable, losses_for_level, register_backend, server_unreachable

DEFAULT_PROJECT = 'gan-zoo'


def wandb_api_key():
    """The API key wandb would use (WANDB_API_KEY, or the netrc entry `wandb login` writes), or None."""
    key = os.environ.get('WANDB_API_KEY')
    if key:
        return key
    try:
        import netrc
        host = urlparse(os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai')).hostname
        path = os.environ.get('NETRC') or os.path.join(os.path.expanduser('~'), '.netrc')
        auth = netrc.netrc(path).authenticators(host) if os.path.isfile(path) else None
        return auth[2] if auth else None
    except (OSError, netrc.NetrcParseError):
        return None


def wandb_server_unreachable(timeout=2.0):
    """Why the W&B server (WANDB_BASE_URL or api.wandb.ai) cannot be reached, or None when a connect works."""
    return server_unreachable(os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai'), timeout)


@register_backend('wandb')
class WandbBackend(Backend):
    """A W&B run: the options as its config (plus git commit and command), losses (--log_level) and images at
    the training step, per-epoch metrics.

    Online when an API key is configured and the server answers; with --wandb_offline (or, said once with the
    sync command, when no key is found or the server cannot be reached) the run is written to
    checkpoints/NAME/wandb/offline-run-*, uploaded later with ``wandb sync <folder>``. wandb sends from its own
    service process, so logging never waits for the network.
    """

    @staticmethod
    def modify_commandline_options(parser):
        parser.add_argument('--wandb', action='store_true',
                            help='log to Weights & Biases: online with an API key (WANDB_API_KEY or `wandb login`), '
                                 'otherwise offline into [checkpoints_dir]/[name]/wandb/ (sync later)')
        parser.add_argument('--wandb_offline', action='store_true',
                            help='log a W&B run offline into [checkpoints_dir]/[name]/wandb/ (implies --wandb; '
                                 'upload later with wandb sync <folder>)')
        parser.add_argument('--wandb_project', type=str, default=DEFAULT_PROJECT, help='W&B project name')
        parser.add_argument('--wandb_entity', type=str, default=None,
                            help='W&B entity (user or team; default: your own)')
        parser.add_argument('--wandb_run_name', type=str, default=None, help='W&B run name (default: --name)')
        return parser

    @staticmethod
    def enabled(opt):
        return getattr(opt, 'wandb', False) or getattr(opt, 'wandb_offline', False)

    def __init__(self, opt):
        self.log_level = getattr(opt, 'log_level', 2)
        try:
            import wandb
        except ImportError:
            raise BackendUnavailable('wandb: the wandb package is not installed (pip install wandb); '
                                     'training goes on without W&B')
        self.wandb = wandb
        self.step = 0
        root = os.path.abspath(os.path.join(opt.checkpoints_dir, opt.name))
        os.makedirs(root, exist_ok=True)
        self.offline = bool(getattr(opt, 'wandb_offline', False))
        reason = None
        if not self.offline:
            if not wandb_api_key():
                reason = 'no API key found (set WANDB_API_KEY or run `wandb login`)'
            else:
                reason = wandb_server_unreachable()
            self.offline = reason is not None
        settings = wandb.Settings(console='off', x_disable_stats=True, x_disable_machine_info=True,
                                  silent=True, save_code=False, init_timeout=60)
        from util.reproducibility import command_line, git_info
        config = {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                  for k, v in sorted(vars(opt).items())}
        git = git_info()
        config.update(git_commit=git['commit'] or 'unknown', git_dirty=git['dirty'], command=command_line())
        self.run = wandb.init(project=getattr(opt, 'wandb_project', None) or DEFAULT_PROJECT,
                              entity=getattr(opt, 'wandb_entity', None) or None,
                              name=getattr(opt, 'wandb_run_name', None) or opt.name, dir=root, config=config,
                              mode='offline' if self.offline else 'online', settings=settings,
                              reinit='create_new')
        self.run_dir = os.path.dirname(self.run.dir)  # .../wandb/offline-run-<time>-<id>
        if self.offline:
            why = f'{reason}; ' if reason else ''
            print(f'wandb: {why}logging offline to {self.run_dir}; upload it later with `wandb sync {self.run_dir}`',
                  file=sys.stderr)

    def wants_images(self, save):
        return save and self.log_level >= 1

    def _advance(self, total_iters):
        # W&B steps must not go back; every record of one training iteration shares its step
        if total_iters and total_iters > self.step:
            self.step = int(total_iters)
        return self.step

    def display(self, images, epoch, total_iters, save):
        step = self._advance(total_iters)
        self.run.log({f'visuals/{label}': self.wandb.Image(image) for label, image in images.items()}, step=step)

    def losses(self, epoch, counter_ratio, losses, total_iters):
        values = losses_for_level(losses, self.log_level, self.aggregated_names)
        if values:
            record = {f'loss/{k}': v for k, v in values.items()}
            record['epoch'] = epoch - 1 + counter_ratio
            self.run.log(record, step=self._advance(total_iters))

    def metrics(self, epoch, metrics, split):
        if self.log_level >= 1:
            prefix = f'{split}/' if split else ''
            record = {f'{prefix}{k}': float(v) for k, v in metrics.items()}
            record['epoch'] = float(epoch)
            self.run.log(record, step=self.step)

    def text(self, text, step):
        self.run.log({'log': self.wandb.Html(f'<pre>{html.escape(text)}</pre>')}, step=self._advance(step))

    def parameters(self, params):
        self.run.config.update(params, allow_val_change=True)

    def confusion_matrix(self, matrix, title, step):
        columns = ['truth'] + [f'predicted {j}' for j in range(len(matrix))]
        table = self.wandb.Table(columns=columns, data=[[i] + list(row) for i, row in enumerate(matrix)])
        self.run.log({f'confusion/{title}': table}, step=self._advance(step))

    def close(self):
        self.run.finish()
