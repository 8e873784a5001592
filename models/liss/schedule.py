"""Task schedules of LiSS: which tasks train in each phase, and when held-out metrics move to the next phase.

Phases (aux = the auxiliary tasks, in the published priority order rotation < jigsaw < depth < gray):
  parallel:                     [aux + translation]                       (never switches)
  sequential:                   [aux1], [aux2], ..., [translation]        (no way back)
  liss:                         as sequential, distilling the encoder towards the reference encoder in every
                                phase after the first (the reference is an EMA of the encoder at each switch)
  additional:                   [aux1], [aux1, aux2], ..., [aux..., translation]
  representational:             [aux + identity], [translation]
  representational-traduction:  [aux + translation through frozen decoders, discriminators not trained],
                                [translation]
A phase ends when the metrics of its gating tasks cross their thresholds in BOTH domains, strictly
(accuracies > threshold, losses < threshold): the only task of a sequential/liss phase, the newly added task of
an additional phase, every task of a representational pre-training phase (plus identity for 'representational').

--repr_mode only concerns the representational schedules, once translation starts: freeze the encoder, let
gradients flow, or flow with a distillation loss to the reference encoder ('distillation'). 'continual' runs
as 'flow': the published help text announces it as flow + distillation, but the published code only tests
for 'freeze' and 'distillation'. In sequential and liss the encoder always keeps learning.
"""
SCHEDULES = ('parallel', 'sequential', 'additional', 'liss', 'representational', 'representational-traduction')
REPR_MODES = ('freeze', 'flow', 'distillation', 'continual')
REPRESENTATIONAL = ('representational', 'representational-traduction')

# task -> (held-out metric, True when higher is better)
TASK_METRICS = {'rotation': ('rotation_acc', True), 'jigsaw': ('jigsaw_acc', True), 'depth': ('depth_loss', False),
                'gray': ('gray_loss', False), 'identity': ('identity_loss', False)}


class TaskSchedule:
    """Phase bookkeeping of one run; ``thresholds`` maps task -> threshold of its held-out metric."""

    def __init__(self, kind, aux_tasks, thresholds, repr_mode='freeze'):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown --task_schedule '{kind}'; choose one of {', '.join(SCHEDULES)}")
        if repr_mode not in REPR_MODES:
            raise ValueError(f"unknown --repr_mode '{repr_mode}'; choose one of {', '.join(REPR_MODES)}")
        self.kind, self.aux, self.repr_mode = kind, list(aux_tasks), repr_mode
        self.thresholds = dict(thresholds)
        self.phases, self.gates = self._build()
        self.phase = 0
        self.history = []  # one dict per switch: step, from, to, and the crossing metrics

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
        if self.kind == 'representational-traduction':
            return [aux + ['translation'], ['translation']], [list(aux), []]
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

    def _after_representation(self):
        return self.kind in REPRESENTATIONAL and bool(self.aux) and self.phase > 0

    @property
    def freeze_encoder(self):
        """The encoders stop learning: translation after representational pre-training with --repr_mode freeze."""
        return self._after_representation() and self.repr_mode == 'freeze'

    @property
    def distill(self):
        """Distillation towards the reference encoder is part of the generator loss (when a reference exists)."""
        if self.kind == 'liss':
            return bool(self.aux) and self.phase > 0
        return self._after_representation() and self.repr_mode == 'distillation'

    @property
    def frozen_decoders(self):
        """representational-traduction pre-training: translation losses reach only the encoders."""
        return self.kind == 'representational-traduction' and bool(self.aux) and self.phase == 0

    @property
    def train_translation_discriminators(self):
        return self.should_compute('translation') and not self.frozen_decoders

    # ------------------------------------------------------------------ updates

    def crossed(self, task, metrics):
        """(crossed?, metric name, values): both domains must pass strictly; a missing metric never crosses."""
        name, higher = TASK_METRICS[task]
        keys = [f'{name}_A', f'{name}_B']
        if not all(k in metrics for k in keys):
            return False, name, None
        values = [float(metrics[k]) for k in keys]
        threshold = float(self.thresholds[task])
        ok = all((v > threshold) if higher else (v < threshold) for v in values)
        return ok, name, values

    def update(self, metrics, step=None):
        """Advance at most one phase if every gating task of the current phase crossed its threshold.

        Returns the switch record (also appended to ``history``) or None.
        """
        if self.is_last_phase():
            return None
        checks = [self.crossed(task, metrics) + (task,) for task in self.gates[self.phase]]
        if not checks or not all(ok for ok, _, _, _ in checks):
            return None
        record = {'step': -1 if step is None else int(step), 'from_phase': self.phase, 'to_phase': self.phase + 1,
                  'from_tasks': ','.join(self.tasks), 'to_tasks': ','.join(self.phases[self.phase + 1]),
                  'reason': ', '.join(f'{name} A {values[0]:.4f} B {values[1]:.4f} crossed '
                                      f'{self.thresholds[task]:g}' for _, name, values, task in checks)}
        self.phase += 1
        self.history.append(record)
        return record

    def describe(self, record):
        return (f"[liss] {record['step']} images: task schedule '{self.kind}' phase {record['from_phase']} "
                f"({record['from_tasks']}) -> phase {record['to_phase']} ({record['to_tasks']}): {record['reason']}")

    # ------------------------------------------------------------------ checkpoint state

    def state_dict(self):
        return {'kind': self.kind, 'aux': ','.join(self.aux), 'phase': self.phase,
                'history': [dict(r) for r in self.history]}

    def load_state_dict(self, state):
        if state['kind'] != self.kind or state['aux'] != ','.join(self.aux):
            raise ValueError(f"the checkpoint was trained with --task_schedule {state['kind']} (tasks in order "
                             f"'{state['aux']}') but this run uses --task_schedule {self.kind} (tasks in order "
                             f"'{','.join(self.aux)}'); pass the same --task_schedule, --auxiliary_tasks and "
                             f"--task_order to resume")
        if not 0 <= int(state['phase']) < len(self.phases):
            raise ValueError(f"checkpoint schedule phase {state['phase']} does not exist in '{self.kind}'")
        self.phase = int(state['phase'])
        self.history = [dict(r) for r in state['history']]
