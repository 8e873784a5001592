"""The liss model: heads learn, schedules move the model, reference encoder (EMA, distillation, resume),
encoder freezing, --auxiliary_tasks subsets, RAdam, D_rotation, equality with cycle_gan, depth data and test.py."""
import os

import pytest
import torch

from conftest import run_test, run_train
from data import create_dataset, create_eval_dataset
from models import create_model
from options.train_options import TrainOptions
from util.util import seed_everything

TINY = ['--netG', 'resnet_1blocks', '--ngf', '8', '--ndf', '8', '--load_size', '36', '--crop_size', '32',
        '--num_threads', '0', '--pool_size', '4', '--display_id', '0', '--no_html', '--seed', '3']


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions run fastest on one thread; two threads on a busy 2-core machine spin ten times longer."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(root, tmp_path, *extra, name='m'):
    opt = TrainOptions(['--dataroot', root, '--checkpoints_dir', str(tmp_path), '--name', name, '--model', 'liss',
                        *TINY, '--jigsaw_crop', '0', *[str(e) for e in extra]]).parse()
    seed_everything(opt.seed)
    model = create_model(opt)
    model.setup(opt)
    spec = model.eval_dataset_spec()  # the validation split, handed over as train.py does
    model.set_eval_dataset(create_eval_dataset(opt, **spec))
    return opt, model


def first_batch(opt):
    dataset = create_dataset(opt)
    dataset.set_epoch(1)
    return next(iter(dataset))


def encoder_state(model, domain='A'):
    net = model.netG_A if domain == 'A' else model.netG_B
    return {k: v.clone() for k, v in net.encoder.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def passed(**values):
    """Held-out metrics with ``values`` in both domains, e.g. passed(rotation_acc=0.9)."""
    return {f'{k}_{d}': v for k, v in values.items() for d in 'AB'}


@pytest.mark.parametrize('task,options', [
    ('rotation', []),
    ('jigsaw', ['--jigsaw_grid', '2', '--jigsaw_permutations', '4', '--jigsaw_set', 'seeded', '--jigsaw_crop', '32']),
    ('depth', []),
    ('gray', []),
])
def test_every_head_learns(unpaired_root, tmp_path, task, options):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', task, '--task_schedule', 'sequential',
                       '--batch_size', '4', '--lr', '0.002', *options)
    assert model.schedule.tasks == [task]
    model.set_input(first_batch(opt))
    losses = []
    for _ in range(30):
        model.optimize_parameters()
        losses.append(float(model.loss_G.detach()))
        assert model.loss_G_A is None and model.loss_D_A is None  # no translation in this phase
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses


@pytest.mark.parametrize('tasks', ['', 'rotation', 'gray, depth', 'jigsaw,rotation', 'rotation, gray, depth, jigsaw'])
def test_auxiliary_task_subsets(unpaired_root, tmp_path, tasks):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', tasks, '--task_schedule', 'parallel',
                       '--max_val_size', '2')
    chosen = [t.strip() for t in tasks.split(',') if t.strip()]
    assert sorted(model.netG_A.heads) == sorted(chosen) and sorted(model.netG_B.heads) == sorted(chosen)
    model.set_input(first_batch(opt))
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert {'G_A', 'cycle_A', 'D_B'} <= set(losses)
    for task in ('rotation', 'jigsaw', 'depth', 'gray'):
        assert (f'{task}_A' in losses) == (task in chosen)
    metrics = model.validate()
    for name in ('rotation_acc', 'jigsaw_acc', 'depth_loss', 'gray_loss'):
        assert (name in metrics) == (name.split('_')[0] in chosen)
    assert 'cycle_loss' in metrics and 'identity_loss' in metrics


