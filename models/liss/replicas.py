"""Multi-process LiSS (torchrun): every rank builds identical networks (same seed, then a broadcast from rank
0), gradients are averaged explicitly before each optimizer step (the heads and encoders are called directly,
past any DistributedDataParallel wrapper), held-out metrics are summed over ranks before any schedule decision
(models/liss/validation.py), and reference encoders and schedule states are compared across ranks at every save.

:class:`LissReplicas` is a mixin of models/liss_model.py's LissModel.
"""
from util import distributed


class LissReplicas:
    """Network wrapping, gradient averaging and the replica check at every save."""

    supports_distributed = True  # explicitly: see wrap_networks and step

    def wrap_networks(self):
        """Under torchrun: no DistributedDataParallel (encoders and heads are called directly); rank 0's
        weights are broadcast once, and :meth:`step` averages gradients before every update."""
        if not (self.isTrain and distributed.is_distributed()):
            return
        if getattr(self.opt, 'norm', None) == 'syncbatch':
            for name, net in self.networks():
                setattr(self, 'net' + name, distributed.convert_sync_batchnorm(net))
        distributed.broadcast_from_rank0([net for _, net in self.networks()])

    def step(self, optimizer):
        """Average the gradients over ranks, then step: replicas stay identical."""
        distributed.average_gradients(optimizer)
        super().step(optimizer)

    def save_training_state(self, label, epoch, epoch_iter, total_iters, epoch_samples=None):
        """Check that every rank holds the same schedule and reference encoders (the networks are checked by
        the base class), then save."""
        if distributed.is_distributed():
            refs = [(d, m) for d, m in self.ref_encoders.items() if m is not None]
            mine = (self.schedule.state_dict(), self.decay_epochs, distributed.parameter_digest(refs) if refs else None)
            states = distributed.all_gather_objects(mine)
            if any(s != states[0] for s in states[1:]):
                raise distributed.ReplicaMismatchError(
                    'the LiSS task schedule or reference encoders differ between ranks: '
                    + '; '.join(f'rank {r}: phase {s[0]["phase"]}, decay {s[1]}, ref {str(s[2])[:12]}'
                                for r, s in enumerate(states)))
        return super().save_training_state(label, epoch, epoch_iter, total_iters, epoch_samples)
