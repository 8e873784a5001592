"""LiSS behaviours that follow the published code (vict0rsch/LiSS): --netG liss split and heads, gray GAN + L1,
5-class discriminator rotation, schedule evaluations at step 1 and every --display_freq images on the test
split, lr decay counted in translation epochs, representational-traduction, comet logging."""
import pytest
import torch
import torch.nn.functional as F

from data import create_dataset, create_eval_dataset
from models import create_model, networks
from models.liss.tasks import ClassifierHead, JigsawHead, jigsaw_crop_size, jigsaw_permutations
from options.train_options import TrainOptions
from util.util import seed_everything

TINY = ['--ngf', '8', '--ndf', '8', '--load_size', '36', '--crop_size', '32', '--num_threads', '0', '--pool_size', '4',
        '--display_id', '0', '--no_html', '--seed', '3', '--jigsaw_crop', '0', '--batch_size', '2']


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(root, tmp_path, *extra):
    opt = TrainOptions(['--dataroot', root, '--checkpoints_dir', str(tmp_path), '--name', 'm', '--model', 'liss',
                        *TINY, *[str(e) for e in extra]]).parse()
    seed_everything(opt.seed)
    model = create_model(opt)
    model.setup(opt)
    model.set_eval_dataset(create_eval_dataset(opt, **model.eval_dataset_spec()))  # as train.py does
    dataset = create_dataset(opt)
    dataset.set_epoch(1)
    model.set_input(next(iter(dataset)))
    return opt, model


def passed(**values):
    return {f'{k}_{d}': v for k, v in values.items() for d in 'AB'}


def state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def blocks(module):
    return sum(isinstance(m, networks.ResnetBlock) for m in module.children())


def test_netG_liss_splits_resnet_6blocks_and_builds_published_heads(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--netG', 'liss')
    net = model.netG_A
    assert blocks(net.encoder) == 3 and blocks(net.decoder) == 3
    assert blocks(net.heads['depth']) == 3 and blocks(net.heads['gray']) == 3
    assert isinstance(net.heads['depth'][-1], torch.nn.Conv2d) and net.heads['depth'][-1].out_channels == 1  # no tanh
    assert isinstance(net.heads['gray'][-1], torch.nn.Tanh)
    # the translation is exactly a resnet_6blocks generator
    plain = networks.define_G(3, 3, 8, 'resnet_6blocks', 'instance')
    plain.load_state_dict(net.translation_state_dict())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(plain(x), net(x))
    assert net.heads['jigsaw'].permutations.shape == (64, 9) and net.heads['jigsaw'].classifier.out_features == 64
    z = net.heads['depth'](net.encoder(x))
    assert z.shape == (1, 1, 32, 32)


def test_classifier_heads_at_the_published_size():
    """256 px rotations and 222 px jigsaw crops: three stride-2 convolutions (+ max-pool) to 128 x 4 x 4 maps,
    then a linear layer, as published."""
    norm = networks.get_norm_layer('instance')
    rotation = ClassifierHead(256, 4, norm, 256)
    jigsaw = JigsawHead(256, norm, jigsaw_permutations('published', 3, 64, 0), 222)
    for head, classes in ((rotation, 4), (jigsaw, 64)):
        convs = [m for m in head.features if isinstance(m, torch.nn.Conv2d)]
        assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(256, 256, (2, 2)), (256, 256, (2, 2)),
                                                                              (256, 128, (2, 2))]
        assert sum(isinstance(m, torch.nn.MaxPool2d) for m in head.features) == 1
        assert (head.classifier.in_features, head.classifier.out_features) == (128 * 4 * 4, classes)
    assert rotation(torch.zeros(1, 256, 64, 64)).shape == (1, 4)  # encoder features of a 256 px image
    assert jigsaw(torch.zeros(1, 256, 56, 56)).shape == (1, 64)  # of a 222 px crop