def test_validation_split_is_handed_over_by_train_py(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--max_val_size', '1')
    assert model.eval_dataset_spec() == {'phase': 'test', 'n': 1, 'test_preprocess': False}
    assert [len(batch['A']) for batch in model.eval_dataset] == [1]
    model.set_eval_dataset(None)  # the model builds no loader of its own
    with pytest.raises(RuntimeError, match='set_eval_dataset'):
        model.validate()


def test_optimizer_is_torch_optimizer_radam_with_task_learning_rates(unpaired_root, tmp_path):
    import torch_optimizer
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation,depth', '--lr_rotation', '0.01')
    assert type(model.optimizer_G) is torch_optimizer.RAdam and type(model.optimizer_D) is torch_optimizer.RAdam
    lrs = {g['name']: g['lr'] for g in model.optimizer_G.param_groups}
    assert lrs == {'translation': opt.lr, 'rotation': 0.01, 'depth': opt.lr}


def test_representational_freeze_keeps_encoder_during_translation(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule',
                       'representational', '--repr_mode', 'freeze')
    model.set_input(first_batch(opt))
    model.optimize_parameters()  # pre-training: the encoder learns
    assert model.update_task_schedule(passed(rotation_acc=0.9, identity_loss=0.5)) is None  # identity not below 0.5
    assert model.update_task_schedule({**passed(rotation_acc=0.9, identity_loss=0.1), 'rotation_acc_B': 0.2}) is None
    assert 'rotation_acc A 0.9000 B 0.9000' in model.update_task_schedule(passed(rotation_acc=0.9,
                                                                                 identity_loss=0.1), step=8)
    enc_A, enc_B = encoder_state(model, 'A'), encoder_state(model, 'B')
    dec_A = {k: v.clone() for k, v in model.netG_A.decoder.state_dict().items()}
    for _ in range(3):
        model.optimize_parameters()
    assert model.loss_G_A is not None and model.loss_rotation_A is None
    assert same(enc_A, encoder_state(model, 'A')) and same(enc_B, encoder_state(model, 'B'))
    assert not same(dec_A, model.netG_A.decoder.state_dict())


@pytest.mark.parametrize('kind,mode', [('sequential', 'freeze'), ('sequential', 'flow'), ('liss', 'freeze'),
                                       ('representational', 'flow')])
def test_encoder_learns_during_translation(unpaired_root, tmp_path, kind, mode):
    """repr_mode applies to the representational schedules only: sequential and liss (the published run used
    liss with --repr_mode freeze) keep training the encoder once translation starts."""
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule', kind,
                       '--repr_mode', mode)
    model.set_input(first_batch(opt))
    assert model.update_task_schedule(passed(rotation_acc=0.9, identity_loss=0.0))
    assert model.schedule.tasks == ['translation']
    before = encoder_state(model)
    model.optimize_parameters()
    assert not same(before, encoder_state(model))
    assert (model.loss_distillation_A is not None) == (kind == 'liss')


def test_liss_distils_from_the_first_switch_on(unpaired_root, tmp_path):
    """--task_schedule liss --repr_mode freeze (the published run): an EMA reference encoder from the first
    switch, an L1 distillation loss in every later phase, translation included."""
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'gray,rotation', '--task_schedule', 'liss',
                       '--encoder_merge_ratio', '0.3', '--lr', '0.01', '--repr_mode', 'freeze')
    assert model.schedule.tasks == ['rotation']  # sorted: rotation before gray
    model.set_input(first_batch(opt))
    model.optimize_parameters()
    assert model.ref_encoders['A'] is None and model.loss_distillation_A is None
    model.update_task_schedule(passed(rotation_acc=1.0))  # first switch: the reference is the encoder
    assert same(encoder_state(model), model.ref_encoders['A'].state_dict())
    assert not any(p.requires_grad for p in model.ref_encoders['A'].parameters())
    model.optimize_parameters()  # gray phase, distilled towards the reference
    assert model.schedule.tasks == ['gray'] and float(model.loss_distillation_A) == pytest.approx(0.0, abs=1e-7)
    model.optimize_parameters()
    with torch.no_grad():  # L1 (published), weighted by lambda_distillation
        expected = (model.netG_A.encoder(model.real_A) - model.ref_encoders['A'](model.real_A)).abs().mean()
    model.optimize_parameters()
    assert float(model.loss_distillation_A) == pytest.approx(5.0 * float(expected), rel=1e-4)
    assert float(model.loss_distillation_A) > 0  # the encoder moved away from the reference
    old, new = {k: v.clone() for k, v in model.ref_encoders['B'].state_dict().items()}, encoder_state(model, 'B')
    model.update_task_schedule(passed(gray_loss=0.0))
    for key, value in model.ref_encoders['B'].state_dict().items():
        torch.testing.assert_close(value, 0.3 * new[key] + 0.7 * old[key])
    assert model.schedule.tasks == ['translation']
    enc = encoder_state(model)
    model.optimize_parameters()
    assert model.loss_G_A is not None and float(model.loss_distillation_A) > 0 and not same(enc, encoder_state(model))


