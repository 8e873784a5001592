"""tools/experiment.py: merging, sampling, template filling, reproducibility files and submission."""
import os
import re
import stat

import numpy as np
import pytest
import yaml

from tools import experiment as xp
from util.cli import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "configs", "omnigan_template.sh")
EXAMPLE = os.path.join(ROOT, "configs", "omnigan_experiment.yaml")


def fails(argv):
    """Run the script's main as its command line does: a user error exits with status 2."""
    with pytest.raises(SystemExit) as info:
        run_cli(xp.main, argv)
    return info.value.code == 2


def test_sampling_kinds():
    rng = np.random.RandomState(0)
    for _ in range(20):
        assert xp.sample_value({"sample": "list", "from": ["a", "b"]}, rng) in ("a", "b")
        v = xp.sample_value({"sample": "range", "from": [2, 10, 2]}, rng)
        assert v in (2, 4, 6, 8) and isinstance(v, int)
        f = xp.sample_value({"sample": "range", "from": "[0.1, 0.5, 0.1]"}, rng)
        assert isinstance(f, float) and 0.1 <= f < 0.5
        u = xp.sample_value({"sample": "uniform", "from": [1e-4, 1e-3]}, rng)
        assert 1e-4 <= u < 1e-3
    vec = xp.sample_value({"sample": "uniform", "from": [0, 1, 3]}, rng)
    assert isinstance(vec, list) and len(vec) == 3


@pytest.mark.parametrize("spec,message", [
    ({"sample": "gauss", "from": [0, 1]}, "unknown sample kind"),
    ({"sample": "list"}, "needs a 'from'"),
    ({"sample": "range", "from": [0, 1]}, r"\[min, max, step\]"),
    ({"sample": "range", "from": [5, 1, 1]}, "is empty"),
    ({"sample": "uniform", "from": [2, 1]}, r"\[low, high\]"),
    ({"sample": "list", "from": "not a list"}, "non-empty list"),
])
def test_sampling_errors(spec, message):
    with pytest.raises(xp.ExperimentError, match=message):
        xp.sample_value(spec, np.random.RandomState(0), "runs[0].trainer.lr")


def test_defaults_config_run_precedence_and_nested_sampling():
    xopts = {"experiment": {"sbatch": {"cpus": 2, "mem": "8G"}},
             "defaults": {"model": "m", "lr": 1, "batch_size": 1, "nested": {"a": 1, "b": 2}},
             "config": {"lr": 2, "nested": {"b": 3}},
             "runs": [{"trainer": {"lr": 3, "nested": {"a": {"sample": "list", "from": [7]}}}, "sbatch": {"cpus": 8}},
                      {}]}
    runs = xp.expand_runs(xopts, np.random.RandomState(0))
    assert runs[0]["trainer"] == {"model": "m", "lr": 3, "batch_size": 1, "nested": {"a": 7, "b": 3}}
    assert runs[0]["sampled"] == {"runs[0].trainer.nested.a": 7}
    assert runs[0]["sbatch"] == {"cpus": 8, "mem": "8G"}
    assert runs[1]["trainer"] == {"model": "m", "lr": 2, "batch_size": 1, "nested": {"a": 1, "b": 3}}


def test_fill_template():
    assert xp.fill_template("a {{x}} b {{ y }}", {"x": 1, "y": "z"}) == "a 1 b z"
    with pytest.raises(xp.ExperimentError, match=r"no value for \{\{gpus\}\}.*available: x"):
        xp.fill_template("{{x}} {{gpus}}", {"x": 1})


def test_dry_run_writes_reproducibility_files(tmp_path, capsys):
    out = str(tmp_path / "exps")
    assert xp.main(["--experiment", EXAMPLE, "--template", TEMPLATE, "--out_dir", out, "--seed", "3",
                    "--dry_run"]) == 0
    assert "nothing submitted" in capsys.readouterr().out
    exp_dir = os.path.join(out, "omnigan-lr-search")
    runs = sorted(os.listdir(exp_dir))
    assert runs == ["run_0", "run_1", "run_2"]  # first entry repeated twice
    for j, run in enumerate(runs):
        d = os.path.join(exp_dir, run)
        assert sorted(os.listdir(d)) == sorted(["hash.txt", f"exp_{j}.yaml", "run.yaml", "config.yaml", "exp.sh"])
        assert open(os.path.join(d, f"exp_{j}.yaml")).read() == open(EXAMPLE).read()  # the seed's copy
        assert open(os.path.join(d, "hash.txt")).read().strip()
        config = yaml.safe_load(open(os.path.join(d, "config.yaml")))
        assert config["model"] == "omnigan" and config["n_epochs"] == 20 and config["name"] == f"omnigan-lr-search_{j}"
        assert config["run_dir"] == d and config["comet_exp_desc"].startswith("encoder learning-rate")
        launch = open(os.path.join(d, "exp.sh")).read()
        assert "{{" not in launch and f"--config {os.path.join(d, 'config.yaml')}" in launch
        assert "#SBATCH --cpus-per-task=4" in launch
        assert os.stat(os.path.join(d, "exp.sh")).st_mode & stat.S_IXUSR
    run0 = yaml.safe_load(open(os.path.join(exp_dir, "run_0", "run.yaml")))
    assert run0["trainer"]["encoder_lr_mult"] in (0.01, 0.1) and 5.0 <= run0["trainer"]["lambda_cycle_t"] < 20.0
    assert set(run0["sampled"]) == {"runs[0].trainer.encoder_lr_mult", "runs[0].trainer.lambda_cycle_t"}
    assert run0["trainer"]["comet_tags"] == "lr-search" and run0["comet"]["note"] == "encoder kept trainable"
    assert run0["trainer"]["comet_note"] == "encoder kept trainable"
    run2 = yaml.safe_load(open(os.path.join(exp_dir, "run_2", "config.yaml")))
    assert run2["repr_freeze"] is True and run2["omni_enc_n_res"] in (1, 2, 3)
    assert "--gres=gpu:2" in open(os.path.join(exp_dir, "run_2", "exp.sh")).read()
    # same seed, same samples; an existing experiment folder is not overwritten
    assert fails(["--experiment", EXAMPLE, "--template", TEMPLATE, "--out_dir", out, "--dry_run"])
    assert "already exists" in capsys.readouterr().err


