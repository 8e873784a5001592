"""Task schedules of LiSS: which tasks train in each phase, and when validation metrics move to the next phase.

Phases (aux = the --auxiliary_tasks in their given order):
  parallel:         [aux + translation]                                  (never switches)
  sequential:       [aux1], [aux2], ..., [translation]                   (no way back)
  liss:             as sequential, with distillation towards the reference encoder after the first phase
  additional:       [aux1], [aux1, aux2], ..., [aux..., translation]
  representational: [aux + identity], [translation]
A phase ends when the metrics of its gating tasks cross their thresholds: the only task of a sequential/liss
phase, the newly added task of an additional phase, every task of the representational pre-training phase.
Accuracies cross upwards (>= threshold), losses downwards (<= threshold).

--repr_mode decides what the encoder does once translation starts after aux-only phases (sequential, liss,
representational): freeze it, let gradients flow, or let them flow with a distillation loss to the reference.
"""
SCHEDULES = ('parallel', 'sequential', 'additional', 'liss', 'representational')
REPR_MODES = ('freeze', 'flow', 'distillation')
PRETRAINING = ('sequential', 'liss', 'representational')

# task -> (validation metric, True when higher is better)
TASK_METRICS = {'rotation': ('rotation_acc', True), 'jigsaw': ('jigsaw_acc', True), 'depth': ('depth_loss', False),
                'gray': ('gray_loss', False), 'identity': ('identity_loss', False)}


class TaskSchedule:
    """Phase bookkeeping of one run; ``thresholds`` maps task -> threshold of its validation metric."""

    def __init__(self, kind, aux_tasks, thresholds, repr_mode='freeze'):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown --task_schedule '{kind}'; choose one of {', '.join(SCHEDULES)}")
        if repr_mode not in REPR_MODES:
            raise ValueError(f"unknown --repr_mode '{repr_mode}'; choose one of {', '.join(REPR_MODES)}")
        self.kind, self.aux, self.repr_mode = kind, list(aux_tasks), repr_mode
        self.thresholds = dict(thresholds)
        self.phases, self.gates = self._build()
        self.phase = 0
        self.history = []  # one dict per switch: epoch, from, to, and the crossing metrics

    def _build(self):
        aux = self.aux
        if not aux:
            return [['translation']], [[]]
        if self.kind == 'parallel':
            return [aux + ['translation']], [[]]
        if self.kind in ('sequential', 'liss'):
            return [[t] for t in aux] + [['translation']], [[t] for t in aux] + [[]]
        if self.kind == 'additional':
            return ([aux[:i + 1] for i in range(len(aux))] + [aux + ['translation']],
                    [[t] for t in aux] + [[]])
        return [aux + ['identity'], ['translation']], [aux + ['identity'], []]  # representational

    # ------------------------------------------------------------------ queries

    @property
    def tasks(self):
        return self.phases[self.phase]

    def should_compute(self, task):
        """Whether ``task`` ('translation', 'identity' or an auxiliary task) trains in the current phase."""
        return task in self.phases[self.phase]

    def is_last_phase(self):
        return self.phase == len(self.phases) - 1

    def _translation_after_pretraining(self):
        return self.kind in PRETRAINING and bool(self.aux) and self.tasks == ['translation']

    @property
    def freeze_encoder(self):
        """The encoders stop learning: translation after pre-training with --repr_mode freeze."""
        return self._translation_after_pretraining() and self.repr_mode == 'freeze'

    @property
    def distill(self):
        """Distillation towards the reference encoder is part of the generator loss."""
        if self._translation_after_pretraining():
            return self.repr_mode == 'distillation'
        return self.kind == 'liss' and self.phase > 0

    # ------------------------------------------------------------------ updates

    def crossed(self, task, metrics):
        """(crossed?, metric name, value); a missing metric never crosses."""
        name, higher = TASK_METRICS[task]
        if name not in metrics:
            return False, name, None
        value, threshold = float(metrics[name]), float(self.thresholds[task])
        return (value >= threshold if higher else value <= threshold), name, value

    def update(self, metrics, epoch=None):
        """Advance at most one phase if every gating task of the current phase crossed its threshold.

        Returns the switch record (also appended to ``history``) or None.
        """
        if self.is_last_phase():
            return None
        checks = [self.crossed(task, metrics) + (task,) for task in self.gates[self.phase]]
        if not checks or not all(ok for ok, _, _, _ in checks):
            return None
        record = {'epoch': -1 if epoch is None else int(epoch), 'from_phase': self.phase, 'to_phase': self.phase + 1,
                  'from_tasks': ','.join(self.tasks), 'to_tasks': ','.join(self.phases[self.phase + 1]),
                  'reason': ', '.join(f'{name} {value:.4f} crossed {self.thresholds[task]:g}'
                                      for _, name, value, task in checks)}
        self.phase += 1
        self.history.append(record)
        return record

    def describe(self, record):
        return (f"[liss] epoch {record['epoch']}: task schedule '{self.kind}' phase {record['from_phase']} "
                f"({record['from_tasks']}) -> phase {record['to_phase']} ({record['to_tasks']}): {record['reason']}")

    # ------------------------------------------------------------------ checkpoint state

    def state_dict(self):
        return {'kind': self.kind, 'aux': ','.join(self.aux), 'phase': self.phase,
                'history': [dict(r) for r in self.history]}

    def load_state_dict(self, state):
        if state['kind'] != self.kind or state['aux'] != ','.join(self.aux):
            raise ValueError(f"the checkpoint was trained with --task_schedule {state['kind']} --auxiliary_tasks "
                             f"'{state['aux']}' but this run uses --task_schedule {self.kind} --auxiliary_tasks "
                             f"'{','.join(self.aux)}'; pass the same values to resume")
        if not 0 <= int(state['phase']) < len(self.phases):
            raise ValueError(f"checkpoint schedule phase {state['phase']} does not exist in '{self.kind}'")
        self.phase = int(state['phase'])
        self.history = [dict(r) for r in state['history']]