def test_resume_restores_schedule_and_reference_encoder(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation,depth', '--task_schedule', 'liss',
                       '--encoder_merge_ratio', '0.5')
    model.set_input(first_batch(opt))
    model.update_task_schedule(passed(rotation_acc=1.0), step=2)
    model.optimize_parameters()
    model.optimize_parameters()
    model.update_task_schedule(passed(depth_loss=0.0), step=4)  # EMA of two different encoders
    model.decay_epochs = 3
    model.save_training_state('latest', 5, 0, 40)
    _, resumed = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation,depth', '--task_schedule', 'liss',
                       '--encoder_merge_ratio', '0.5', '--seed', '9')
    assert resumed.schedule.phase == 0 and resumed.ref_encoders['A'] is None
    assert resumed.load_training_state('latest') == (5, 0, 40)
    assert resumed.schedule.phase == 2 and resumed.schedule.history == model.schedule.history
    assert resumed.decay_epochs == 3 and resumed.schedule.distill
    assert all(p.requires_grad for p in resumed.netG_A.encoder.parameters())
    for d in 'AB':
        assert same(model.ref_encoders[d].state_dict(), resumed.ref_encoders[d].state_dict())


def test_d_rotation(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', '', '--D_rotation', '--lambda_DR', '0.5')
    model.set_input(first_batch(opt))
    head = model.netD_A.rotation_head[-1].weight.clone()
    model.optimize_parameters()
    assert all(model.get_current_losses()[k] > 0 for k in ('DR_A', 'DR_B', 'G_DR_A', 'G_DR_B'))
    assert not torch.equal(head, model.netD_A.rotation_head[-1].weight)


def test_no_auxiliary_task_equals_cycle_gan(unpaired_root, tmp_path):
    common = ['--dataroot', unpaired_root, '--checkpoints_dir', tmp_path, *TINY, '--n_epochs', '1',
              '--n_epochs_decay', '1', '--optimizer', 'adam', '--dataset_mode', 'unaligned', '--batch_size', '2',
              '--print_freq', '100', '--display_freq', '100']
    assert run_train(common + ['--model', 'cycle_gan', '--name', 'cg']) in (0, None)
    assert run_train(common + ['--model', 'liss', '--name', 'ls', '--auxiliary_tasks', '']) in (0, None)
    for net in ('G_A', 'G_B'):
        cg = torch.load(tmp_path / 'cg' / f'latest_net_{net}.pth')
        ls = torch.load(tmp_path / 'ls' / f'latest_net_{net}.pth')
        mapped = {('model.' + k.split('.', 1)[1]): v for k, v in ls.items()}  # encoder.N / decoder.N -> model.N
        assert mapped.keys() == cg.keys() and same(cg, mapped), net
    for net in ('D_A', 'D_B'):
        assert same(torch.load(tmp_path / 'cg' / f'latest_net_{net}.pth'),
                    torch.load(tmp_path / 'ls' / f'latest_net_{net}.pth'))


def test_translation_state_dict_loads_in_cycle_gan_generator(unpaired_root, tmp_path):
    from models import networks
    _, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation')
    plain = networks.define_G(3, 3, 8, 'resnet_1blocks', 'instance')
    plain.load_state_dict(model.netG_A.translation_state_dict())
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(plain(x), model.netG_A(x))


def test_depth_maps_are_required_and_aligned(unpaired_root, tmp_path):
    import shutil
    opt, _ = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'depth')
    item = create_dataset(opt).dataset[0]
    assert item['A_depth'].shape == (1, 32, 32) and item['B_depth'].shape == (1, 32, 32)
    assert all('depths' not in p for p in create_dataset(opt).dataset.A_paths)
    root = tmp_path / 'copy'
    shutil.copytree(unpaired_root, root)
    os.remove(root / 'trainB' / 'depths' / '2.png')
    opt, _ = build(str(root), tmp_path, '--auxiliary_tasks', 'depth', name='missing')
    with pytest.raises(FileNotFoundError, match=r'trainB/2\.png.*trainB/depths/2'):
        create_dataset(opt)
    opt, _ = build(str(root), tmp_path, '--auxiliary_tasks', 'rotation', name='nodepth')
    assert 'A_depth' not in create_dataset(opt).dataset[0]  # depth maps are not needed without the task


