"""Launch a set of training runs described by one experiment YAML file.

    python -m tools.experiment --experiment exp.yaml --template configs/omnigan_template.sh [--dry_run]

The experiment file::

    experiment:                 # about the whole experiment
      name: omni-depth          # runs are written to <out_dir>/<name>/run_<i>/
      exp_desc: what is tested  # logged to comet (--comet_exp_desc) and filled in {{exp_desc}}
      out_dir: experiments      # optional (also --out_dir; base_dir is accepted as the published spelling)
      sbatch: {cpus: 4, gpus: 1, mem: 16G, time: "12:00:00"}   # template parameters shared by the runs
      repeat: 2                 # every entry of runs is run twice (r0, r0, r1, r1), sampled anew each time
      dev_mode: false           # true: write the files, submit nothing (as --dry_run)
      no_comet: false           # true: the runs log nothing to comet
    defaults: base.yaml         # trainer options shared by all experiments (a mapping or a YAML file path)
    config: {model: omnigan}    # this experiment's options, overriding defaults (a mapping or a path)
    runs:                       # one entry per run, overriding config
      - trainer: {lr: {sample: uniform, from: [0.00001, 0.001]}}
        comet: {note: "a note", tags: [lr-search]}   # note: --comet_note of the run
        sbatch: {gpus: 2}       # per-run template parameters
        repeat: 3               # sample this run 3 times (multiplies experiment.repeat)

`defaults` and `config` may also sit under `experiment` (where the published runner reads them), not in
both places. Every run's trainer options must name a `model`. A key the runner does not know is an error.

Any option value may be replaced by {sample: list|range|uniform, from: ...}: list picks one of the values,
range one of range(min, max, step), uniform a float in [low, high) (a list of `size` floats when a third
element is given). `from` may also be a string holding that list.

Each run trains under --name <experiment name>_<i> unless its own `trainer` section sets a name.
For each run the launch file exp.sh is written from the template by filling {{param}} (parameters: name,
run_dir, config, output, train_args, train_cmd, repo, git_hash, exp_desc, comet_note, comet_tags and every
key of the sbatch sections), next to the reproducibility files hash.txt, exp_<i>.yaml (a copy of the experiment
file, i = the run's index), run.yaml (the resolved run: sampled values, seed, sbatch), config.yaml (the trainer
options, usable as train.py --config; its run_dir makes train.py write comet_url.txt into the run folder).
Templates are filled for every run before any folder is created, so a template error leaves nothing behind.
--dry_run stops there; otherwise each exp.sh is submitted with sbatch when it is on PATH, or run with bash in
sequence with --local.
"""
import argparse
import copy
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import yaml

from util.cli import run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAM_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SAMPLE_KINDS = ("list", "range", "uniform")


class ExperimentError(ValueError):
    """A malformed experiment or template; the message says where."""


# ---------------------------------------------------------------------------- config merging and sampling
def deep_merge(base, override):
    """Copy of `base` with `override` merged in; nested mappings merge, anything else replaces.

    A sampling spec replaces a value whole (it is a leaf, not a mapping to merge into).
    """
    out = copy.deepcopy(base) if base else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not is_sample_spec(value) \
                and not is_sample_spec(out[key]):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def is_sample_spec(value):
    return isinstance(value, dict) and "sample" in value


