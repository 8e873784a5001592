"""LiSS task schedules driven by fake held-out metrics: each switches exactly when its gate crosses in both
domains (strictly), and --repr_mode only concerns the representational schedules."""
import pytest
import torch

from models.liss import (TaskSchedule, depth_target, jigsaw_batch, jigsaw_crop_size, jigsaw_permutations,
                         make_permutations, parse_tasks, rotation_batch, to_gray)

THRESHOLDS = {'rotation': 0.6, 'jigsaw': 0.5, 'depth': 0.3, 'gray': 0.2, 'identity': 0.1}
# metric name -> (value on the wrong side of its threshold, value past it)
VALUES = {'rotation_acc': (0.6, 0.61), 'jigsaw_acc': (0.5, 0.7), 'depth_loss': (0.3, 0.29), 'gray_loss': (0.2, 0.05),
          'identity_loss': (0.1, 0.09)}
NAMES = {'rotation': 'rotation_acc', 'jigsaw': 'jigsaw_acc', 'depth': 'depth_loss', 'gray': 'gray_loss',
         'identity': 'identity_loss'}
BELOW = {f'{name}_{d}': bad for name, (bad, _) in VALUES.items() for d in 'AB'}  # at the threshold: not crossed


def crossed(*tasks, only=None):
    """Metrics where ``tasks`` crossed (in domain ``only`` alone when given, else in both)."""
    metrics = dict(BELOW)
    for task in tasks:
        name = NAMES[task]
        for d in (only or 'AB'):
            metrics[f'{name}_{d}'] = VALUES[name][1]
    return metrics


def test_parallel_never_switches():
    s = TaskSchedule('parallel', ['rotation', 'depth'], THRESHOLDS)
    everything = crossed('rotation', 'depth', 'identity')
    for metrics in (BELOW, everything, everything):
        assert s.update(metrics) is None
    assert s.tasks == ['rotation', 'depth', 'translation'] and s.should_compute('translation')
    assert not s.freeze_encoder and not s.distill


@pytest.mark.parametrize('mode', ['freeze', 'flow', 'distillation', 'continual'])
@pytest.mark.parametrize('kind', ['sequential', 'liss'])
def test_sequential_and_liss_one_task_after_the_other_whatever_repr_mode(kind, mode):
    aux = ['rotation', 'jigsaw', 'depth', 'gray']
    s = TaskSchedule(kind, aux, THRESHOLDS, repr_mode=mode)
    for i, task in enumerate(aux):
        assert s.tasks == [task] and not s.should_compute('translation')
        assert s.distill == (kind == 'liss' and i > 0) and not s.freeze_encoder
        # nothing moves while the current task is at its threshold, crossed in one domain only, or when every
        # other task crossed
        others = [t for t in aux if t != task] + ['identity']
        for metrics in (BELOW, crossed(task, only='A'), crossed(task, only='B'), crossed(*others)):
            assert s.update(metrics) is None and s.phase == i
        record = s.update(crossed(task), step=(i + 1) * 400)
        assert record['from_phase'] == i and record['to_phase'] == i + 1 and record['step'] == (i + 1) * 400
    assert s.tasks == ['translation'] and s.is_last_phase()
    # the encoder keeps learning in translation (repr_mode does not apply); liss keeps distilling
    assert not s.freeze_encoder and s.distill == (kind == 'liss')
    assert s.update(crossed(*aux)) is None and s.phase == len(aux)  # no way back
    assert len(s.history) == len(aux)


def test_missing_metric_never_crosses():
    s = TaskSchedule('sequential', ['depth'], THRESHOLDS)
    assert s.update({'rotation_acc_A': 1.0, 'rotation_acc_B': 1.0}) is None
    assert s.update({'depth_loss_A': 0.0}) is None and s.phase == 0  # B missing


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


# continual runs as flow: the published code tests only for freeze and distillation
@pytest.mark.parametrize('mode,frozen,distill', [('freeze', True, False), ('flow', False, False),
                                                 ('distillation', False, True), ('continual', False, False)])
def test_representational_needs_every_task_and_identity(mode, frozen, distill):
    s = TaskSchedule('representational', ['rotation', 'gray'], THRESHOLDS, repr_mode=mode)
    assert s.tasks == ['rotation', 'gray', 'identity'] and not s.freeze_encoder and not s.distill
    assert not s.frozen_decoders and not s.should_compute('translation')
    for partial in (crossed('rotation', 'gray'), crossed('rotation', 'identity'), crossed('gray', 'identity'),
                    crossed('rotation', 'gray', 'identity', only='B')):
        assert s.update(partial) is None
    assert s.update(crossed('rotation', 'gray', 'identity'))
    assert s.tasks == ['translation'] and (s.freeze_encoder, s.distill) == (frozen, distill)


@pytest.mark.parametrize('mode,frozen,distill', [('freeze', True, False), ('distillation', False, True),
                                                 ('continual', False, False)])