def test_config_is_accepted_by_train_options(tmp_path):
    out = str(tmp_path / "exps")
    assert xp.main(["--experiment", EXAMPLE, "--template", TEMPLATE, "--out_dir", out, "--dry_run"]) == 0
    from options.train_options import TrainOptions
    config = os.path.join(out, "omnigan-lr-search", "run_2", "config.yaml")
    opt = TrainOptions(["--config", config, "--checkpoints_dir", str(tmp_path / "ck")]).gather_options()
    assert opt.model == "omnigan" and opt.repr_freeze and opt.tasks == "a,d,h,s,t,w"


def test_submission_with_and_without_sbatch(tmp_path, monkeypatch, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"experiment": {"name": "e"}, "config": {"model": "pix2pix", "lr": 0.1},
                                   "runs": [{}, {}]}))
    template = tmp_path / "t.sh"
    template.write_text("echo {{name}} >> " + str(tmp_path / "ran.txt") + "\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no sbatch anywhere
    assert fails(["--experiment", str(exp), "--template", str(template), "--out_dir", str(tmp_path / "a")])
    assert "sbatch is not on PATH" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + "/usr/bin:/bin")
    assert xp.main(["--experiment", str(exp), "--template", str(template), "--out_dir", str(tmp_path / "b"),
                    "--local"]) == 0
    assert open(tmp_path / "ran.txt").read().split() == ["e_0", "e_1"]
    # a fake sbatch receives every launch file
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "sbatch"
    fake.write_text("#!/bin/sh\necho \"Submitted batch job 42 $1\"\n")
    fake.chmod(0o755)
    assert xp.main(["--experiment", str(exp), "--template", str(template), "--out_dir", str(tmp_path / "c")]) == 0
    record = open(tmp_path / "c" / "e" / "run_1" / "sbatch.txt").read()
    assert record.startswith("Submitted batch job 42") and record.strip().endswith("run_1/exp.sh")