def sample_value(spec, rng, where="value"):
    """Draw one value from a {sample, from} spec with numpy RandomState `rng`."""
    kind = spec.get("sample")
    if kind not in SAMPLE_KINDS:
        raise ExperimentError(f"{where}: unknown sample kind {kind!r}; use one of {', '.join(SAMPLE_KINDS)}")
    if "from" not in spec:
        raise ExperimentError(f"{where}: a '{kind}' sample needs a 'from' entry")
    values = spec["from"]
    if isinstance(values, str):
        try:
            values = yaml.safe_load(values)
        except yaml.YAMLError as exc:
            raise ExperimentError(f"{where}: cannot parse from: {spec['from']!r} ({exc})") from exc
    if not isinstance(values, list) or not values:
        raise ExperimentError(f"{where}: 'from' must be a non-empty list, got {values!r}")
    if kind == "list":
        return copy.deepcopy(values[rng.randint(len(values))])
    if kind == "range":
        if len(values) != 3 or not all(isinstance(v, (int, float)) for v in values) or values[2] <= 0:
            raise ExperimentError(f"{where}: a 'range' sample needs from: [min, max, step] with step > 0, got {values}")
        choices = np.arange(values[0], values[1], values[2])
        if not len(choices):
            raise ExperimentError(f"{where}: range {values} is empty (min must be below max)")
        picked = choices[rng.randint(len(choices))]
        return int(picked) if all(isinstance(v, int) for v in values) else float(picked)
    if len(values) not in (2, 3) or not all(isinstance(v, (int, float)) for v in values) or values[0] > values[1]:
        raise ExperimentError(f"{where}: a 'uniform' sample needs from: [low, high] or [low, high, size], got {values}")
    if len(values) == 3 and int(values[2]) > 1:
        return [float(v) for v in rng.uniform(values[0], values[1], int(values[2]))]
    return float(rng.uniform(values[0], values[1]))


def resolve_samples(tree, rng, where="trainer"):
    """Replace every sampling spec in a nested mapping; returns (resolved tree, {dotted key: value})."""
    sampled = {}

    def walk(node, path):
        if is_sample_spec(node):
            value = sample_value(node, rng, path)
            sampled[path] = value
            return value
        if isinstance(node, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in node.items()}
        return node

    return walk(tree, where), sampled


# ---------------------------------------------------------------------------- experiment file
def _load_yaml(path, what):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    with open(path) as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise ExperimentError(f"{what} {path} is not valid YAML: {exc}") from exc
    return {} if data is None else data


EXPERIMENT_KEYS = ("name", "exp_desc", "out_dir", "base_dir", "sbatch", "defaults", "config", "repeat", "dev_mode",
                   "no_comet")


def _options_source(value, where, experiment_path):
    """A mapping, or a YAML file path (relative to the experiment file) holding one."""
    if isinstance(value, str):
        path = value if os.path.isabs(value) else os.path.join(os.path.dirname(os.path.abspath(experiment_path)),
                                                                value)
        value = _load_yaml(path, f"{where} file")
    if not isinstance(value, dict):
        raise ExperimentError(f"{experiment_path}: '{where}' must be a mapping of trainer options or a YAML file path")
    return value