def test_representational_traduction(mode, frozen, distill):
    s = TaskSchedule('representational-traduction', ['rotation', 'depth'], THRESHOLDS, repr_mode=mode)
    # translation losses already train the encoders, through frozen decoders and untrained discriminators
    assert s.tasks == ['rotation', 'depth', 'translation'] and s.frozen_decoders
    assert not s.train_translation_discriminators and not s.freeze_encoder and not s.distill
    assert s.update(crossed('rotation')) is None
    assert s.update(crossed('rotation', 'depth'))  # identity does not gate this one (published)
    assert s.tasks == ['translation'] and not s.frozen_decoders and s.train_translation_discriminators
    assert (s.freeze_encoder, s.distill) == (frozen, distill)


def test_no_auxiliary_task_is_translation_only():
    for kind in ('parallel', 'sequential', 'additional', 'liss', 'representational', 'representational-traduction'):
        s = TaskSchedule(kind, [], THRESHOLDS)
        assert s.tasks == ['translation'] and not s.freeze_encoder and not s.distill and not s.frozen_decoders
        assert s.update(crossed('rotation', 'identity')) is None


def test_state_round_trip_and_mismatch():
    s = TaskSchedule('liss', ['rotation', 'depth'], THRESHOLDS)
    s.update(crossed('rotation'), step=3)
    t = TaskSchedule('liss', ['rotation', 'depth'], THRESHOLDS)
    t.load_state_dict(s.state_dict())
    assert t.phase == 1 and t.history == s.history
    with pytest.raises(ValueError, match='task_schedule'):
        TaskSchedule('sequential', ['rotation', 'depth'], THRESHOLDS).load_state_dict(s.state_dict())
    with pytest.raises(ValueError, match='task_order'):
        TaskSchedule('liss', ['depth', 'rotation'], THRESHOLDS).load_state_dict(s.state_dict())


def test_bad_names_and_task_order():
    with pytest.raises(ValueError, match='task_schedule'):
        TaskSchedule('random', ['rotation'], THRESHOLDS)
    with pytest.raises(ValueError, match='repr_mode'):
        TaskSchedule('liss', ['rotation'], THRESHOLDS, repr_mode='melt')
    with pytest.raises(ValueError, match='auxiliary_tasks'):
        parse_tasks('rotation, colour')
    # published priority: rotation < jigsaw < depth < gray, whatever the given order
    assert parse_tasks('rotation, gray, depth, jigsaw') == ['rotation', 'jigsaw', 'depth', 'gray']
    assert parse_tasks('gray,depth , rotation') == ['rotation', 'depth', 'gray']
    assert parse_tasks('gray, depth, rotation', order='given') == ['gray', 'depth', 'rotation']
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


def test_published_jigsaw_table_and_crop():
    perms = jigsaw_permutations('published', 3, 64, seed=0)
    assert perms.shape == (64, 9) and len({tuple(p) for p in perms.tolist()}) == 64
    assert perms[0].tolist() == [3, 1, 7, 6, 8, 0, 4, 2, 5] and perms[-1].tolist() == [5, 8, 0, 6, 1, 2, 7, 4, 3]
    assert all(sorted(p) == list(range(9)) for p in perms.tolist())
    with pytest.raises(ValueError, match='seeded'):
        jigsaw_permutations('published', 2, 4, seed=0)
    # a 9x9 image whose tiles are numbered: a crop of the whole image shuffles whole tiles
    rows, cols = torch.meshgrid(torch.arange(9), torch.arange(9), indexing='ij')
    x = ((rows // 3) * 3 + cols // 3).float()[None, None]
    out = jigsaw_batch(x, perms, torch.tensor([0]), crop=9, generator=torch.Generator().manual_seed(0))
    tiles = out[0, 0, ::3, ::3].reshape(-1).tolist()
    assert tiles == [float(t) for t in perms[0].tolist()]  # output tile j shows input tile perm[j]
    # a smaller crop: output side = crop, from a random place
    big = torch.rand(2, 3, 32, 32)
    assert jigsaw_batch(big, perms, torch.tensor([1, 2]), crop=27).shape == (2, 3, 27, 27)

    class Opt:
        jigsaw_grid, crop_size, jigsaw_crop = 3, 256, 222
    assert jigsaw_crop_size(Opt) == 222
    Opt.crop_size, Opt.jigsaw_crop = 32, 0
    assert jigsaw_crop_size(Opt) == 27  # 222 / 256 of the image, a multiple of the grid
    Opt.crop_size, Opt.jigsaw_crop = 256, 0
    assert jigsaw_crop_size(Opt) == 222
    Opt.crop_size, Opt.jigsaw_crop = 32, 222
    with pytest.raises(ValueError, match='--jigsaw_crop 0'):
        jigsaw_crop_size(Opt)


def test_depth_target_is_the_published_log_inverse():
    d8 = torch.tensor([1.0, 64.0, 128.0, 255.0])  # 8-bit depth values
    loaded = d8 / 255 * 2 - 1  # how the dataset loads them
    expected = (torch.log(1 / (d8 / 255 + 1e-6)) - 2) / 2
    torch.testing.assert_close(depth_target(loaded), expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(depth_target(loaded, 'linear'), loaded)
    assert depth_target(loaded)[0] > depth_target(loaded)[-1]  # near (small d) -> large target
