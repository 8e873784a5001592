"""LiSS task schedules driven by fake validation metrics: each switches exactly when its gate crosses."""
import pytest
import torch

from models.liss import TaskSchedule, jigsaw_batch, make_permutations, parse_tasks, rotation_batch, to_gray

THRESHOLDS = {'rotation': 0.6, 'jigsaw': 0.5, 'depth': 0.3, 'gray': 0.2, 'identity': 0.1}
# metrics on the wrong side of every threshold, and on the right side
BELOW = {'rotation_acc': 0.59, 'jigsaw_acc': 0.49, 'depth_loss': 0.31, 'gray_loss': 0.21, 'identity_loss': 0.11}
CROSS = {'rotation': {'rotation_acc': 0.6}, 'jigsaw': {'jigsaw_acc': 0.7}, 'depth': {'depth_loss': 0.3},
         'gray': {'gray_loss': 0.05}, 'identity': {'identity_loss': 0.1}}


def crossed(*tasks):
    metrics = dict(BELOW)
    for task in tasks:
        metrics.update(CROSS[task])
    return metrics


def test_parallel_never_switches():
    s = TaskSchedule('parallel', ['rotation', 'depth'], THRESHOLDS)
    everything = crossed('rotation', 'depth', 'identity')
    for metrics in (BELOW, everything, everything):
        assert s.update(metrics) is None
    assert s.tasks == ['rotation', 'depth', 'translation'] and s.should_compute('translation')
    assert not s.freeze_encoder and not s.distill


@pytest.mark.parametrize('kind', ['sequential', 'liss'])
def test_sequential_and_liss_one_task_after_the_other(kind):
    aux = ['rotation', 'gray', 'depth', 'jigsaw']
    s = TaskSchedule(kind, aux, THRESHOLDS, repr_mode='freeze')
    for i, task in enumerate(aux):
        assert s.tasks == [task] and not s.should_compute('translation')
        assert s.distill == (kind == 'liss' and i > 0)
        # nothing moves while the current task is below its threshold, even if every other task crossed
        others = [t for t in aux if t != task] + ['identity']
        assert s.update(BELOW) is None and s.update(crossed(*others)) is None and s.phase == i
        record = s.update(crossed(task), epoch=i + 1)
        assert record['from_phase'] == i and record['to_phase'] == i + 1 and record['epoch'] == i + 1
    assert s.tasks == ['translation'] and s.is_last_phase()
    assert s.freeze_encoder and not s.distill
    assert s.update(crossed(*aux)) is None and s.phase == len(aux)  # no way back
    assert len(s.history) == len(aux)


def test_missing_metric_never_crosses():
    s = TaskSchedule('sequential', ['depth'], THRESHOLDS)
    assert s.update({'rotation_acc': 1.0}) is None and s.phase == 0


def test_additional_adds_tasks_one_by_one():
    s = TaskSchedule('additional', ['rotation', 'depth'], THRESHOLDS)
    assert s.tasks == ['rotation']
    assert s.update(crossed('depth')) is None
    assert s.update(crossed('rotation'))
    assert s.tasks == ['rotation', 'depth']
    assert s.update(crossed('rotation')) is None  # the newly added task gates
    assert s.update(crossed('depth'))
    assert s.tasks == ['rotation', 'depth', 'translation']
    assert not s.freeze_encoder and not s.distill  # auxiliary tasks keep training the encoder
    assert s.update(crossed('rotation', 'depth')) is None


def test_representational_needs_every_task_and_identity():
    s = TaskSchedule('representational', ['rotation', 'gray'], THRESHOLDS, repr_mode='distillation')
    assert s.tasks == ['rotation', 'gray', 'identity']
    for partial in (crossed('rotation', 'gray'), crossed('rotation', 'identity'), crossed('gray', 'identity')):
        assert s.update(partial) is None
    assert s.update(crossed('rotation', 'gray', 'identity'))
    assert s.tasks == ['translation'] and s.distill and not s.freeze_encoder


@pytest.mark.parametrize('mode,frozen,distill', [('freeze', True, False), ('flow', False, False),
                                                 ('distillation', False, True)])
def test_repr_mode_in_translation_phase(mode, frozen, distill):
    s = TaskSchedule('sequential', ['rotation'], THRESHOLDS, repr_mode=mode)
    assert not s.freeze_encoder and not s.distill
    s.update(crossed('rotation'))
    assert (s.freeze_encoder, s.distill) == (frozen, distill)


def test_no_auxiliary_task_is_translation_only():
    for kind in ('parallel', 'sequential', 'additional', 'liss', 'representational'):
        s = TaskSchedule(kind, [], THRESHOLDS)
        assert s.tasks == ['translation'] and not s.freeze_encoder and not s.distill
        assert s.update(crossed('rotation', 'identity')) is None


def test_state_round_trip_and_mismatch():
    s = TaskSchedule('liss', ['rotation', 'depth'], THRESHOLDS)
    s.update(crossed('rotation'), epoch=3)
    t = TaskSchedule('liss', ['rotation', 'depth'], THRESHOLDS)
    t.load_state_dict(s.state_dict())
    assert t.phase == 1 and t.history == s.history
    with pytest.raises(ValueError, match='task_schedule'):
        TaskSchedule('sequential', ['rotation', 'depth'], THRESHOLDS).load_state_dict(s.state_dict())


def test_bad_names():
    with pytest.raises(ValueError, match='task_schedule'):
        TaskSchedule('random', ['rotation'], THRESHOLDS)
    with pytest.raises(ValueError, match='repr_mode'):
        TaskSchedule('liss', ['rotation'], THRESHOLDS, repr_mode='melt')
    with pytest.raises(ValueError, match='auxiliary_tasks'):
        parse_tasks('rotation, colour')
    assert parse_tasks('rotation, gray, depth, jigsaw') == ['rotation', 'gray', 'depth', 'jigsaw']
    assert parse_tasks('') == [] and parse_tasks('none') == []


def test_transformations():
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    images, labels = rotation_batch(x)
    assert images.shape == (8, 3, 6, 6) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(images[2], torch.rot90(x[0], 1, dims=(1, 2)))
    perms = make_permutations(2, 24, seed=0)
    assert len({tuple(p) for p in perms.tolist()}) == 24
    assert torch.equal(make_permutations(3, 10, seed=5), make_permutations(3, 10, seed=5))  # seeded, fixed
    assert not torch.equal(make_permutations(3, 10, seed=5), make_permutations(3, 10, seed=6))
    identity = int(next(i for i, p in enumerate(perms.tolist()) if p == [0, 1, 2, 3]))
    swap = int(next(i for i, p in enumerate(perms.tolist()) if p == [1, 0, 2, 3]))
    out = jigsaw_batch(x, perms, torch.tensor([identity, swap]))
    assert torch.equal(out[0], x[0])
    assert torch.equal(out[1, :, :3, :3], x[1, :, :3, 3:]) and torch.equal(out[1, :, 3:], x[1, :, 3:])
    gray = to_gray(torch.rand(1, 3, 4, 4) * 2 - 1)
    assert gray.shape == (1, 3, 4, 4) and torch.equal(gray[:, 0], gray[:, 2])