def test_gray_loss_is_gan_and_l1_with_its_own_discriminators(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'gray', '--task_schedule', 'sequential',
                       '--lambda_G', '2')
    assert {'D_A_gray', 'D_B_gray'} <= set(model.model_names)
    d_gray = state(model.netD_A_gray)
    model._features, model._gray_colour = {}, {}
    with torch.no_grad():
        model.generator_loss()
        colour = model._gray_colour['A']
        gan = model.criterionGAN(model.netD_A_gray(colour), True, for_discriminator=False)
        expected = 2 * (0.9 * F.l1_loss(colour, model.real_A) + 0.1 * gan)
    assert float(model.loss_gray_A) == pytest.approx(float(expected), rel=1e-5)
    model.optimize_parameters()
    assert model.loss_D_A_gray is not None and not same(d_gray, model.netD_A_gray.state_dict())
    assert model.loss_D_A is None  # no translation discriminator update in an auxiliary-only phase
    # with --D_rotation the gray discriminators also learn the rotations of real images (published)
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'gray', '--task_schedule', 'sequential',
                       '--D_rotation')
    head = model.netD_B_gray.rotation_head[-1].weight.clone()
    model.optimize_parameters()
    assert model.netD_B_gray.rotation_head[-1].out_features == 5
    assert not torch.equal(head, model.netD_B_gray.rotation_head[-1].weight)
    # --lambda_gray_gan 0: L1 only, no gray discriminators
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'gray', '--lambda_gray_gan', '0',
                       '--task_schedule', 'sequential')
    assert 'D_A_gray' not in model.model_names
    model._features, model._gray_colour = {}, {}
    with torch.no_grad():
        model.generator_loss()
        assert float(model.loss_gray_A) == pytest.approx(float(F.l1_loss(model._gray_colour['A'], model.real_A)))


def test_d_rotation_has_five_classes_and_published_losses(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', '', '--D_rotation', '--lambda_DR', '0.5')
    assert model.netD_A.rotation_head[-1].out_features == 5
    model._features = {}
    with torch.no_grad():
        model.forward()
        model.generator_loss()
        netD = model.netD_A  # published pairing: D_A classifies rotations of domain A images
        rot = lambda x: torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])  # noqa: E731
        y = torch.arange(4).repeat_interleave(model.real_A.shape[0])
        ce_fake = F.cross_entropy(netD.rotation_logits(rot(model.fake_A)), y)
        ce_real = F.cross_entropy(netD.rotation_logits(rot(model.real_A)), y)
        assert float(model.loss_G_DR_A) == pytest.approx(0.5 * abs(float(ce_fake - ce_real)), rel=1e-5)
        total, _, _ = model.discriminator_loss(netD, model.real_B, model.fake_B)
        mixed = torch.cat([netD.rotation_logits(rot(model.real_A)), netD.rotation_logits(model.fake_A)])
        labels = torch.cat([y, torch.full((model.fake_A.shape[0],), 4)])
        expected = ce_real + F.cross_entropy(mixed, labels)  # weight 1 on the D side, as published
        assert float(model.loss_DR_A) == pytest.approx(float(expected), rel=1e-5)
    head = model.netD_A.rotation_head[-1].weight.clone()
    model.optimize_parameters()
    assert not torch.equal(head, model.netD_A.rotation_head[-1].weight)
    _, judged = build(unpaired_root, tmp_path, '--auxiliary_tasks', '', '--D_rotation', '--D_rotation_domain', 'judged')
    with torch.no_grad():
        judged.forward()
    assert judged.rotation_pairs()[0][2] is judged.real_B  # D_A then classifies the B images it judges


def test_schedule_runs_at_the_first_step_and_every_display_freq_images(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule', 'liss',
                       '--display_freq', '6')
    assert model.eval_dataset_spec() == {'phase': 'test', 'n': float('inf'), 'test_preprocess': False}
    assert len(model.validation_loader().dataset) == 3  # the whole test split
    calls = []
    model.validate = lambda visualizer=None, step=None: calls.append(step) or passed(rotation_acc=0.1)
    for total in range(2, 14, 2):  # batches of 2 images
        model.after_train_step(1, total, 2, None)
    assert calls == [2, 6, 12]
    calls.clear()
    for total in range(14, 20, 2):  # a resumed run does not evaluate at its first step
        model.after_train_step(1, total, 2, None)
    assert calls == [18]
    model.validate = lambda visualizer=None, step=None: passed(rotation_acc=0.3)  # > 0.2 in A and B
    assert 'phase 0 (rotation) -> phase 1 (translation)' in model.after_train_step(1, 24, 2, None)


