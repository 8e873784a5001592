"""Compare tested runs: a table of the options that differ and every metric, a bar chart per metric, and a grid
of the same test inputs translated by each run, written to comparisons/<name>/index.html and index.md.

    python -m tools.compare batch1 batch4 batch16 --name batch_size --metrics fid,kid,isc,psnr,ssim,l1
    python -m tools.compare --runs study.yaml

Each run is a training name whose results test.py wrote to <results_dir>/<name>/<phase>_<epoch>/ and whose
options are in <checkpoints_dir>/<name>/train_opt.yaml. Metrics come from that results folder's metrics.json;
requested metrics missing there are computed from its images (metrics/) and added to it.

A runs file is YAML: either a list of runs, or a mapping with ``runs:`` plus any option of this script
(``name``, ``metrics``, ``results_dir``, ...). A run is a name, or a mapping with ``name`` and optionally
``label``, ``results_dir``, ``checkpoints_dir``, ``phase``, ``epoch``.
"""
import argparse
import html as html_lib
import os
import shutil
import sys

import yaml

import metrics as M
from metrics import results as result_metrics
from util.cli import run_cli
from util.html import HTML
from util.util import atomic_write_text

# Options that name or schedule a run rather than change what it learns: never listed as "differing".
NOT_COMPARED = {'name', 'checkpoints_dir', 'results_dir', 'gpu_ids', 'config', 'verbose', 'print_freq', 'display_freq',
                'update_html_freq', 'save_latest_freq', 'save_latest_minutes', 'save_epoch_freq', 'save_by_iter', 'no_html', 'num_threads',
                'suffix', 'continue_train', 'auto_resume', 'epoch', 'load_iter', 'phase', 'display_id', 'display_server',
                'display_port', 'display_env', 'display_ncols', 'display_winsize', 'use_wandb', 'wandb_project_name',
                'isTrain', 'fidelity_weights', 'eval_freq', 'eval_phase', 'eval_num', 'eval_metrics'}
STD_SUFFIX = '_std'
INFO_KEYS = {'n_samples', 'num_images'}  # numbers in metrics.json that describe the run rather than score it


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='*', help='training names of the runs to compare (tested with test.py)')
    p.add_argument('--runs_file', '--runs_yaml', dest='runs_file', default=None,
                   help='YAML list of runs (or mapping with runs: and options of this script)')
    p.add_argument('--name', default=None, help='comparison name: the report goes to <out_dir>/<name>/ '
                                                '(default: the run names joined by _vs_)')
    p.add_argument('--out_dir', default='./comparisons', help='where comparison reports are written')
    p.add_argument('--checkpoints_dir', default='./checkpoints', help='where the runs saved their options')
    p.add_argument('--results_dir', default='./results', help='where test.py wrote the runs\' results')
    p.add_argument('--phase', default='test', help='results phase folder <phase>_<epoch>')
    p.add_argument('--epoch', default='latest', help='results epoch folder <phase>_<epoch>')
    p.add_argument('--metrics', default=None,
                   help=f"metrics to show and compute where missing, from {','.join(M.metric_names())}; default: those "
                        "already in the runs' metrics.json files")
    p.add_argument('--fidelity_weights', default=None,
                   help="local InceptionV3 weights for FID/KID/IS; default: torch-fidelity's download")
    p.add_argument('--recompute', action='store_true', help='recompute requested metrics even when metrics.json has them')
    p.add_argument('--grid_size', type=int, default=4, help='number of test inputs in the image grid')
    p.add_argument('--note', action='append', default=[], help='a line of text added to the report (repeatable)')
    p.add_argument('--device', default=None, help='cpu or cuda for computing metrics (default: cuda when available)')
    return p


