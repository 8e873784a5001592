"""Metrics on a held-out split during training (train.py --eval_freq N, off by default).

Every N epochs the model translates up to --eval_num images of --eval_phase (default val), the images are
written to checkpoints/NAME/eval/epoch_<E>/images/, and --eval_metrics are computed with metrics/.
Results are logged next to the losses (console, loss_log.txt and the visualizer's backends), appended to
checkpoints/NAME/eval_metrics.jsonl and drawn in checkpoints/NAME/eval_metrics.png (one panel per metric).

Evaluation must not change training: RNG states and normalisation statistics are restored afterwards, so a
run with --eval_freq follows the same trajectory as one without it.

The evaluator builds no loader: the Trainer (training/trainer.py) builds the held-out split with
``data.create_eval_dataset`` and hands it over with :meth:`PeriodicEvaluator.set_dataset`. Building the evaluator
checks its options (metric names, the split, a --fidelity_weights file) and writes nothing, so the Trainer makes it
before the run is accepted.
"""
import json
import os

import torch

from metrics import results as result_metrics
from metrics.registry import get_metric, parse_metrics
from metrics.weights import resolve_inception_weights
from util import util


class PeriodicEvaluator:
    """Called by the Trainer at the end of each epoch; does nothing unless --eval_freq > 0."""

    def __init__(self, opt, model):
        self.opt = opt
        self.model = model
        self.freq = getattr(opt, 'eval_freq', 0)
        self.enabled = self.freq > 0 and getattr(opt, 'rank', 0) == 0
        self.dataset = None
        self.root = os.path.join(opt.checkpoints_dir, opt.name)
        self.log_path = os.path.join(self.root, 'eval_metrics.jsonl')
        self.plot_path = os.path.join(self.root, 'eval_metrics.png')
        # unconditional models (--model gan) are scored by samples of generate_samples(n, seed) against real
        # images of the held-out split, or of the training data when there is no such split (self.phase)
        self.unconditional = callable(getattr(model, 'generate_samples', None))
        self.phase = opt.eval_phase
        if self.enabled:
            self.metric_names = parse_metrics(opt.eval_metrics)  # fail at start-up, not after the first epoch
            if opt.fidelity_weights and any(get_metric(m).kind == 'fidelity' for m in self.metric_names):
                resolve_inception_weights(opt.fidelity_weights, download=False)  # the file must exist
            split = os.path.join(opt.dataroot, opt.eval_phase)
            if self.unconditional and not os.path.isdir(split):
                self.phase = opt.phase
            elif not os.path.isdir(split) and not os.path.isdir(split + 'A'):
                raise FileNotFoundError(f"--eval_freq: no held-out split '{split}' (choose one with --eval_phase, "
                                        f"e.g. val or test, or set --eval_freq 0)")

    def set_dataset(self, dataset):
        """The held-out loader to translate, from ``data.create_eval_dataset(opt, opt.eval_phase, opt.eval_num)``."""
        self.dataset = dataset

    def _eval_dataset(self):
        if self.dataset is None:
            raise RuntimeError('PeriodicEvaluator has no held-out dataset: hand it over with set_dataset('
                               'data.create_eval_dataset(opt, opt.eval_phase, opt.eval_num)), as train.py does')
        self.dataset.set_epoch(0)
        return self.dataset

    def __call__(self, epoch, visualizer):
        """Score the held-out split when ``epoch`` is due; the scores go to ``visualizer`` and the log."""
        if not self.enabled or epoch % self.freq != 0:
            return None
        image_dir = os.path.join(self.root, 'eval', f'epoch_{epoch:03d}', 'images')
        util.mkdirs(image_dir)
        rng = util.get_rng_states()
        buffers = [(b, b.detach().clone()) for _, net in self.model.networks() for b in net.buffers()]
        try:
            written = 0
            for data in self._eval_dataset():
                if self.unconditional:
                    written = self._write_unconditional(data, image_dir, written)
                    continue
                self.model.set_input(data)
                self.model.test()
                visuals = self.model.get_current_visuals()
                if 'fake_B' not in visuals or 'real_B' not in visuals:
                    raise ValueError(f'--eval_freq needs a model with fake_B and real_B visuals (paired models such '
                                     f'as pix2pix); --model {self.opt.model} has {", ".join(visuals)}')
                paths = self.model.get_image_paths()
                paths = paths if isinstance(paths, (list, tuple)) else [paths]
                for j, path in enumerate(paths):
                    if written >= self.opt.eval_num:
                        break
                    stem = os.path.splitext(os.path.basename(path))[0]
                    for label in ('fake_B', 'real_B'):
                        util.save_image(util.tensor2im(visuals[label][j:j + 1]),
                                        os.path.join(image_dir, f'{stem}_{label}.png'))
                    written += 1
        finally:
            with torch.no_grad():
                for buffer, saved in buffers:
                    buffer.copy_(saved)
            util.set_rng_states(rng)
        metrics = result_metrics.score_images(image_dir, self.metric_names, weights_path=self.opt.fidelity_weights,
                                              device=self.opt.device)
        visualizer.print_current_metrics(epoch, metrics, split=self.phase)
        with open(self.log_path, 'a') as f:
            f.write(json.dumps({'epoch': epoch, 'split': self.phase, 'metrics': metrics}) + '\n')
        self.write_plot()
        return metrics

    def _write_unconditional(self, data, image_dir, written):
        """Real images of the batch and as many generated samples (fixed seeds), as <i>_real_B / <i>_fake_B."""
        real = data['A'][:max(0, self.opt.eval_num - written)]
        fake = self.model.generate_samples(len(real), seed=written)
        for j in range(len(real)):
            for label, images in (('fake_B', fake), ('real_B', real)):
                util.save_image(util.tensor2im(images[j:j + 1]), os.path.join(image_dir, f'{written:05d}_{label}.png'))
            written += 1
        return written

    def history(self):
        """[(epoch, metrics)] logged so far (also by earlier, resumed runs)."""
        if not os.path.isfile(self.log_path):
            return []
        with open(self.log_path) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        return [(e['epoch'], e['metrics']) for e in entries]

    def write_plot(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        history = self.history()
        names = [n for n in history[-1][1] if not n.endswith('_std')] if history else []
        if not names:
            return
        fig = Figure(figsize=(3.2 * len(names), 3.0), dpi=100)
        FigureCanvasAgg(fig)
        for i, name in enumerate(names):
            ax = fig.add_subplot(1, len(names), i + 1)
            points = [(e, m[name]) for e, m in history if name in m]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker='o')
            ax.set_title(f'{name} ({self.phase})', fontsize=9)
            ax.set_xlabel('epoch')
            ax.grid(True, alpha=0.3)
        fig.tight_layout()
        util.atomic_write(self.plot_path, lambda f: fig.savefig(f, format='png'))