def test_train_schedule_then_test_writes_heads(unpaired_root, tmp_path):
    args = ['--dataroot', unpaired_root, '--checkpoints_dir', tmp_path, '--name', 'run', '--model', 'liss', *TINY,
            '--task_schedule', 'liss', '--auxiliary_tasks', 'gray,depth,rotation', '--gray_loss_threshold', '10',
            '--depth_loss_threshold', '10', '--rotation_acc_threshold', '-1', '--n_epochs', '1', '--n_epochs_decay', '0',
            '--print_freq', '100', '--schedule_freq', '1']
    assert run_train(args) in (0, None)
    log = (tmp_path / 'run' / 'loss_log.txt').read_text()
    # sorted task order; one evaluation of the test split at the first step, then one every image
    assert "1 images: task schedule 'liss' phase 0 (rotation) -> phase 1 (depth)" in log
    assert "3 images: task schedule 'liss' phase 2 (gray) -> phase 3 (translation)" in log
    assert '(epoch: 1, test, 1 images) ' in log and 'gray_loss_B:' in log
    state = torch.load(tmp_path / 'run' / 'latest_train_state.pth', weights_only=True)
    assert state['extra']['schedule']['phase'] == 3 and state['extra']['ref_encoder_A'] is not None
    # --n_epochs 1 --n_epochs_decay 0: one decay epoch with translation after epoch 1, so two epochs in all
    assert state['extra']['decay_epochs'] == 1 and state['epoch'] == 3
    results = tmp_path / 'results'
    assert run_test(['--dataroot', unpaired_root, '--checkpoints_dir', tmp_path, '--name', 'run', '--model', 'liss',
                     '--results_dir', results, '--num_test', '2', '--show_heads']) in (0, None)
    page = results / 'run' / 'test_latest'
    assert 'rotation_acc_A' in (page / 'metrics.json').read_text()
    images = os.listdir(page / 'images')
    for label in ('fake_B', 'depth_pred_A', 'colorized_B', 'gray_A'):
        assert any(f.endswith(f'_{label}.png') for f in images), label


def test_default_jigsaw_crop_fits_small_images_and_epoch_lines_count_the_extended_schedule(unpaired_root, tmp_path,
                                                                                            capsys):
    """No --jigsaw_crop at 32 px trains (the default scales the published 222/256 with --crop_size); with
    --n_epochs 1 --n_epochs_decay 0 LiSS trains 2 epochs (one translation epoch after --n_epochs, as published)
    and the epoch lines say so."""
    args = ['--dataroot', unpaired_root, '--checkpoints_dir', tmp_path, '--name', 'small', '--model', 'liss', *TINY,
            '--auxiliary_tasks', 'jigsaw', '--task_schedule', 'sequential', '--jigsaw_acc_threshold', '-1',
            '--n_epochs', '1', '--n_epochs_decay', '0', '--max_dataset_size', '2', '--print_freq', '100']
    assert run_train(args) in (0, None)
    out = capsys.readouterr().out
    assert 'end of epoch 1 / 2' in out and 'end of epoch 2 / 2' in out and ' / 1 ' not in out
    assert '(1 of 1 translation epochs after --n_epochs: --n_epochs_decay + 1, as published)' in out
