"""What --lr_policy plateau steps on during training (:class:`PlateauMetric`)."""
from metrics.registry import higher_is_better


class PlateauMetric:
    """What --lr_policy plateau steps on: the --eval_freq metric (the first of --eval_metrics, at the epochs it is
    measured) when held-out evaluation is on, else the epoch's mean generator loss (every loss not named D*)."""

    def __init__(self, opt, evaluator):
        self.enabled = getattr(opt, 'lr_policy', None) == 'plateau'
        self.metric_name = None
        if self.enabled and evaluator.enabled and getattr(opt, 'world_size', 1) == 1:  # (rank 0 evaluates alone)
            self.metric_name = evaluator.metric_names[0]
        self.total, self.count = 0.0, 0

    def describe(self):
        if self.metric_name:
            return (f'--lr_policy plateau: learning rates drop x0.2 when the held-out {self.metric_name} (--eval_freq) '
                    f'stops improving for 5 evaluations')
        return ('--lr_policy plateau: learning rates drop x0.2 when the epoch\'s mean generator loss (the sum of the '
                'losses not named D*) stops improving for 5 epochs')

    def add_losses(self, model):
        if self.enabled and self.metric_name is None:
            losses = model.get_current_losses()
            self.total += sum(v for k, v in losses.items() if not k.startswith('D'))
            self.count += 1

    def epoch_value(self, eval_metrics):
        """The value to minimise for the epoch that just ended, or None (no new measurement)."""
        if not self.enabled:
            return None
        if self.metric_name is not None:
            if not eval_metrics or self.metric_name not in eval_metrics:
                return None
            value = float(eval_metrics[self.metric_name])
            return -value if higher_is_better(self.metric_name) else value
        value = self.total / self.count if self.count else None
        self.total, self.count = 0.0, 0
        return value