class Run:
    """One run: its label, results folder, options and metrics."""

    def __init__(self, spec, defaults):
        if isinstance(spec, str):
            spec = {'name': spec}
        if not isinstance(spec, dict) or 'name' not in spec:
            raise ValueError(f"a run must be a name or a mapping with 'name' (got {spec!r})")
        self.name = str(spec['name'])
        self.label = str(spec.get('label', self.name))
        results_dir = spec.get('results_dir', defaults.results_dir)
        checkpoints_dir = spec.get('checkpoints_dir', defaults.checkpoints_dir)
        phase, epoch = spec.get('phase', defaults.phase), spec.get('epoch', defaults.epoch)
        self.web_dir = os.path.join(results_dir, self.name, f'{phase}_{epoch}')
        if not os.path.isdir(os.path.join(self.web_dir, 'images')):
            raise FileNotFoundError(f"run '{self.name}': no test results in '{self.web_dir}' (run test.py --name "
                                    f"{self.name} first, or check --results_dir/--phase/--epoch)")
        opt_file = os.path.join(checkpoints_dir, self.name, 'train_opt.yaml')
        self.options = {}
        if os.path.isfile(opt_file):
            with open(opt_file) as f:
                self.options = yaml.safe_load(f) or {}
        self.metrics = result_metrics.read_results_metrics(self.web_dir)

    def evaluate(self, names, weights_path, recompute, device):
        """Compute the requested metrics this run lacks (all of them with recompute) and store them."""
        missing = [m for m in names if recompute or m not in self.metrics]
        if missing:
            print(f"[{self.label}] computing {','.join(missing)} from {self.web_dir}")
            self.metrics.update(result_metrics.score_images(self.web_dir, missing, weights_path=weights_path,
                                                            device=device))
            result_metrics.write_results_metrics(self.web_dir, self.metrics)

    def image(self, stem, label):
        path = os.path.join(self.web_dir, 'images', f'{stem}_{label}.png')
        return path if os.path.isfile(path) else None

    def stems(self):
        suffix = '_fake_B.png'
        return {f[:-len(suffix)] for f in os.listdir(os.path.join(self.web_dir, 'images')) if f.endswith(suffix)}


def load_runs_file(path):
    """(runs, options) from a YAML runs file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--runs_file {path}: no such file")
    with open(path) as f:
        data = yaml.safe_load(f)
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get('runs'), list):
        return data['runs'], {k: v for k, v in data.items() if k != 'runs'}
    raise ValueError(f"--runs_file {path} must hold a list of runs or a mapping with a 'runs' list")


NOT_COMPARED_PREFIXES = ('display_', 'comet', 'wandb', 'visdom', 'plot_', 'html_', 'log_')


def differing_options(runs):
    """Option names whose values are not the same in every run that recorded them.

    A run without an option (another model's option, or a run made before the option existed) is left out
    of that option's comparison and shown as '-'; logging and display options are never compared.
    """
    keys = set().union(*(set(r.options) for r in runs)) - NOT_COMPARED
    keys = sorted(k for k in keys if not k.startswith(NOT_COMPARED_PREFIXES))
    return [k for k in keys if len({repr(r.options[k]) for r in runs if k in r.options}) > 1]


def metric_columns(runs, requested):
    """Metrics to show: the requested ones, or all image metrics the runs have, plus what models reported
    themselves (e.g. diversity); std columns are folded into their metric."""
    names = list(requested)
    for r in runs:
        names += [k for k in r.metrics if k not in names and (not requested or k not in M.metric_names())]
    names = [n for n in names if not n.endswith(STD_SUFFIX) and n not in INFO_KEYS]
    order = {m: i for i, m in enumerate(M.metric_names() + ('diversity',))}
    return sorted(names, key=lambda n: order.get(n, len(order)))


def fmt(value):
    if value is None:
        return '-'
    return f'{value:.4g}'


def metric_cell(run, name):
    value = run.metrics.get(name)
    std = run.metrics.get(name + STD_SUFFIX)
    if value is None:
        return '-'
    return f'{fmt(value)} ± {fmt(std)}' if std is not None and name in ('kid', 'isc') else fmt(value)


def bar_chart(runs, name, path):
    """One bar per run for metric ``name`` (error bars where a std exists)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = [r.label for r in runs]
    values = [r.metrics.get(name, float('nan')) for r in runs]
    errors = [r.metrics.get(name + STD_SUFFIX, 0.0) for r in runs]
    fig, ax = plt.subplots(figsize=(max(3.5, 0.9 * len(runs) + 1.5), 3.2))
    ax.bar(range(len(runs)), values, yerr=errors if any(errors) else None, color='#4878a8', capsize=3)
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, rotation=30, ha='right', fontsize=8)
    direction = {True: ' (higher is better)', False: ' (lower is better)', None: ''}[M.higher_is_better(name)]
    ax.set_title(name.upper() + direction, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp.png'
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def grid_rows(runs, size):
    """For the first ``size`` test inputs every run has: (stem, [(caption, source path)])."""
    common = set.intersection(*(r.stems() for r in runs))
    rows = []
    for stem in sorted(common, key=lambda s: (len(s), s))[:size]:
        cells = []
        first = runs[0]
        if first.image(stem, 'real_A'):
            cells.append(('input', first.image(stem, 'real_A')))
        for r in runs:
            cells.append((r.label, r.image(stem, 'fake_B')))
        if first.image(stem, 'real_B'):
            cells.append(('target', first.image(stem, 'real_B')))
        rows.append((stem, cells))
    return rows


def safe(text):
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in text)