def test_lr_decay_counts_only_epochs_with_translation_and_extends_training(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule', 'liss',
                       '--n_epochs', '1', '--n_epochs_decay', '2', '--lr', '0.001', '--lr_rotation', '0.01')
    lrs = lambda: [g['lr'] for g in model.optimizer_G.param_groups]  # noqa: E731
    assert model.final_epoch(1, 3) == 4  # at least n_epochs + n_epochs_decay + 1
    for epoch in (1, 2):  # epoch 2 is past n_epochs but still pre-training: no decay, training extended
        model.end_of_epoch(epoch, None)
        model.update_learning_rate()
        assert lrs() == [0.001, 0.01] and model.decay_epochs == 0
    assert model.final_epoch(3, 3) == 5
    model.update_task_schedule(passed(rotation_acc=0.9))
    expected = {3: 2 / 3, 4: 1 / 3}
    for epoch in (3, 4):
        model.end_of_epoch(epoch, None)
        model.update_learning_rate()
        assert lrs() == pytest.approx([0.001 * expected[epoch], 0.01 * expected[epoch]])
        assert model.final_epoch(epoch + 1, 3) == 5
    model.end_of_epoch(5, None)
    model.update_learning_rate()
    assert model.decay_epochs == 3 and model.final_epoch(6, 3) == 5  # done: the loop stops after epoch 5
    assert model.optimizer_D.param_groups[0]['lr'] == pytest.approx(0.0)
    # a schedule that never reaches translation would train forever (as published); --max_epochs caps it
    opt, capped = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule', 'liss',
                        '--n_epochs', '1', '--n_epochs_decay', '2', '--max_epochs', '3')
    for epoch in (1, 2, 3):
        capped.end_of_epoch(epoch, None)
        capped.update_learning_rate()
        assert capped.final_epoch(epoch + 1, 3) == 3 and capped.decay_epochs == 0


def test_representational_traduction_trains_encoders_through_frozen_decoders(unpaired_root, tmp_path):
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule',
                       'representational-traduction', '--repr_mode', 'distillation')
    enc, dec, d_a = state(model.netG_A.encoder), state(model.netG_A.decoder), state(model.netD_A)
    model.optimize_parameters()
    assert model.loss_G_A is not None and model.loss_rotation_A is not None and model.loss_D_A is None
    assert not same(enc, model.netG_A.encoder.state_dict())
    assert same(dec, model.netG_A.decoder.state_dict()) and same(d_a, model.netD_A.state_dict())
    assert model.update_task_schedule(passed(rotation_acc=0.9))  # gates on the auxiliary tasks only
    assert model.ref_encoders['A'] is not None  # flow + distillation
    enc, dec = state(model.netG_A.encoder), state(model.netG_A.decoder)
    model.optimize_parameters()
    model.optimize_parameters()
    assert model.loss_rotation_A is None and model.loss_D_A is not None and float(model.loss_distillation_A.detach()) > 0
    assert not same(enc, model.netG_A.encoder.state_dict()) and not same(dec, model.netG_A.decoder.state_dict())
    assert not same(d_a, model.netD_A.state_dict())


def test_continual_runs_as_flow_as_published(unpaired_root, tmp_path):
    """The published help text announces continual as flow + distillation, but its code tests only for freeze
    and distillation: continual trains the encoder in translation, with no reference encoder."""
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation', '--task_schedule', 'representational',
                       '--repr_mode', 'continual')
    assert model.update_task_schedule(passed(rotation_acc=0.9, identity_loss=0.1))
    enc = state(model.netG_A.encoder)
    model.optimize_parameters()
    assert model.ref_encoders['A'] is None and model.loss_distillation_A is None and model.loss_G_A is not None
    assert not same(enc, model.netG_A.encoder.state_dict())


@pytest.mark.parametrize('mode', ['published', 'current'])
def test_first_step_after_a_switch_rotates_the_previous_input(unpaired_root, tmp_path, mode):
    """The published task iterator stays past the task that switched, so the next set_input skips the inputs of
    that task and the earlier ones once: with --D_rotation the first step after a sequential/liss switch
    classifies the rotations of the last held-out batch (--switch_inputs current: the current batch). A save
    between the switch and that step keeps it (exact resume)."""
    args = ('--auxiliary_tasks', 'rotation', '--task_schedule', 'liss', '--D_rotation', '--switch_inputs', mode)
    opt, model = build(unpaired_root, tmp_path, *args)
    model.set_input(list(model.validation_loader())[-1])  # as validation leaves it: the last held-out batch
    held_out = model.real_A.clone()
    assert held_out.shape[0] == 1 and model.update_task_schedule(passed(rotation_acc=0.9))
    model.save_training_state('latest', 1, 1, 2)
    dataset = create_dataset(opt)
    dataset.set_epoch(1)
    batches = iter(dataset)
    first = next(batches)
    model.set_input(first)
    assert model.real_A.shape[0] == 2
    assert torch.equal(model.rotation_images('A'), held_out if mode == 'published' else model.real_A)
    model.optimize_parameters()  # rotations of 1 held-out image, 2 generated images
    assert float(model.loss_DR_A.detach()) > 0 and float(model.loss_G_DR_B.detach()) >= 0
    model.set_input(next(batches))
    assert torch.equal(model.rotation_images('A'), model.real_A)  # once only
    _, resumed = build(unpaired_root, tmp_path, *args)
    resumed.load_training_state('latest')
    resumed.set_input(first)
    assert torch.equal(resumed.rotation_images('A'), held_out if mode == 'published' else resumed.real_A)


