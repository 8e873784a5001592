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
from util.util import load_script

# 32 px, widths of 4-8: every step takes well under a second on 2 cores
TINY = ["--model", "omnigan", "--omni_enc_dim", "4", "--omni_enc_n_res", "1", "--omni_dec_n_res", "1",
        "--spade_nhidden", "8", "--omni_cls_dim", "8", "--ndf", "4", "--n_layers_D", "2", "--num_D", "2",
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
    return [p.grad for p in module.parameters()]


def has_grads(module):
    gs = grads(module)
    return bool(gs) and all(g is not None and torch.isfinite(g).all() for g in gs)


def no_grads(module):
    return all(g is None or not g.any() for g in grads(module))


def test_representation_phase_gradients(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "1"])
    assert model.phase == "repr"
    model._reset_losses()
    model.step_G()
    G = model.netG
    assert has_grads(G.encoder)
    for task in ("d", "h", "s", "w", "a"):
        assert has_grads(G.decoders[task]), task
    assert no_grads(G.decoders["t"])  # translation is not trained yet
    assert no_grads(model.netD) and no_grads(model.netC)  # frozen during the generator step
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_repr", "gan_a", "cycle_a", "auto_a", "task_d", "task_h", "task_s", "task_w",
                           "classifier"}
    assert all(math.isfinite(v) for v in losses.values())
    assert abs(losses["G"] - losses["G_repr"]) < 1e-4
    model.step_D()
    assert has_grads(model.netD["a"]) and no_grads(model.netD["t"])
    model.step_C()
    assert has_grads(model.netC)
    assert math.isfinite(model.get_current_losses()["C"])


def test_translation_phase_with_frozen_representation(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "0", "--repr_freeze"])
    assert model.phase == "translation"
    before = [p.detach().clone() for p in model.netG.encoder.parameters()]
    model.optimize_parameters()
    G = model.netG
    assert no_grads(G.encoder)  # frozen encoder gets no gradient
    for task in ("d", "h", "s", "w", "a"):
        assert no_grads(G.decoders[task]), task
    assert has_grads(G.decoders["t"])
    assert all(torch.equal(a, b) for a, b in zip(before, G.encoder.parameters()))
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_translation", "D", "D_t", "gan_t", "cycle_t", "auto_t"}
    assert all(math.isfinite(v) for v in losses.values())
    # the D update order of the design notes, translation heads only
    assert model.d_update_order == [
        ("t", "f", "real", "rf"), ("t", "n", "fake", "rf"), ("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
        ("t", "f", "real", "sf"), ("t", "n", "fake", "sf"), ("t", "n", "real", "sn"), ("t", "f", "fake", "sn")]
    assert has_grads(model.netD["t"]) and no_grads(model.netD["a"])


def test_translation_phase_with_trainable_encoder_full_d_order(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "0", "--encoder_lr_mult", "0.25", "--lr", "0.001"])
    assert model.phase == "translation"
    assert model.optimizer_E.param_groups[0]["lr"] == pytest.approx(0.00025)
    assert model.optimizer_T.param_groups[0]["lr"] == pytest.approx(0.001)
    model._reset_losses()
    model.step_G()
    assert has_grads(model.netG.encoder) and has_grads(model.netG.decoders["t"])
    model.step_D()
    assert model.d_update_order == [
        ("a", "r", "real", "rf"), ("a", "s", "fake", "rf"), ("t", "f", "real", "rf"), ("t", "n", "fake", "rf"),
        ("a", "r", "real", "rn"), ("a", "s", "fake", "rn"), ("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
        ("a", "s", "real", "sf"), ("a", "r", "fake", "sf"), ("t", "f", "real", "sf"), ("t", "n", "fake", "sf"),
        ("a", "s", "real", "sn"), ("a", "r", "fake", "sn"), ("t", "n", "real", "sn"), ("t", "f", "fake", "sn")]
    losses = model.get_current_losses()
    assert abs(losses["D"] - losses["D_a"] - losses["D_t"]) < 1e-4
    # comet log levels: nothing / aggregated / everything
    from visualizers import losses_for_level
    aggregated = model.aggregated_loss_names()
    assert losses_for_level(losses, 0, aggregated) == {}
    assert set(losses_for_level(losses, 1, aggregated)) == {"G", "G_repr", "G_translation", "D"}
    assert set(losses_for_level(losses, 2, aggregated)) == set(losses)


def test_wgangp_and_task_subset(omni_root, tmp_path):
    model = build(omni_root, tmp_path, ["--repr_epochs", "0", "--gan_mode", "wgangp", "--tasks", "d,t",
                                        "--classifier_loss", "l2", "--omni_domains", "rn,sf"])
    assert set(model.batch) == {"rn", "sf"}
    model.optimize_parameters()
    assert model.d_update_order == [("t", "n", "real", "rn"), ("t", "f", "fake", "rn"),
                                    ("t", "f", "real", "sf"), ("t", "n", "fake", "sf")]
    losses = model.get_current_losses()
    assert set(losses) == {"G", "G_repr", "G_translation", "D", "D_t", "gan_t", "cycle_t", "auto_t", "task_d",
                           "classifier", "C"}
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
                   "--n_epochs", "2", "--n_epochs_decay", "0", "--print_freq", "2", "--display_freq", "2",
                   "--save_epoch_freq", "1"]
    assert train_cli(args) == 0
    out = capsys.readouterr().out
    assert "omnigan parameters: G " in out and "translation phase starts" in out
    assert "G_repr" in out and "G_translation" in out
    state = torch.load(os.path.join(ck, "omni", "latest_train_state.pth"), weights_only=True)
    assert state["extra"] == {"phase": "translation", "epochs_done": 2, "encoder_lr_scaled": True}
    one = torch.load(os.path.join(ck, "omni", "1_train_state.pth"), weights_only=True)
    assert one["extra"]["phase"] == "translation"  # switched at the end of epoch 1

    # resume for one more epoch: the phase and the lowered encoder lr come back from the checkpoint
    Trainer = load_script("train").Trainer
    opt = TrainOptions(args[:-6] + ["--n_epochs", "3", "--n_epochs_decay", "0", "--continue_train",
                                    "--print_freq", "2", "--display_freq", "2"]).parse()
    trainer = Trainer(opt)
    assert trainer.epoch == 3 and trainer.model.phase == "translation" and trainer.model.encoder_lr_scaled
    model = trainer.model
    sched_E = next(s for s in model.schedulers if s.optimizer is model.optimizer_E)
    sched_T = next(s for s in model.schedulers if s.optimizer is model.optimizer_T)
    assert sched_E.base_lrs == [pytest.approx(0.1 * opt.lr)] and sched_T.base_lrs == [pytest.approx(opt.lr)]
    assert trainer.run()
    assert torch.load(os.path.join(ck, "omni", "latest_train_state.pth"), weights_only=True)["extra"]["epochs_done"] == 3

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
    Trainer = load_script("train").Trainer
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


def test_multi_process_training_is_refused_clearly(omni_root, tmp_path, monkeypatch):
    model = build(omni_root, tmp_path)
    from util import distributed
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    with pytest.raises(ValueError, match="--model omnigan trains in one process only"):
        model.wrap_networks()
