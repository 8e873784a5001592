"""Held-out scoring of LiSS (the metrics that drive its task schedule) and test-time head scores.

:class:`LissValidation` is a mixin of models/liss_model.py's LissModel: it reads the model's networks, heads
and losses (``generators``, ``head_outputs``, ``encode``, ``depth_error``, ``gray_loss``) and its held-out split
(``eval_dataset``, handed over by train.py).
"""
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F

from util import distributed
from .tasks import to_gray

# metrics averaged over the two domains (the schedule gates on each domain, the logs show the mean too)
DOMAIN_MEANS = ('rotation_acc', 'rotation_loss', 'jigsaw_acc', 'jigsaw_loss', 'depth_loss', 'gray_loss',
                'identity_loss', 'cycle_loss')


def reduce_over_ranks(sums, count, confusion, device):
    """Sum the held-out metric sums, item count and confusion matrices over the torchrun ranks (identity when
    not distributed); every rank gets bitwise the same numbers, so every rank takes the same decisions."""
    if not distributed.is_distributed():
        return sums, count, confusion
    keys = sorted(sums)
    agreed = distributed.all_gather_objects(keys)
    if any(k != keys for k in agreed):
        raise distributed.ReplicaMismatchError(f'ranks measured different held-out metrics: {agreed}')
    t = torch.tensor([sums[k] for k in keys] + [float(count)], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    torch.distributed.broadcast(t, src=0)  # bitwise the same numbers everywhere
    values = t.tolist()
    for key in sorted(confusion):
        matrix = confusion[key].to(device, torch.float64)
        torch.distributed.all_reduce(matrix)
        confusion[key] = matrix.cpu()
    return OrderedDict(zip(keys, values[:-1])), int(values[-1]), confusion


class LissValidation:
    """The held-out split (DATAROOT/<--val_phase>A, B), its metrics and confusion matrices, and the rotation /
    jigsaw accuracies of the heads that test.py reports (--show_heads)."""

    def val_split(self):
        phase = self.opt.val_phase
        if all(os.path.isdir(os.path.join(self.opt.dataroot, phase + s)) for s in 'AB'):
            return phase
        return 'train'

    def eval_dataset_spec(self):
        """The validation split driving the task schedule (train.py builds it, every process the same items)."""
        if not self.isTrain:
            return None
        phase = self.val_split()
        if phase != self.opt.val_phase:
            print(f"warning: no {self.opt.val_phase}A/{self.opt.val_phase}B folders in {self.opt.dataroot}: "
                  f"the task schedule is driven by metrics on the train split")
        n = self.opt.max_val_size if self.opt.max_val_size > 0 else float('inf')  # 0: the whole split (published)
        return {'phase': phase, 'n': n, 'test_preprocess': False}

    def validation_loader(self):
        if self.eval_dataset is None:
            raise RuntimeError('LissModel.validate needs its validation split: hand it over with '
                               'model.set_eval_dataset(data.create_eval_dataset(opt, **model.eval_dataset_spec())), '
                               'as train.py does')
        self.eval_dataset.set_epoch(0)
        return self.eval_dataset

    @torch.no_grad()
    def validate(self, visualizer=None, step=None):
        """Mean held-out metrics of every task (active or not, to watch forgetting) and of the translation, per
        domain (the schedule needs both to pass) and averaged; the rotation / jigsaw confusion matrices go to
        the visualizer's trackers. Under torchrun each rank scores its share of the batches."""
        was_training = [net.training for _, net in self.networks()]
        self.eval()
        sums, count = OrderedDict(), 0
        confusion = {}
        generator = torch.Generator().manual_seed(int(self.opt.seed))  # same jigsaw draws at every evaluation
        rank, world = distributed.get_rank(), distributed.get_world_size()
        try:
            for i, data in enumerate(self.validation_loader()):
                if i % world != rank:
                    continue
                self.set_input(data)
                n = self.real_A.shape[0]
                values, matrices = self.batch_metrics(generator)
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value * n
                for key, matrix in matrices.items():
                    confusion[key] = confusion.get(key, 0) + matrix
                count += n
        finally:
            for (_, net), mode in zip(self.networks(), was_training):
                net.train(mode)
        sums, count, confusion = reduce_over_ranks(sums, count, confusion, self.device)
        metrics = OrderedDict((k, v / max(count, 1)) for k, v in sums.items())
        for name in DOMAIN_MEANS:
            if f'{name}_A' in metrics and f'{name}_B' in metrics:
                metrics[name] = 0.5 * (metrics[f'{name}_A'] + metrics[f'{name}_B'])
        if visualizer is not None:
            for key, matrix in confusion.items():
                task, d = key.rsplit('_', 1)
                visualizer.log_confusion_matrix(matrix.long().tolist(), f'confusion_{d}_{task}_{step}', step=step)
        return metrics

    def batch_metrics(self, generator=None):
        """Unweighted per-batch metrics of every task on the current input (no gradients), and the rotation /
        jigsaw confusion matrices (rows: truth, columns: prediction)."""
        out, matrices = OrderedDict(), {}
        with self.autocast():
            fake_B, fake_A = self.netG_A(self.real_A), self.netG_B(self.real_B)
            out['cycle_loss_A'] = float(F.l1_loss(self.netG_B(fake_B).float(), self.real_A.float()))
            out['cycle_loss_B'] = float(F.l1_loss(self.netG_A(fake_A).float(), self.real_B.float()))
            for d, net, real in self.generators():
                out[f'identity_loss_{d}'] = float(F.l1_loss(net.decoder(self.encode(d, net, real)).float(),
                                                            real.float()))
                for task, (prediction, target) in self.head_outputs(d, net, real, self.aux_tasks, generator).items():
                    if task in ('rotation', 'jigsaw'):
                        logits = prediction.float()
                        out[f'{task}_loss_{d}'] = float(F.cross_entropy(logits, target))
                        out[f'{task}_acc_{d}'] = float((logits.argmax(1) == target).float().mean())
                        k = logits.shape[1]
                        index = (target * k + logits.argmax(1)).cpu()
                        matrices[f'{task}_{d}'] = torch.bincount(index, minlength=k * k).reshape(k, k)
                    elif task == 'depth':
                        if target is not None:
                            out[f'depth_loss_{d}'] = float(self.depth_error(prediction, target))
                    else:  # the published held-out gray loss is the training one (with its adversarial share)
                        out[f'gray_loss_{d}'] = float(self.gray_loss(d, prediction, target))
        return out, matrices

    def compute_visuals(self):
        """Head predictions as images (depth map, gray input and its colourisation) and rotation/jigsaw scores."""
        if self.isTrain or not getattr(self.opt, 'show_heads', False):
            return
        generator = torch.Generator().manual_seed(int(self.opt.seed) + self._score_count)
        with self.autocast():
            for d, net, real in self.generators():
                for task, (prediction, target) in self.head_outputs(d, net, real, self.aux_tasks, generator).items():
                    if task == 'depth':
                        setattr(self, f'depth_pred_{d}', prediction)
                    elif task == 'gray':
                        setattr(self, f'gray_{d}', to_gray(real))
                        setattr(self, f'colorized_{d}', prediction)
                    else:
                        self._add_score(f'{task}_acc_{d}', (prediction.argmax(1) == target).float())
        self._score_count += 1

    def _add_score(self, name, hits):
        total, count = self._score_sums.get(name, (0.0, 0))
        self._score_sums[name] = (total + float(hits.sum()), count + hits.numel())

    def test_metrics(self):
        """Mean rotation / jigsaw accuracy of the heads over the test run (--show_heads), for test.py's report."""
        return OrderedDict((name, total / max(count, 1)) for name, (total, count) in self._score_sums.items())