def _positive_int(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ExperimentError(f"{where} must be a positive integer, got {value!r}")
    return value


def load_experiment(path):
    """Read and check the experiment file; `defaults` / `config` given as paths are loaded (relative to the file)."""
    xopts = _load_yaml(path, "experiment file")
    if not isinstance(xopts, dict):
        raise ExperimentError(f"{path} must be a mapping with experiment / defaults / config / runs")
    unknown = sorted(set(xopts) - {"experiment", "defaults", "config", "runs"})
    if unknown:
        raise ExperimentError(f"{path}: unknown top-level key(s) {unknown}; use experiment, defaults, config, runs")
    exp = xopts.get("experiment") or {}
    if not isinstance(exp, dict):
        raise ExperimentError(f"{path}: 'experiment' must be a mapping")
    unknown = sorted(set(exp) - set(EXPERIMENT_KEYS))
    if unknown:
        raise ExperimentError(f"{path}: unknown experiment key(s) {unknown}; use {', '.join(EXPERIMENT_KEYS)}")
    sources = {}
    for key in ("defaults", "config"):
        if xopts.get(key) is not None and exp.get(key) is not None:
            raise ExperimentError(f"{path}: '{key}' is given both at the top level and under 'experiment'; keep one")
        value = xopts.get(key) if xopts.get(key) is not None else exp.get(key)
        where = key if xopts.get(key) is not None else f"experiment.{key}"
        sources[key] = _options_source(value, where, path) if value is not None else {}
    if exp.get("out_dir") is not None and exp.get("base_dir") is not None:
        raise ExperimentError(f"{path}: give experiment.out_dir or experiment.base_dir, not both")
    if not isinstance(exp.get("sbatch") or {}, dict):
        raise ExperimentError(f"{path}: 'experiment.sbatch' must be a mapping")
    _positive_int(exp.get("repeat", 1), "experiment.repeat")
    runs = xopts.get("runs") or [{}]
    if not isinstance(runs, list):
        raise ExperimentError(f"{path}: 'runs' must be a list of run mappings")
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise ExperimentError(f"{path}: runs[{i}] must be a mapping (trainer / comet / sbatch / repeat)")
        bad = sorted(set(run) - {"trainer", "comet", "sbatch", "repeat"})
        if bad:
            raise ExperimentError(f"{path}: runs[{i}] has unknown key(s) {bad}; use trainer, comet, sbatch, repeat")
    return {"experiment": exp, "defaults": sources["defaults"], "config": sources["config"], "runs": runs}


def expand_runs(xopts, rng):
    """One resolved run per (runs entry, experiment.repeat, runs[i].repeat): trainer = defaults <- config <-
    runs[i].trainer, sampled anew for every repetition."""
    base = deep_merge(xopts["defaults"], xopts["config"])
    exp = xopts["experiment"]
    exp_repeat = _positive_int(exp.get("repeat", 1), "experiment.repeat")
    out = []
    for i, run in enumerate(xopts["runs"]):
        repeat = _positive_int(run.get("repeat", 1), f"runs[{i}].repeat") * exp_repeat
        for r in range(repeat):
            merged = deep_merge(base, run.get("trainer") or {})
            trainer, sampled = resolve_samples(merged, rng, where=f"runs[{i}].trainer")
            if not trainer.get("model"):
                raise ExperimentError(f"runs[{i}]: the trainer options name no 'model' (set config.model, e.g. "
                                      f"omnigan, or give it in defaults)")
            out.append({"source_index": i, "repeat_index": r, "trainer": trainer, "sampled": sampled,
                        "own_name": (run.get("trainer") or {}).get("name"),
                        "comet": copy.deepcopy(run.get("comet") or {}),
                        "sbatch": deep_merge(exp.get("sbatch") or {}, run.get("sbatch") or {})})
    return out


# ---------------------------------------------------------------------------- template and files
def fill_template(template, params, template_path="template"):
    """Replace every {{name}}; a name without a value is an error listing the available ones."""
    missing = sorted({m.group(1) for m in PARAM_RE.finditer(template) if params.get(m.group(1)) is None})
    if missing:
        raise ExperimentError(f"{template_path}: no value for {', '.join('{{%s}}' % m for m in missing)}; "
                              f"available: {', '.join(sorted(k for k, v in params.items() if v is not None))} "
                              f"(add them to experiment.sbatch or runs[i].sbatch)")
    return PARAM_RE.sub(lambda m: str(params[m.group(1)]), template)


def git_hash(repo=REPO):
    """HEAD commit of `repo` (+ '-dirty' with uncommitted changes), or a note when it is not a git checkout."""
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def write_runs(xopts, experiment_path, template_path, out_dir, seed=None):
    """Write every run's folder; returns a list of (run_dir, launch file).

    Every run is resolved and its template filled first: an error leaves no folder behind.
    """
    with open(template_path) as f:
        template = f.read()
    rng = np.random.RandomState(seed)
    exp = xopts["experiment"]
    name = str(exp.get("name") or os.path.splitext(os.path.basename(experiment_path))[0])
    exp_dir = os.path.join(out_dir, name)
    if os.path.isdir(exp_dir) and os.listdir(exp_dir):
        raise ExperimentError(f"{exp_dir} already exists and is not empty; pick another experiment.name or --out_dir")
    commit = git_hash()
    prepared = []
    for j, run in enumerate(expand_runs(xopts, rng)):
        run_dir = os.path.abspath(os.path.join(exp_dir, f"run_{j}"))
        run_name = f"{name}_{j}"
        trainer = dict(run["trainer"])
        # each run needs its own checkpoint folder: a name from defaults/config would be shared by all runs
        trainer["name"] = run["own_name"] or run_name
        tags = [str(t) for t in run["comet"].get("tags") or []]
        if exp.get("no_comet"):
            trainer["comet"] = False
        elif tags and "comet_tags" not in trainer:
            # train.py's --comet_tags labels the comet experiment (with --comet)
            trainer["comet_tags"] = ",".join(tags)
        for key, value in (("comet_exp_desc", exp.get("exp_desc")), ("comet_note", run["comet"].get("note"))):
            if value and key not in trainer:
                trainer[key] = str(value)
        trainer.setdefault("run_dir", run_dir)  # train.py writes comet_url.txt there too
        config_path = os.path.join(run_dir, "config.yaml")
        train_args = f"--config {config_path} --name {trainer['name']}"
        params = dict(run["sbatch"])
        params.update({
            "name": run_name, "run_dir": run_dir, "config": config_path,
            "output": os.path.join(run_dir, "slurm-%j.out"), "train_args": train_args,
            "train_cmd": f"python {os.path.join(REPO, 'train.py')} {train_args}", "repo": REPO, "git_hash": commit,
            "exp_desc": exp.get("exp_desc", ""), "comet_note": run["comet"].get("note", ""),
            "comet_tags": ",".join(tags),
        })
        prepared.append((j, run, run_dir, trainer, config_path, fill_template(template, params, template_path)))
    launched = []
    for j, run, run_dir, trainer, config_path, launch in prepared:
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, "hash.txt"), "w") as f:
            f.write(commit + "\n")
        with open(config_path, "w") as f:
            yaml.safe_dump(trainer, f, sort_keys=True)
        shutil.copyfile(experiment_path, os.path.join(run_dir, f"exp_{j}.yaml"))
        with open(os.path.join(run_dir, "run.yaml"), "w") as f:
            yaml.safe_dump({"experiment": exp, "experiment_file": os.path.abspath(experiment_path),
                            "template": os.path.abspath(template_path), "run_index": run["source_index"],
                            "repeat_index": run["repeat_index"], "seed": seed, "sampled": run["sampled"],
                            "trainer": trainer, "comet": run["comet"], "sbatch": run["sbatch"]}, f, sort_keys=False)
        launch_path = os.path.join(run_dir, "exp.sh")
        with open(launch_path, "w") as f:
            f.write(launch)
        os.chmod(launch_path, 0o755)
        launched.append((run_dir, launch_path))
    return launched


