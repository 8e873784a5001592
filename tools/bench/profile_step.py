"""Profile a few training (or test) steps of one configuration with torch.profiler and print where the time goes.

    python -m tools.bench.profile_step --model pix2pix --size 256 --steps 3
    python -m tools.bench.profile_step --model pix2pix --size 256 --options "--amp bf16 --channels_last --fused_optimizer"
    python -m tools.bench.profile_step --model pix2pix --size 256 --classic          # the classic fp32 step
    python -m tools.bench.profile_step --model cycle_gan --size 64 --trace trace.json -- --netG resnet_6blocks

The model is built exactly as the benchmark builds it (tools/bench/benchmark.py: the real option parser,
models.create_model, model.setup, synthetic in-memory batches), warmed up, then ``--steps`` steps run under
torch.profiler. It prints one summary line (ms per step; the share of the step spent in tensor copies,
``aten::copy_`` self time, which holds dtype casts and memory-layout conversions; the share inside the
optimizers' ``step``; the number of ``aten::_to_copy`` calls per step) and a table of the top operators by self
time. ``--json`` writes the same numbers, ``--trace`` a Chrome trace (chrome://tracing, perfetto.dev).
"""
import argparse
import json
import sys
import tempfile
import time
from types import SimpleNamespace

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from tools.bench.benchmark import Config, SyntheticBatches, sync, test_iteration, train_iteration

STEP_RANGE = 'profile_step'
COPY_OPS = ('aten::copy_',)  # where the bytes of every cast, .to(), .contiguous() and clone are moved


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--model', default='pix2pix', help='model to profile (any --model of train.py)')
    p.add_argument('--size', type=int, default=256, help='image size (crop size) in pixels')
    p.add_argument('--batch_size', type=int, default=1, help='batch size')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--mode', default='train', choices=['train', 'test'], help='profile training steps or inference')
    p.add_argument('--options', default='', help='train.py options of the configuration, as one string, '
                                                  'e.g. "--amp bf16 --channels_last --fused_optimizer"')
    p.add_argument('--classic', action='store_true',
                   help="profile the classic code's fp32 step (tools/bench/classic_step.py; pix2pix, cycle_gan)")
    p.add_argument('--warmup', type=int, default=2, help='unprofiled steps first')
    p.add_argument('--steps', type=int, default=3, help='profiled steps')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch default)')
    p.add_argument('--seed', type=int, default=0, help='seed for the networks and the synthetic batches')
    p.add_argument('--top', type=int, default=15, help='rows of the operator table')
    p.add_argument('--json', default=None, help='write the summary and the top operators to this file')
    p.add_argument('--trace', default=None, help='write a Chrome trace of the profiled steps to this file')
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    else:
        extra = []
    args = p.parse_args(argv)
    args.extra = extra
    if args.warmup < 0 or args.steps < 1:
        p.error('--warmup must be >= 0 and --steps >= 1')
    if args.classic and args.model not in ('pix2pix', 'cycle_gan'):
        p.error("--classic needs --model pix2pix or cycle_gan (the classic code's models)")
    return args


def build(args, workdir):
    """The benchmark's configuration object for these options (train model, and the test model if asked)."""
    bench_args = SimpleNamespace(model=args.model, size=args.size, batch_size=args.batch_size, device=args.device,
                                 threads=args.threads, ddp=False, seed=args.seed, dataroot=None, extra=args.extra)
    cfg = Config('R' if args.classic else 'A', args.options, bench_args, workdir, classic=args.classic)
    cfg.apply_threads()
    cfg.build_train()
    if args.mode == 'test':
        cfg.build_test()
    return cfg


def summarize(prof, steps, wall_ms):
    """Step time, copy and optimizer shares, casts per step and the operator rows, from a finished profile."""
    events = prof.key_averages()
    by_name = {e.key: e for e in events}
    step = by_name.get(STEP_RANGE)
    total_us = step.cpu_time_total if step is not None else sum(e.self_cpu_time_total for e in events)
    copy_us = sum(by_name[name].self_cpu_time_total for name in COPY_OPS if name in by_name)
    # optimizers record 'Optimizer.step#Adam.step' (and zero_grad): their total time, nested calls included
    optim_us = sum(e.cpu_time_total for e in events if e.key.startswith('Optimizer.step#'))
    zero_us = sum(e.cpu_time_total for e in events if e.key.startswith('Optimizer.zero_grad#'))
    casts = by_name['aten::_to_copy'].count if 'aten::_to_copy' in by_name else 0
    rows = [{'name': e.key, 'self_ms_per_step': e.self_cpu_time_total / 1e3 / steps,
             'share': e.self_cpu_time_total / total_us if total_us else 0.0, 'calls_per_step': e.count / steps}
            for e in events if e.key != STEP_RANGE and not e.key.startswith(('Optimizer.', 'ProfilerStep'))]
    rows.sort(key=lambda r: -r['self_ms_per_step'])
    return {'steps': steps, 'ms_per_step': total_us / 1e3 / steps, 'wall_ms_per_step': wall_ms / steps,
            'copy_share': copy_us / total_us if total_us else 0.0, 'copy_ms_per_step': copy_us / 1e3 / steps,
            'optimizer_share': (optim_us + zero_us) / total_us if total_us else 0.0,
            'optimizer_ms_per_step': (optim_us + zero_us) / 1e3 / steps,
            'casts_per_step': casts / steps, 'top': rows}


def profile_steps(cfg, args):
    model = cfg.train_model if args.mode == 'train' else cfg.test_model
    opt = cfg.opt if args.mode == 'train' else cfg.test_opt
    step = train_iteration if args.mode == 'train' else test_iteration
    batches = SyntheticBatches(opt, args.seed)
    for i in range(args.warmup):
        step(model, batches[i])
    sync(args.device)
    activities = [ProfilerActivity.CPU]
    if torch.device(args.device).type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        for i in range(args.steps):
            with record_function(STEP_RANGE):
                step(model, batches[args.warmup + i])
                sync(args.device)
        wall_ms = (time.perf_counter() - t0) * 1e3
    return prof, summarize(prof, args.steps, wall_ms)


def print_summary(summary, args, label):
    print(f"{label}: {summary['ms_per_step']:.1f} ms/step under the profiler; copies (aten::copy_) "
          f"{100 * summary['copy_share']:.1f}% ({summary['copy_ms_per_step']:.1f} ms), optimizer step + zero_grad "
          f"{100 * summary['optimizer_share']:.1f}% ({summary['optimizer_ms_per_step']:.1f} ms), "
          f"{summary['casts_per_step']:.0f} aten::_to_copy calls per step")
    print(f"  {'operator (self time)':<48}{'ms/step':>9}{'share':>8}{'calls/step':>12}")
    for row in summary['top'][:args.top]:
        print(f"  {row['name'][:47]:<48}{row['self_ms_per_step']:>9.1f}{100 * row['share']:>7.1f}%"
              f"{row['calls_per_step']:>12.1f}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    with tempfile.TemporaryDirectory(prefix='zoo_profile_') as workdir:
        cfg = build(args, workdir)
        prof, summary = profile_steps(cfg, args)
    label = 'classic fp32 step' if args.classic else (args.options or '(defaults)')
    label = f'{args.model} {args.mode} {args.size}px batch {args.batch_size}, {label}'
    print_summary(summary, args, label)
    if args.trace:
        prof.export_chrome_trace(args.trace)
        print(f'trace written to {args.trace}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'configuration': label, 'arguments': {k: v for k, v in vars(args).items()}, **summary},
                      f, indent=2)
        print(f'summary written to {args.json}')
    return summary


if __name__ == '__main__':
    main()