def test_bad_experiment_files(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("runs: [{trainer: {}, oops: 1}]")
    assert fails(["--experiment", str(bad), "--template", TEMPLATE, "--out_dir", str(tmp_path), "--dry_run"])
    assert "runs[0] has unknown key(s) ['oops']" in capsys.readouterr().err
    bad.write_text("defaults: missing.yaml")
    assert fails(["--experiment", str(bad), "--template", TEMPLATE, "--out_dir", str(tmp_path), "--dry_run"])
    assert "defaults file not found" in capsys.readouterr().err
    assert fails(["--experiment", str(bad), "--template", str(tmp_path / "none.sh"), "--dry_run"])
    assert "template not found" in capsys.readouterr().err


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_experiment_repeat_defaults_and_config_under_experiment(tmp_path):
    defaults = _write(tmp_path / "defaults.yaml", {"model": "omnigan", "lr": 1, "batch_size": 2})
    exp = _write(tmp_path / "exp.yaml", {
        "experiment": {"name": "rep", "repeat": 2, "defaults": "defaults.yaml", "config": {"lr": 2},
                       "dev_mode": True, "no_comet": True},
        "runs": [{"trainer": {"lr": {"sample": "list", "from": [3, 4]}}, "comet": {"tags": ["x"]}}, {}]})
    template = _write(tmp_path / "t.sh", "{{name}}")
    out = tmp_path / "out"
    # dev_mode: files written, nothing submitted (no sbatch, no --local needed)
    assert xp.main(["--experiment", exp, "--template", template, "--out_dir", str(out), "--seed", "0"]) == 0
    runs = sorted(os.listdir(out / "rep"))
    assert runs == ["run_0", "run_1", "run_2", "run_3"]  # published order: r0, r0, r1, r1
    info = [yaml.safe_load(open(out / "rep" / r / "run.yaml")) for r in runs]
    assert [i["run_index"] for i in info] == [0, 0, 1, 1] and [i["repeat_index"] for i in info] == [0, 1, 0, 1]
    configs = [yaml.safe_load(open(out / "rep" / r / "config.yaml")) for r in runs]
    assert all(c["model"] == "omnigan" and c["batch_size"] == 2 and c["comet"] is False for c in configs)
    assert [c["lr"] in (3, 4) for c in configs[:2]] == [True, True] and configs[2]["lr"] == 2
    assert "comet_tags" not in configs[0]  # no_comet
    assert os.path.samefile(defaults, tmp_path / "defaults.yaml")


@pytest.mark.parametrize("data,message", [
    ({"experiment": {"config": {"model": "m"}}, "config": {"lr": 1}}, "both at the top level and under"),
    ({"experiment": {"oops": 1}, "config": {"model": "m"}}, r"unknown experiment key\(s\) \['oops'\]"),
    ({"experiment": {"repeat": 0}, "config": {"model": "m"}}, "experiment.repeat must be a positive integer"),
    ({"experiment": {"defaults": "nope.yaml"}}, "experiment.defaults file not found"),
    ({"config": {"lr": 1}}, "name no 'model'"),
])
def test_experiment_errors_leave_no_folder(tmp_path, capsys, data, message):
    exp = _write(tmp_path / "exp.yaml", data)
    template = _write(tmp_path / "t.sh", "{{name}}")
    assert fails(["--experiment", exp, "--template", template, "--out_dir", str(tmp_path / "out"), "--dry_run"])
    assert re.search(message, capsys.readouterr().err)
    assert not os.path.exists(tmp_path / "out")


def test_template_error_leaves_nothing_and_the_fixed_rerun_works(tmp_path, capsys):
    exp = _write(tmp_path / "exp.yaml", {"experiment": {"name": "t"}, "config": {"model": "omnigan"},
                                         "runs": [{}, {"sbatch": {"gpus": 1}}]})
    template = tmp_path / "t.sh"
    template.write_text("--gres=gpu:{{gpus}}")
    out = tmp_path / "out"
    assert fails(["--experiment", exp, "--template", str(template), "--out_dir", str(out), "--dry_run"])
    assert "no value for {{gpus}}" in capsys.readouterr().err
    assert not os.path.exists(out / "t")  # run_1 could be filled, run_0 could not: neither was written
    template.write_text("--gres=gpu:{{gpus}}")
    exp = _write(tmp_path / "exp.yaml", {"experiment": {"name": "t", "sbatch": {"gpus": 2}},
                                         "config": {"model": "omnigan"}, "runs": [{}, {"sbatch": {"gpus": 1}}]})
    assert xp.main(["--experiment", exp, "--template", str(template), "--out_dir", str(out), "--dry_run"]) == 0
    assert open(out / "t" / "run_0" / "exp.sh").read() == "--gres=gpu:2"
    assert open(out / "t" / "run_1" / "exp.sh").read() == "--gres=gpu:1"


class RecordingComet:
    """Stands in for comet_ml.Experiment (no server here): records the 'other' values and notes."""

    url = "https://www.comet.com/ws/omni/abc"
    alive = True

    def __init__(self, **kwargs):
        self.others, self.notes = {}, None

    def log_other(self, key, value):
        self.others[key] = value

    def set_notes(self, text):
        self.notes = text

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def test_comet_receives_exp_desc_and_note_and_writes_its_url_to_the_run_folder(tmp_path, monkeypatch):
    """What a runner's config.yaml (comet_exp_desc, comet_note, run_dir) does once train.py starts comet."""
    import comet_ml
    import visualizers.comet_backend as comet_backend
    from options.train_options import TrainOptions
    from visualizers import Visualizer
    monkeypatch.setenv("COMET_API_KEY", "abcdefghij0123456789ABCDE")
    monkeypatch.setattr(comet_backend, "comet_server_unreachable", lambda timeout=2.0: None)
    monkeypatch.setattr(comet_ml, "Experiment", RecordingComet)
    run_dir = tmp_path / "exps" / "e" / "run_0"
    opt = TrainOptions(["--dataroot", str(tmp_path), "--model", "pix2pix", "--checkpoints_dir", str(tmp_path / "ck"),
                        "--name", "e_0", "--comet", "--no_html", "--display_id", "0", "--comet_exp_desc", "lr search",
                        "--comet_note", "encoder kept trainable", "--run_dir", str(run_dir)]).parse()
    vis = Visualizer(opt)
    (backend,) = vis.backends
    assert backend.experiment.others["exp_desc"] == "lr search" and backend.experiment.others["note"] == \
        "encoder kept trainable" and backend.experiment.notes == "encoder kept trainable"
    assert (run_dir / "comet_url.txt").read_text().strip() == RecordingComet.url
    assert (tmp_path / "ck" / "e_0" / "comet_url.txt").read_text().strip() == RecordingComet.url
    vis.close()