def submit(launch_files, local=False):
    """sbatch each launch file when available; else run them with bash when `local`."""
    sbatch = shutil.which("sbatch")
    if sbatch is None and not local:
        raise ExperimentError("sbatch is not on PATH: the launch files are written; run them yourself, "
                              "or pass --local to run them here one after the other")
    for run_dir, path in launch_files:
        if sbatch:
            res = subprocess.run([sbatch, path], capture_output=True, text=True)
            if res.returncode:
                raise ExperimentError(f"sbatch {path} failed: {res.stderr.strip()}")
            with open(os.path.join(run_dir, "sbatch.txt"), "w") as f:
                f.write(res.stdout)
            print(res.stdout.strip())
        else:
            print(f"running {path}")
            res = subprocess.run(["bash", path])
            if res.returncode:
                raise ExperimentError(f"{path} stopped with status {res.returncode}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", required=True, help="experiment YAML file")
    parser.add_argument("--template", required=True, help="launch file template with {{param}} placeholders")
    parser.add_argument("--out_dir", default=None, help="root of the run folders (default: experiment.out_dir "
                                                        "or ./experiments)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the parameter sampling (default: random)")
    parser.add_argument("--dry_run", action="store_true", help="write every file but submit nothing")
    parser.add_argument("--local", action="store_true", help="without sbatch, run the launch files with bash")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.template):
        raise FileNotFoundError(f"template not found: {args.template}")
    xopts = load_experiment(args.experiment)
    exp = xopts["experiment"]
    out_dir = args.out_dir or exp.get("out_dir") or exp.get("base_dir") or "experiments"
    launched = write_runs(xopts, args.experiment, args.template, out_dir, args.seed)
    for run_dir, _ in launched:
        print(f"wrote {run_dir}")
    if args.dry_run or exp.get("dev_mode"):
        print(f"dry run: {len(launched)} launch file(s) written, nothing submitted")
        return 0
    submit(launched, args.local)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
