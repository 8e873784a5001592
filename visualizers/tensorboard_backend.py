"""TensorBoard tracking backend (``--tensorboard``): every loss and metric as a scalar and the visuals as images,
written to checkpoints/NAME/tb/ with torch.utils.tensorboard (view with ``tensorboard --logdir checkpoints``).

SummaryWriter queues events and a background thread writes them, so logging never waits for the disk; a
writer that fails is disabled by the Visualizer and training goes on.
"""
import os

from visualizers.base import Backend, BackendUnavailable, register_backend


@register_backend('tensorboard')
class TensorBoardBackend(Backend):
    """Scalars 'loss/<name>' against images seen, '<split>/<metric>' against epochs, images 'visuals/<label>'."""

    @staticmethod
    def modify_commandline_options(parser):
        parser.add_argument('--tensorboard', action='store_true',
                            help='log losses, metrics and images to TensorBoard in [checkpoints_dir]/[name]/tb/ '
                                 '(needs the tensorboard package)')
        return parser

    @staticmethod
    def enabled(opt):
        return bool(getattr(opt, 'tensorboard', False)) and opt.isTrain

    def __init__(self, opt):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise BackendUnavailable(f'--tensorboard needs the tensorboard package (pip install tensorboard): {exc}; '
                                     f'training goes on without it') from exc
        self.log_dir = os.path.join(opt.checkpoints_dir, opt.name, 'tb')
        self.writer = SummaryWriter(log_dir=self.log_dir, flush_secs=30)

    def wants_images(self, save):
        return True

    def display(self, images, epoch, total_iters, save):
        for label, image in images.items():
            self.writer.add_image(f'visuals/{label}', image, global_step=total_iters, dataformats='HWC')

    def losses(self, epoch, counter_ratio, losses, total_iters):
        for name, value in losses.items():
            self.writer.add_scalar(f'loss/{name}', float(value), global_step=total_iters)

    def metrics(self, epoch, metrics, split):
        prefix = f'{split}/' if split else ''
        for name, value in metrics.items():
            self.writer.add_scalar(f'{prefix}{name}', float(value), global_step=epoch)

    def text(self, text, step):
        self.writer.add_text('log', text, global_step=step)

    def parameters(self, params):
        self.writer.add_text('parameters', '\n'.join(f'{k}: {v}' for k, v in params.items()))

    def confusion_matrix(self, matrix, title, step):  # a markdown table: rows truth, columns prediction
        lines = ['| truth \\ predicted | ' + ' | '.join(str(j) for j in range(len(matrix))) + ' |',
                 '|---' * (len(matrix) + 1) + '|']
        lines += [f'| {i} | ' + ' | '.join(str(v) for v in row) + ' |' for i, row in enumerate(matrix)]
        self.writer.add_text(f'confusion/{title}', '\n'.join(lines), global_step=step)

    def close(self):
        self.writer.close()
