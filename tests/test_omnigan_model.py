"""OmniganModel: gradients per phase, the D update order on a four-domain batch, training both phases through
train.py, exact resume of the phase, and test.py writing every head to the results page."""
import math
import os

import pytest
import torch

from data import create_dataset
from datasets.synthetic_omni import make_omni_dataset
from models import create_model
from options.train_options import TrainOptions

# 32 px, widths of 4-8: every step takes well under a second on 2 cores
TINY = ["--model", "omnigan", "--omni_enc_dim", "4", "--omni_enc_n_res", "1", "--omni_dec_n_res", "1",
        "--spade_nhidden", "8", "--omni_cls_dim", "8", "--ndf", "4", "--n_layers_D", "2",
        "--load_size", "32", "--crop_size", "32", "--batch_size", "2", "--num_threads", "0", "--gpu_ids", "-1",
        "--seed", "0", "--display_id", "0"]



@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """These tensors are tiny: one intra-op thread avoids OpenMP oversubscription on busy 2-core machines."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

@pytest.fixture(scope="module")
def omni_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("omni_model"))
    make_omni_dataset(root, n_train=2, n_val=1, size=32, seed=0)
    return root


def build(omni_root, tmp_path, extra=()):
    opt = TrainOptions(TINY + ["--dataroot", omni_root, "--checkpoints_dir", str(tmp_path / "ck"), "--name", "m"]
                       + list(extra)).parse()
    dataset = create_dataset(opt)
    dataset.set_epoch(1)
    model = create_model(opt)
    model.setup(opt)
    model.set_input(next(iter(dataset)))
    return model


def grads(module):
    # the spectral-norm vectors u, v are parameters without gradient (as published): not counted
    return [p.grad for n, p in module.named_parameters() if not n.endswith(("weight_u", "weight_v"))]


def has_grads(module):
    gs = grads(module)
    return bool(gs) and all(g is not None and torch.isfinite(g).all() for g in gs)


def no_grads(module):
    return all(g is None or not g.any() for g in grads(module))


def d_calls(model):
    """Count forward calls of every discriminator (head, target) while the returned dict is alive."""
    counts, handles = {}, []
    for head, nets in model.netD.items():
        for target, net in nets.items():
            counts[(head, target)] = 0

            def hook(*_, key=(head, target)):
                counts[key] += 1
            handles.append(net.register_forward_hook(hook))
    return counts, handles


def test_published_defaults():
    opt = TrainOptions(["--model", "omnigan", "--dataroot", "x", "--checkpoints_dir", "/tmp/unused"]).gather_options()
    assert (opt.load_size, opt.crop_size, opt.omni_final_size, opt.omni_depth) == (256, 224, -1, "inverse")
    assert (opt.optimizer, opt.lr, opt.beta1_G, opt.beta1, opt.lr_policy, opt.lr_decay_iters, opt.lr_gamma) == \
        ("extraadam", 0.0005, 0.9, 0.5, "step", 30, 0.5)
    assert all(getattr(opt, f"lambda_{k}") == 1.0 for k in ("gan_a", "gan_t", "cycle_a", "cycle_t", "auto_a", "auto_t",
                                                           "sm", "dm", "d", "h", "s", "w", "classifier", "C"))
    assert {opt.cycle_loss, opt.auto_loss, opt.depth_loss, opt.height_loss} == {"l2"}
    assert (opt.repr_steps, opt.repr_epochs, opt.repr_freeze, opt.encoder_lr_mult) == (10000, -1, False, 1.0)
    assert (opt.d_soft_shift, opt.d_flip_prob, opt.omni_netD, opt.omni_dec_n_res) == (0.2, 0.05, "patch", 4)
    assert opt.spade_spectral and opt.spade_kernel_size == 3 and opt.omni_task_activation == "tanh"
    assert (opt.omni_enc_norm, opt.omni_activation, opt.omni_condition, opt.omni_translation, opt.omni_classifier,
            opt.extraadam_idle) == ("spectral", "lrelu", "raw", "shared", "published", "momentum")
    assert (opt.init_type, opt.init_gain) == ("kaiming", 0.2)


def test_optimizers_and_schedulers_follow_the_published_setup(omni_root, tmp_path):
    from models.omnigan.optim import ExtraAdam
    model = build(omni_root, tmp_path, ["--lr", "0.0005"])
    assert all(isinstance(o, ExtraAdam) for o in model.optimizers)
    for o in (model.optimizer_E, model.optimizer_G, model.optimizer_T):
        assert o.param_groups[0]["betas"] == (0.9, 0.999)
    for o in (model.optimizer_D, model.optimizer_C):
        assert o.param_groups[0]["betas"] == (0.5, 0.999)
    sched = model.schedulers[0]
    assert isinstance(sched, torch.optim.lr_scheduler.StepLR) and (sched.step_size, sched.gamma) == (30, 0.5)
    adam = build(omni_root, tmp_path, ["--optimizer", "adam", "--lr_policy", "linear"])
    assert isinstance(adam.optimizer_E, torch.optim.Adam) and adam.optimizer_E.param_groups[0]["betas"][0] == 0.9


def test_representation_phase_gradients(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_steps", "5"])
    assert model.phase == "repr"
    model._reset_losses()
    counts, handles = d_calls(model)
    model.step_G()
    G = model.netG
    assert has_grads(G.encoder)
    for task in ("d", "h", "s", "w", "a", "t"):  # t: auto-encoding already in the representation phase
        assert has_grads(G.decoders[task]), task
    assert no_grads(model.netD) and no_grads(model.netC)  # frozen during the generator step
    # the adaptation GAN loss sees the fake (D of the other style) and the cycle reconstruction (D of its own)
    assert counts == {("a", "r"): 4, ("a", "s"): 4, ("t", "f"): 0, ("t", "n"): 0}
    for h in handles:
        h.remove()
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_repr", "gan_a", "cycle_a", "auto_a", "auto_t", "task_d", "task_h", "task_s",
                           "task_w", "classifier"}
    assert all(math.isfinite(v) for v in losses.values())
    assert abs(losses["G"] - losses["G_repr"]) < 1e-4
    model.step_D()
    assert has_grads(model.netD["a"]) and has_grads(model.netD["t"])  # every head, every iteration
    model.step_C()
    assert has_grads(model.netC)
    assert math.isfinite(model.get_current_losses()["C"])


def test_phase_switch_after_repr_steps(omni_root, tmp_path, capsys):
    model = build(omni_root, tmp_path, ["--repr_steps", "2"])
    model.optimize_parameters()
    assert model.phase == "repr" and model.total_steps == 1
    model.optimize_parameters()
    assert model.phase == "translation" and "translation phase starts after 2 iterations" in capsys.readouterr().out
    model.optimize_parameters()
    losses = model.get_current_losses()
    # the representation losses stop once translation runs
    assert set(losses) == {"G", "G_translation", "gan_t", "cycle_t", "sm", "dm", "D", "D_a", "D_t", "C"}
    assert model.state_dict_extra()["total_steps"] == 3


def test_translation_phase_with_frozen_encoder(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_steps", "0", "--repr_freeze"])
    assert model.phase == "translation"
    weights = lambda: [p.detach().clone() for n, p in model.netG.encoder.named_parameters()  # noqa: E731
                       if not n.endswith(("weight_u", "weight_v"))]  # the power iteration moves u, v
    before = weights()
    counts, handles = d_calls(model)
    model.step_G()
    for h in handles:
        h.remove()
    # GAN on the translation (D of the other flood state) and on its cycle reconstruction (D of its own)
    assert counts == {("a", "r"): 0, ("a", "s"): 0, ("t", "f"): 4, ("t", "n"): 4}
    model.step_D()
    model.step_C()
    G = model.netG
    assert no_grads(G.encoder)  # frozen encoder gets no gradient
    for task in ("d", "h", "s", "w"):  # published: freeze_representation freezes the encoder only; the task
        assert has_grads(G.decoders[task]), task  # decoders learn through the SPADE condition
    assert no_grads(G.decoders["a"]) and has_grads(G.decoders["t"])
    assert all(torch.equal(a, b) for a, b in zip(before, weights()))
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_translation", "gan_t", "cycle_t", "sm", "dm", "D", "D_a", "D_t", "C"}
    assert all(math.isfinite(v) for v in losses.values())
    assert model.d_update_order == [
        ("a", "r", "real", "rf"), ("a", "s", "fake", "rf"), ("t", "f", "real", "rf"), ("t", "n", "fake", "rf"),
        ("a", "r", "real", "rn"), ("a", "s", "fake", "rn"), ("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
        ("a", "s", "real", "sf"), ("a", "r", "fake", "sf"), ("t", "f", "real", "sf"), ("t", "n", "fake", "sf"),
        ("a", "s", "real", "sn"), ("a", "r", "fake", "sn"), ("t", "n", "real", "sn"), ("t", "f", "fake", "sn")]
    assert has_grads(model.netD["t"]) and has_grads(model.netD["a"])
    # --omni_detach_condition: the task decoders no longer learn from the translation losses
    detached = build(omni_root, tmp_path, ["--repr_steps", "0", "--omni_detach_condition"])
    detached._reset_losses()
    detached.step_G()
    assert all(no_grads(detached.netG.decoders[t]) for t in ("d", "h", "s", "w"))


def test_matching_losses_carry_gradient_only_on_request(omni_root, tmp_path):
    published = build(omni_root, tmp_path, ["--repr_steps", "0", "--tasks", "s,t", "--lambda_gan_t", "0",
                                            "--lambda_cycle_t", "0", "--matching_mask", "none"])
    published._reset_losses()
    published.step_G()
    assert published.get_current_losses()["sm"] > 0 and no_grads(published.netG.decoders["t"])
    grad = build(omni_root, tmp_path, ["--repr_steps", "0", "--tasks", "s,t", "--lambda_gan_t", "0",
                                       "--lambda_cycle_t", "0", "--matching_grad", "fake"])
    grad._reset_losses()
    grad.step_G()
    assert has_grads(grad.netG.decoders["t"])


def test_translation_phase_with_trainable_encoder(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "0", "--encoder_lr_mult", "0.25", "--lr", "0.001"])
    assert model.phase == "translation"
    assert model.optimizer_E.param_groups[0]["lr"] == pytest.approx(0.00025)
    assert model.optimizer_T.param_groups[0]["lr"] == pytest.approx(0.001)
    model._reset_losses()
    model.step_G()
    assert has_grads(model.netG.encoder) and has_grads(model.netG.decoders["t"])
    model.step_D()
    losses = model.get_current_losses()
    assert abs(losses["D"] - losses["D_a"] - losses["D_t"]) < 1e-4
    # comet log levels: nothing / aggregated / everything
    from visualizers import losses_for_level
    aggregated = model.aggregated_loss_names()
    assert losses_for_level(losses, 0, aggregated) == {}
    assert set(losses_for_level(losses, 1, aggregated)) == {"G", "G_translation", "D"}
    assert set(losses_for_level(losses, 2, aggregated)) == set(losses)


def test_wgangp_and_task_subset(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_steps", "0", "--gan_mode", "wgangp", "--tasks", "d,t",
                                        "--classifier_loss", "l2", "--omni_domains", "rn,sf"])
    assert set(model.batch) == {"rn", "sf"}
    model.optimize_parameters()
    assert model.d_update_order == [("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
                                    ("t", "f", "real", "sf"), ("t", "n", "fake", "sf")]
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_translation", "D", "D_t", "gan_t", "cycle_t", "dm", "C"}
    assert all(math.isfinite(v) for v in losses.values())
    assert set(model.netG.decoders) == {"d", "t"} and set(model.netD) == {"t"}


def test_visuals_cover_every_head(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "1"])
    model.test()
    visuals = model.get_current_visuals()
    heads = ["x", "d", "h", "s", "w", "a_r", "a_s", "t_f", "t_n"]
    assert list(visuals) == [f"{dom}_{h}" for dom in ("rf", "rn", "sf", "sn") for h in heads]
    for name, image in visuals.items():
        assert image.shape == (2, 3 if name.split("_", 1)[1] in ("x", "s", "a_r", "a_s", "t_f", "t_n") else 1, 32, 32)
        assert image.min() >= -1 and image.max() <= 1, name
    paths = model.get_image_paths()
    assert len(paths) == 2 and all(os.sep + os.path.join("rf", "Data", "train_") in p for p in paths)


def test_train_both_phases_resume_and_test(omni_root, tmp_path, train_cli, test_cli, capsys):
    ck = str(tmp_path / "ck")
    args = TINY + ["--dataroot", omni_root, "--checkpoints_dir", ck, "--name", "omni", "--repr_epochs", "1",
                   "--encoder_lr_mult", "0.1", "--n_epochs", "2", "--n_epochs_decay", "0", "--print_freq", "2",
                   "--display_freq", "2", "--save_epoch_freq", "1"]
    assert train_cli(args) == 0
    out = capsys.readouterr().out
    assert "omnigan parameters: G " in out and "translation phase starts" in out
    assert "G_repr" in out and "G_translation" in out
    assert "(epoch: 1, val) " in out and "val_task_d" in out  # validation on the val lists after every epoch
    state = torch.load(os.path.join(ck, "omni", "latest_train_state.pth"), weights_only=True)
    assert state["extra"] == {"phase": "translation", "epochs_done": 2, "total_steps": 2, "encoder_lr_scaled": True,
                              "encoder_lr_factor": 0.1}
    one = torch.load(os.path.join(ck, "omni", "1_train_state.pth"), weights_only=True)
    assert one["extra"]["phase"] == "translation"  # switched at the end of epoch 1

    # resume for one more epoch: the phase and the lowered encoder lr come back from the checkpoint
    from training.trainer import Trainer
    opt = TrainOptions(args[:-6] + ["--n_epochs", "3", "--n_epochs_decay", "0", "--continue_train",
                                    "--print_freq", "2", "--display_freq", "2"]).parse()
    trainer = Trainer(opt)
    assert trainer.epoch == 3 and trainer.model.phase == "translation" and trainer.model.encoder_lr_scaled
    model = trainer.model
    sched_E = next(s for s in model.schedulers if s.optimizer is model.optimizer_E)
    sched_T = next(s for s in model.schedulers if s.optimizer is model.optimizer_T)
    assert sched_E.base_lrs == [pytest.approx(0.1 * opt.lr)] and sched_T.base_lrs == [pytest.approx(opt.lr)]
    assert all(s.gamma == opt.lr_gamma == 0.5 for s in (sched_E, sched_T))  # the published StepLR, also on resume
    assert trainer.run()
    assert torch.load(os.path.join(ck, "omni", "latest_train_state.pth"), weights_only=True)["extra"]["epochs_done"] == 3
    # resumed with another --encoder_lr_mult, the encoder's rate follows it, like every rate option (issue 21)
    opt = TrainOptions(args[:-6] + ["--n_epochs", "4", "--n_epochs_decay", "0", "--continue_train",
                                    "--encoder_lr_mult", "0.5"]).parse()
    model = Trainer(opt).model
    sched_E = next(s for s in model.schedulers if s.optimizer is model.optimizer_E)
    assert sched_E.base_lrs == [pytest.approx(0.5 * opt.lr)] and model.encoder_lr_factor == 0.5

    # test.py: every head of every domain on the results page
    results = str(tmp_path / "results")
    assert test_cli(["--dataroot", omni_root, "--checkpoints_dir", ck, "--name", "omni", "--results_dir", results,
                     "--num_test", "1", "--gpu_ids", "-1"]) == 0
    page_dir = os.path.join(results, "omni", "test_latest")
    html = open(os.path.join(page_dir, "index.html")).read()
    for dom in ("rf", "rn", "sf", "sn"):
        for head in ("x", "d", "h", "s", "w", "a_r", "a_s", "t_f", "t_n"):
            name = f"val_000_{dom}_{head}.png"
            assert name in html and os.path.isfile(os.path.join(page_dir, "images", name)), name


def test_resume_keeps_frozen_representation(omni_root, tmp_path, train_cli):
    ck = str(tmp_path / "ck")
    args = TINY + ["--dataroot", omni_root, "--checkpoints_dir", ck, "--name", "frz", "--repr_epochs", "1",
                   "--repr_freeze", "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "0",
                   "--display_freq", "0", "--max_dataset_size", "1", "--batch_size", "1"]
    assert train_cli(args) == 0
    from training.trainer import Trainer
    opt = TrainOptions(args[:-10] + ["--n_epochs", "2", "--n_epochs_decay", "0", "--print_freq", "0",
                                     "--display_freq", "0", "--max_dataset_size", "1", "--batch_size", "1",
                                     "--continue_train"]).parse()
    trainer = Trainer(opt)
    model = trainer.model
    assert model.phase == "translation"
    assert not any(p.requires_grad for p in model.netG.encoder.parameters())
    assert all(p.requires_grad for p in model.netG.decoders["t"].parameters())
    assert trainer.run()


def test_deeplab_encoder_model_step_and_missing_weights(omni_root, tmp_path):
    deeplab = ["--omni_encoder", "deeplabv2", "--deeplab_layers", "1,1,1,1", "--deeplab_proj_dim", "8",
               "--repr_epochs", "1"]
    model = build(omni_root, tmp_path, deeplab)
    model.optimize_parameters()
    backbone = model.netG.encoder.backbone
    assert has_grads(backbone.conv1) and backbone.bn1.weight.grad is None  # frozen BatchNorm
    assert all(math.isfinite(v) for v in model.get_current_losses().values())
    with pytest.raises(FileNotFoundError, match="DeepLab-v2 weights file not found"):
        build(omni_root, tmp_path, deeplab + ["--deeplab_weights", str(tmp_path / "nope.pth")])


def test_published_preset(omni_root, tmp_path):
    preset = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                          "omnigan_published.yaml")
    opt = TrainOptions(["--config", preset, "--dataroot", omni_root, "--checkpoints_dir", str(tmp_path / "ck"),
                        "--name", "pub"]).gather_options()
    assert (opt.omni_enc_dim, opt.omni_n_downsample, opt.omni_enc_n_res, opt.omni_dec_n_res) == (32, 3, 4, 4)
    assert (opt.load_size, opt.crop_size, opt.omni_final_size, opt.batch_size) == (256, 224, 256, 2)
    assert (opt.optimizer, opt.lr, opt.beta1_G, opt.beta1, opt.lr_decay_iters, opt.lr_gamma) == \
        ("extraadam", 0.0005, 0.9, 0.5, 30, 0.5)
    assert (opt.repr_steps, opt.omni_netD, opt.init_type, opt.init_gain, opt.log_level) == \
        (10000, "patch", "kaiming", 0.2, 1)
    # the preset trains (tiny widths and images on top of it)
    model = build(omni_root, tmp_path, ["--config", preset, "--omni_enc_dim", "4", "--omni_enc_n_res", "1",
                                        "--omni_dec_n_res", "1", "--ndf", "4", "--n_layers_D", "2",
                                        "--load_size", "32", "--crop_size", "32", "--omni_final_size", "32",
                                        "--batch_size", "2", "--num_threads", "0", "--repr_steps", "1"])
    model.optimize_parameters()
    model.optimize_parameters()
    assert model.phase == "translation"
    assert all(math.isfinite(v) for v in model.get_current_losses().values())



class RecordingVisualizer:
    def __init__(self):
        self.metrics, self.images = [], []

    def print_current_metrics(self, epoch, metrics, split="val"):
        self.metrics.append((epoch, split, dict(metrics)))

    def display_current_results(self, visuals, epoch, save_result, total_iters=0):
        self.images.append((epoch, list(visuals)))


def test_validation_on_the_val_lists_every_epoch(omni_root, tmp_path):
    import data
    model = build(omni_root, tmp_path, ["--repr_steps", "1", "--omni_val_num", "1"])
    spec = model.eval_dataset_spec()
    assert spec == {"phase": "val", "n": 1, "test_preprocess": False}
    model.set_eval_dataset(data.create_eval_dataset(model.opt, **spec))
    vis = RecordingVisualizer()
    model.end_of_epoch(1, vis)
    ((epoch, split, metrics),) = vis.metrics
    assert (epoch, split) == (1, "val")
    assert {"val_task_d", "val_task_h", "val_task_s", "val_task_w", "val_G", "val_G_repr", "val_auto_t"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert vis.images[0][0] == 1 and "val_rf_t_f" in vis.images[0][1]
    model.optimize_parameters()  # translation phase: task losses are still reported on val
    model.end_of_epoch(2, vis)
    assert {"val_task_d", "val_G_translation", "val_gan_t"} <= set(vis.metrics[-1][2])
    assert "val_G_repr" not in vis.metrics[-1][2]
    # no val lists: validation is off with a message, not an error
    lists = tmp_path / "lists"
    lists.mkdir()
    model.opt.omni_lists_dir = str(lists)
    assert model.eval_dataset_spec() is None
    model.opt.omni_val_freq = 0
    assert model.eval_dataset_spec() is None


def test_published_initialisation_and_the_earlier_networks_one_flag_away(omni_root, tmp_path):
    from models.omnigan.blocks import SpectralNorm
    model = build(omni_root, tmp_path, ["--init_type", "normal", "--init_gain", "0.0001"])
    G = model.netG
    # published get_gen initialises the decoders only: the encoder keeps torch's default initialisation
    assert G.encoder.model[0].conv.module.weight_bar.std() > 0.01
    assert G.decoders["d"].model[0].model[0].model[0].conv.weight.std() < 0.001
    assert isinstance(G.encoder.model[0].conv, SpectralNorm)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.netC.modules())  # published C
    assert model.optimizer_E.idle == "momentum"
    earlier = build(omni_root, tmp_path, ["--omni_classifier", "conv", "--omni_translation", "separate",
                                          "--omni_condition", "probs", "--omni_enc_norm", "in",
                                          "--omni_activation", "relu", "--extraadam_idle", "anchor",
                                          "--repr_steps", "1"])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in earlier.netC.modules())
    assert set(dict(earlier.netG.decoders["t"].named_children())) == {"f", "n"}
    assert earlier.netG.condition_tasks == ("h", "d", "s", "w") and earlier.optimizer_T.idle == "anchor"
    for _ in range(2):
        earlier.optimize_parameters()
    assert earlier.phase == "translation" and all(math.isfinite(v) for v in earlier.get_current_losses().values())