def build_report(opt):
    """Evaluate the runs and write the report; returns the report folder."""
    specs = list(opt.runs)
    if opt.runs_file:
        file_runs, file_options = load_runs_file(opt.runs_file)
        specs += file_runs
        for key, value in file_options.items():
            if not hasattr(opt, key):
                raise ValueError(f"--runs_file {opt.runs_file}: unknown setting '{key}'")
            if getattr(opt, key) == build_parser().get_default(key):
                setattr(opt, key, value)
    if len(specs) < 1:
        raise ValueError('give at least one run to compare (names, or --runs_file)')
    runs = [Run(spec, opt) for spec in specs]
    if len({r.label for r in runs}) != len(runs):
        raise ValueError('two runs have the same label; give them distinct labels in the runs file')
    requested = M.parse_metrics(opt.metrics) if opt.metrics else []
    for r in runs:
        r.evaluate(requested, opt.fidelity_weights, opt.recompute, opt.device)
    name = opt.name or '_vs_'.join(r.name for r in runs)
    out = os.path.join(opt.out_dir, safe(name))
    images = os.path.join(out, 'images')
    if os.path.isdir(images):
        shutil.rmtree(images)  # a rerun must not show stale images
    os.makedirs(images, exist_ok=True)

    diff = differing_options(runs)
    columns = metric_columns(runs, requested)
    notes = list(opt.note)
    if any(c in ('fid', 'kid', 'isc') for c in columns) and result_metrics.uses_unofficial_weights(opt.fidelity_weights) \
            and not any('Inception' in line for line in notes):  # unless the caller explained the weights already
        notes.append(result_metrics.UNOFFICIAL_WEIGHTS_NOTE)
    header = ['run', 'options that differ'] + columns
    rows = [[r.label, ', '.join(f"{k}={r.options.get(k, '-')}" for k in diff) or '-'] + [metric_cell(r, c) for c in columns]
            for r in runs]

    charts = []
    for c in columns:
        if any(c in r.metrics for r in runs):
            chart = f'chart_{safe(c)}.png'
            bar_chart(runs, c, os.path.join(images, chart))
            charts.append((c, chart))

    grid = []
    for stem, cells in grid_rows(runs, opt.grid_size):
        copied = []
        for caption, src in cells:
            if src is None:
                continue
            dst = f'grid_{safe(stem)}_{safe(caption)}.png'
            shutil.copyfile(src, os.path.join(images, dst))
            copied.append((caption, dst))
        grid.append((stem, copied))

    # HTML
    page = HTML(out, f'Comparison: {name}')
    page.add_header(f'Comparison: {name}')
    for line in notes:
        page.add_text(line)
    page.add_table(rows, header=header)
    if charts:
        page.add_header('Metrics')
        page.add_images([c for _, c in charts], [n for n, _ in charts], [c for _, c in charts], width=320)
    if grid:
        page.add_header('Same test inputs across runs')
        for stem, cells in grid:
            page.add_text(stem)
            page.add_images([d for _, d in cells], [c for c, _ in cells], [d for _, d in cells], width=128)
    page.save()

    # Markdown
    md = [f'# Comparison: {name}', '']
    md += [f'> {line}' for line in notes] + ([''] if notes else [])
    table = markdown_table(header, rows)
    md += [table, '']
    if charts:
        md += ['## Metrics', ''] + [f'![{n}](images/{c})' for n, c in charts] + ['']
    if grid:
        md += ['## Same test inputs across runs', '']
        captions = [c for c, _ in grid[0][1]]
        md.append('| test input | ' + ' | '.join(captions) + ' |')
        md.append('|' + '---|' * (len(captions) + 1))
        for stem, cells in grid:
            md.append(f'| {stem} | ' + ' | '.join(f'![{html_lib.escape(c)}](images/{d})' for c, d in cells) + ' |')
        md.append('')
    md += ['## Runs', ''] + [f'- {r.label}: `{r.web_dir}`' for r in runs] + ['']
    atomic_write_text(os.path.join(out, 'index.md'), '\n'.join(md))
    print(table)
    print(f'comparison report: {os.path.join(out, "index.html")} and {os.path.join(out, "index.md")}')
    return out


def markdown_table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c).replace('|', '\\|') for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def main(argv=None):
    build_report(build_parser().parse_args(argv))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