class Recorder:
    """Stands in for a comet_ml experiment: records every call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def test_comet_gets_schedule_switches_confusion_matrices_and_group_lrs(unpaired_root, tmp_path):
    from visualizers.comet_backend import CometBackend
    from visualizers.visualizer import Visualizer
    opt, model = build(unpaired_root, tmp_path, '--auxiliary_tasks', 'rotation,jigsaw', '--task_schedule', 'liss',
                       '--rotation_acc_threshold', '-1', '--jigsaw_set', 'seeded', '--jigsaw_permutations', '6')
    experiment = Recorder()
    visualizer = Visualizer(opt)  # no backend asked for: add a comet backend around the recorder
    comet = CometBackend.__new__(CometBackend)
    comet.experiment, comet.log_level = experiment, 2
    visualizer.backends.append(comet)
    assert 'phase 0 (rotation) -> phase 1 (jigsaw)' in model.after_train_step(1, 2, 2, visualizer)
    calls = experiment.calls
    matrices = {k['title']: k['matrix'] for name, _, k in calls if name == 'log_confusion_matrix'}
    assert set(matrices) == {f'confusion_{d}_{t}_2' for d in 'AB' for t in ('rotation', 'jigsaw')}
    rotation_A = torch.tensor(matrices['confusion_A_rotation_2'])
    assert rotation_A.shape == (4, 4) and rotation_A.sum(1).tolist() == [3, 3, 3, 3]  # 3 test images x 4 rotations
    assert torch.tensor(matrices['confusion_B_jigsaw_2']).shape == (6, 6)
    params = [args for name, args, _ in calls if name == 'log_parameter']
    assert ('schedule_stop_rotation', 2) in params and ('schedule_start_jigsaw', 2) in params
    assert any(name == 'log_text' and 'phase 0 (rotation)' in args[0] for name, args, _ in calls)
    model.end_of_epoch(1, visualizer)
    lrs = [args[0] for name, args, _ in calls if name == 'log_metrics'][-1]
    assert set(lrs) == {'lr_translation', 'lr_rotation', 'lr_jigsaw'}


def test_bad_jigsaw_crop_is_one_clear_error(unpaired_root, tmp_path):
    with pytest.raises(ValueError, match='--jigsaw_crop 0'):
        build(unpaired_root, tmp_path, '--jigsaw_crop', '64')


def test_published_preset(unpaired_root, tmp_path):
    import os
    from conftest import ROOT
    config = os.path.join(ROOT, 'configs', 'liss_published.yaml')
    opt = TrainOptions(['--config', config, '--dataroot', unpaired_root, '--checkpoints_dir', str(tmp_path),
                        '--display_id', '0']).parse()
    expected = {'model': 'liss', 'netG': 'liss', 'task_schedule': 'liss', 'repr_mode': 'freeze', 'batch_size': 2,
                'load_size': 286, 'crop_size': 256, 'norm': 'instance', 'gan_mode': 'lsgan', 'n_epochs': 100,
                'n_epochs_decay': 100, 'optimizer': 'torch_optimizer.radam', 'display_freq': 400, 'no_flip': True,
                'auxiliary_tasks': 'rotation, gray, depth, jigsaw', 'task_order': 'sorted', 'lambda_gray_gan': 0.1,
                'distillation_loss': 'l1', 'jigsaw_set': 'published', 'jigsaw_crop': 222, 'depth_target': 'log',
                'val_phase': 'test', 'max_val_size': 0, 'schedule_freq': 0, 'lambda_distillation': 5.0}
    assert {k: getattr(opt, k) for k in expected} == expected
    # the published defaults are also this model's defaults: the preset only pins the run's own settings
    plain = TrainOptions(['--model', 'liss', '--dataroot', unpaired_root, '--checkpoints_dir', str(tmp_path),
                          '--display_id', '0']).parse()
    run_settings = {'model', 'batch_size', 'task_schedule', 'no_flip', 'load_size', 'crop_size', 'n_epochs',
                    'n_epochs_decay', 'norm', 'gan_mode', 'jigsaw_crop'}
    differ = {k for k in expected if getattr(plain, k) != expected[k]}
    assert differ <= run_settings, differ
    assert plain.jigsaw_crop == 0 and jigsaw_crop_size(opt) == jigsaw_crop_size(plain) == 222  # same crop at 256 px
