"""Time the training step and test inference of any model on synthetic in-memory batches.

    python -m tools.bench.benchmark --model pix2pix --size 256 --batch_size 1 --device cpu
    python -m tools.bench.benchmark --model pix2pix --size 256 --compare "" "--amp bf16 --channels_last"
    python -m tools.bench.benchmark --model pix2pix --size 256 --loss_check 50 --compare "" "--amp bf16"
    python -m tools.bench.benchmark --model pix2pix --mode test --compare "--batch_size 1" "--batch_size 8"
    python -m tools.bench.benchmark --model pix2pix --reference --compare "" "--amp bf16 --channels_last"

Models are built exactly as train.py / test.py build them (options.train_options.TrainOptions(...).parse(),
models.create_model, model.setup); the test model loads the weights the training model saved, through
TestOptions, like test.py does. Options after ``--`` (or in a --compare string) are passed to that parser;
a compare string may also hold ``--threads N`` (torch intra-op threads for that configuration only).

For each configuration it reports, after warm-up, ms/iter (median), images/s, peak memory (resident set size
sampled during the timed iterations on CPU, max allocated on CUDA), model FLOPs per iteration
(torch.utils.flop_counter.FlopCounterMode; forward + backward for training) and achieved GFLOP/s. With
--compare the configurations run in interleaved repetitions (A B B A ...) so that machine noise hits both
alike; the ratio is the median over repetitions of time(A) / time(B) per image (> 1: B is faster), in wall
time and in process CPU time (steadier on a shared machine). --compare takes two or more strings; each is
compared with the first. --reference adds the classic code's step (tools/bench/classic_step.py: the same
networks, the classic sequence of operations, fp32) as configuration R, and every configuration's ratio to it.
--ddp (global, or inside one --compare string) wraps the trained networks in a one-process
DistributedDataParallel: its overhead on one device.
--loss_check N trains each configuration N seeded
iterations on the same batches and reports the loss differences to the first. Results are printed and
written to --json.
"""
import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import threading
import time

import torch

from models import create_model
from models.base_model import unwrap
from options.test_options import TestOptions
from options.train_options import TrainOptions
from tools.bench.classic_step import classic_step
from util import distributed, hardware
from util.util import seed_everything


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--model', default='pix2pix', help='model to benchmark (any --model of train.py)')
    p.add_argument('--size', type=int, default=256, help='image size (crop size) in pixels')
    p.add_argument('--batch_size', type=int, default=1, help='batch size (a --compare string may override it)')
    p.add_argument('--device', default='cpu', help="cpu, cuda or cuda:N")
    p.add_argument('--mode', default='both', choices=['train', 'test', 'both'], help='what to time')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations per configuration first')
    p.add_argument('--iters', type=int, default=10, help='timed iterations per configuration and repetition')
    p.add_argument('--reps', type=int, default=3, help='interleaved repetitions (more cancel more noise)')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch default)')
    p.add_argument('--seed', type=int, default=0, help='seed for the networks and the synthetic batches')
    p.add_argument('--dataroot', default=None,
                   help='take batches from this dataset (through the model\'s dataset mode) instead of synthetic ones')
    p.add_argument('--compare', nargs='+', metavar='OPTIONS', default=None,
                   help='two or more option strings to compare with the first, e.g. "" "--amp bf16 --channels_last"')
    p.add_argument('--reference', action='store_true',
                   help="add the classic code's fp32 step (pix2pix, cycle_gan) as configuration R and ratios to it")
    p.add_argument('--ddp', action='store_true',
                   help='wrap the trained networks of every configuration in a one-process DistributedDataParallel '
                        '(a --compare string may hold --ddp for that configuration only)')
    p.add_argument('--loss_check', type=int, default=0, metavar='N',
                   help='also train each configuration N seeded iterations and report the losses against the first')
    p.add_argument('--no_flops', action='store_true', help='skip FLOP counting')
    p.add_argument('--json', default='benchmark.json', help='where to write the results')
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    else:
        extra = []
    args = p.parse_args(argv)
    args.extra = extra
    if args.warmup < 1 or args.iters < 1 or args.reps < 1:
        p.error('--warmup, --iters and --reps must be at least 1')
    if args.compare is not None and len(args.compare) < 2:
        p.error('--compare needs at least two option strings (use "" for the defaults)')
    if args.reference and args.model not in ('pix2pix', 'cycle_gan'):
        p.error("--reference needs --model pix2pix or cycle_gan (the classic code's models)")
    return args


# ---------------------------------------------------------------------------------------------- configs

class Config:
    """One configuration: its option string, its own models and its timings."""

    def __init__(self, label, option_string, args, workdir, classic=False):
        self.classic = classic
        tokens = shlex.split(option_string)
        self.threads = args.threads or torch.get_num_threads()
        if '--threads' in tokens:
            i = tokens.index('--threads')
            self.threads = int(tokens[i + 1])
            del tokens[i:i + 2]
        self.ddp = args.ddp or '--ddp' in tokens
        tokens = [t for t in tokens if t != '--ddp']
        self.label, self.options, self.tokens = label, option_string, tokens
        self.args = args
        self.dir = os.path.join(workdir, label)
        self.train_model = self.test_model = None
        self.times = {'train': [], 'test': []}
        self.cpu_times = {'train': [], 'test': []}
        self.peak = {'train': 0, 'test': 0}
        self.growth = {'train': 0, 'test': 0}
        self.flops = {}

    def common_args(self, name):
        a = self.args
        gpu = '-1' if a.device == 'cpu' else (a.device.split(':')[1] if ':' in a.device else '0')
        base = ['--model', a.model, '--name', name, '--checkpoints_dir', self.dir, '--crop_size', str(a.size),
                '--load_size', str(a.size), '--batch_size', str(a.batch_size), '--gpu_ids', gpu,
                '--seed', str(a.seed), '--num_threads', '0']
        return base + ['--dataroot', a.dataroot or os.path.join(self.dir, 'no_data')]

    def build_train(self):
        with quiet():
            self.opt = TrainOptions(self.common_args('bench') + ['--display_id', '0', '--no_html']
                                    + self.args.extra + self.tokens).parse()
            seed_everything(self.opt.seed)
            if self.classic:
                self.train_model = classic_step(self.opt)
                return self.train_model
            model = create_model(self.opt)
            model.setup(self.opt)
        model.train()
        if self.ddp:
            wrap_in_ddp(model, self.opt)
        self.train_model = model
        self.batch_size = self.opt.batch_size
        return model

    def build_test(self):
        """The test model of test.py, loading the weights of the training model (classic: the same networks)."""
        if self.classic:
            self.test_opt, self.test_model = self.opt, self.train_model
            return self.test_model
        with quiet():
            self.train_model.save_networks('latest')
            opt = TestOptions(self.common_args('bench') + self.args.extra + self.tokens).parse()
            opt.serial_batches, opt.no_flip = True, True
            model = create_model(opt)
            model.setup(opt)
        if opt.eval:
            model.eval()
        self.test_opt = opt
        self.test_model = model
        return model

    def apply_threads(self):
        torch.set_num_threads(self.threads)


def wrap_in_ddp(model, opt):
    """DistributedDataParallel around each trained network in a process group of one (train.py wraps only
    when there are several processes; this measures what the wrapper itself costs)."""
    import torch.distributed as dist
    if not dist.is_initialized():
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', str(29500 + os.getpid() % 1000))
        dist.init_process_group(distributed.backend_for(opt.device), rank=0, world_size=1)
    for name in model.model_names:
        net = getattr(model, 'net' + name)
        if distributed.is_trained(net):
            setattr(model, 'net' + name, distributed.wrap_network(net, opt))


@contextlib.contextmanager
def quiet():
    """Hide the option tables and network summaries the builders print."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# ---------------------------------------------------------------------------------------------- data

class SyntheticBatches:
    """Deterministic in-memory batches: smooth random images A and a fixed, learnable mapping B = f(A)."""

    def __init__(self, opt, seed, count=8):
        g = torch.Generator().manual_seed(seed)
        n, s = opt.batch_size, opt.crop_size
        self.batches = []
        for i in range(count):
            low = torch.rand(n, max(opt.input_nc, opt.output_nc), max(2, s // 16), max(2, s // 16), generator=g)
            smooth = torch.nn.functional.interpolate(low, size=(s, s), mode='bilinear', align_corners=False) * 2 - 1
            a = smooth[:, :opt.input_nc].contiguous()
            b = torch.tanh(2 * smooth.flip(1))[:, :opt.output_nc].contiguous()
            paths = [f'synthetic_{i}_{j}.png' for j in range(n)]
            self.batches.append({'A': a, 'B': b, 'A_paths': paths, 'B_paths': paths})

    def __getitem__(self, i):
        return self.batches[i % len(self.batches)]


class DatasetBatches:
    """The first batches of a real dataset (--dataroot), cycled."""

    def __init__(self, opt, count=8):
        from data import create_dataset
        with quiet():
            dataset = create_dataset(opt)
        dataset.set_epoch(1)
        self.batches = []
        for batch in dataset:
            self.batches.append(batch)
            if len(self.batches) >= count:
                break

    def __getitem__(self, i):
        return self.batches[i % len(self.batches)]


def make_batches(cfg, opt):
    return DatasetBatches(opt) if cfg.args.dataroot else SyntheticBatches(opt, cfg.args.seed)


# ---------------------------------------------------------------------------------------------- measuring

class PeakMemory:
    """Peak resident set size (CPU, sampled by a thread) or max allocated memory (CUDA) over a block, in MiB."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.peak = 0

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        import psutil
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.peak = self.start = self._proc.memory_info().rss

        def sample():
            while not self._stop.wait(0.002):
                self.peak = max(self.peak, self._proc.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._proc.memory_info().rss)
        self.peak_mib = self.peak / 2 ** 20
        self.growth_mib = (self.peak - self.start) / 2 ** 20 if self.device.type != 'cuda' else self.peak_mib


def sync(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def train_iteration(model, batch):
    model.set_input(batch)
    model.train_step()


def test_iteration(model, batch):
    model.set_input(batch)
    model.test()


def run_iterations(cfg, kind, batches, count, start):
    """Time ``count`` iterations (seconds each), synchronising the device around each one."""
    model = cfg.train_model if kind == 'train' else cfg.test_model
    step = train_iteration if kind == 'train' else test_iteration
    device = cfg.args.device
    times, cpu_times = [], []
    for i in range(count):
        batch = batches[start + i]
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        step(model, batch)
        sync(device)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return times, cpu_times


@contextlib.contextmanager
def eager_networks(model):
    """Swap compiled networks for their eager modules (FLOPs are counted at the operator level)."""
    saved = {name: getattr(model, 'net' + name) for name in model.model_names}
    for name, net in saved.items():
        setattr(model, 'net' + name, unwrap(net) if hasattr(net, '_orig_mod') else net)
    try:
        yield
    finally:
        for name, net in saved.items():
            setattr(model, 'net' + name, net)


def count_flops(cfg, kind, batch):
    from torch.utils.flop_counter import FlopCounterMode
    model = cfg.train_model if kind == 'train' else cfg.test_model
    step = train_iteration if kind == 'train' else test_iteration
    networks = contextlib.nullcontext() if cfg.classic else eager_networks(model)
    with networks, FlopCounterMode(display=False) as counter:
        step(model, batch)
    return int(counter.get_total_flops())


def summarize(cfg, kind):
    times = cfg.times[kind]
    med = statistics.median(times)
    out = {'ms_per_iter': med * 1e3, 'cpu_ms_per_iter': statistics.median(cfg.cpu_times[kind]) * 1e3,
           'ms_per_iter_mean': statistics.fmean(times) * 1e3,
           'ms_per_iter_min': min(times) * 1e3, 'images_per_s': cfg_batch(cfg, kind) / med,
           'batch_size': cfg_batch(cfg, kind), 'iterations': len(times), 'peak_memory_mib': cfg.peak[kind],
           # CPU: the process RSS (every configuration's models are resident) and its growth during the step
           'peak_memory_growth_mib': cfg.growth[kind]}
    if kind in cfg.flops:
        out['flops_per_iter'] = cfg.flops[kind]
        out['gflops_per_s'] = cfg.flops[kind] / med / 1e9
    return out


def cfg_batch(cfg, kind):
    return cfg.opt.batch_size if kind == 'train' else cfg.test_opt.batch_size


def benchmark(configs, args):
    kinds = ['train', 'test'] if args.mode == 'both' else [args.mode]
    results = {}
    for kind in kinds:
        batches = {}
        for cfg in configs:
            cfg.apply_threads()
            opt = cfg.opt if kind == 'train' else cfg.test_opt
            batches[cfg.label] = make_batches(cfg, opt)
            run_iterations(cfg, kind, batches[cfg.label], args.warmup, 0)  # warm-up (and compilation)
            if not args.no_flops:
                cfg.flops[kind] = count_flops(cfg, kind, batches[cfg.label][0])
        rep_times = {cfg.label: [] for cfg in configs}
        rep_cpu = {cfg.label: [] for cfg in configs}
        for rep in range(args.reps):
            order = configs if rep % 2 == 0 else configs[::-1]  # A B, B A, ...: drift hits both alike
            for cfg in order:
                cfg.apply_threads()
                with PeakMemory(args.device) as mem:
                    times, cpu_times = run_iterations(cfg, kind, batches[cfg.label], args.iters,
                                                      args.warmup + rep * args.iters)
                cfg.peak[kind] = max(cfg.peak[kind], mem.peak_mib)
                cfg.growth[kind] = max(cfg.growth[kind], mem.growth_mib)
                cfg.times[kind] += times
                cfg.cpu_times[kind] += cpu_times
                rep_times[cfg.label].append(statistics.median(times) / cfg_batch(cfg, kind))
                rep_cpu[cfg.label].append(statistics.median(cpu_times) / cfg_batch(cfg, kind))
        results[kind] = {cfg.label: summarize(cfg, kind) for cfg in configs}
        base = configs[0]
        for cfg in configs[1:]:
            results[kind][f'ratio_{cfg.label}_over_{base.label}'] = ratio(results[kind], rep_times, rep_cpu, base, cfg)
    return results


def ratio(table, rep_times, rep_cpu, a, b):
    """Speed of b relative to a per image: the median over interleaved repetitions (> 1: b is faster)."""
    ratios = [ta / tb for ta, tb in zip(rep_times[a.label], rep_times[b.label])]
    return {'images_per_s': statistics.median(ratios), 'per_repetition': ratios,
            # CPU seconds per image (all threads): steadier than wall time on a shared machine
            'cpu_time': statistics.median(ta / tb for ta, tb in zip(rep_cpu[a.label], rep_cpu[b.label])),
            'of_medians': table[b.label]['images_per_s'] / table[a.label]['images_per_s']}


# ---------------------------------------------------------------------------------------------- loss check

def loss_check(configs, args):
    """Train fresh models of every configuration N iterations on identical seeded batches; compare losses."""
    histories = {}
    configs = [cfg for cfg in configs if not cfg.classic]  # the reference's losses are not the model's
    for cfg in configs:
        cfg.apply_threads()
        model = cfg.build_train()  # fresh, identically seeded networks
        batches = make_batches(cfg, cfg.opt)
        seed_everything(args.seed)  # same dropout masks and pool choices as far as the precision allows
        history = []
        for i in range(args.loss_check):
            train_iteration(model, batches[i])
            history.append(model.get_current_losses())
        histories[cfg.label] = history
    ref = histories[configs[0].label]
    window = max(1, min(10, args.loss_check // 5))  # average the last iterations: single GAN steps are noisy
    report = {'iterations': args.loss_check, 'window': window, 'configs': {}}
    for cfg in configs:
        hist = histories[cfg.label]
        per_loss = {}
        for name in ref[-1]:
            a = statistics.fmean(h[name] for h in ref[-window:])
            b = statistics.fmean(h[name] for h in hist[-window:])
            per_loss[name] = {'reference': a, 'value': b, 'abs_diff': abs(b - a), 'rel_diff': abs(b - a) / max(abs(a), 1e-8)}
        report['configs'][cfg.label] = {'options': cfg.options, 'final_losses': hist[-1], 'last_window_mean': per_loss,
                                        'max_rel_diff': max((v['rel_diff'] for v in per_loss.values()), default=0.0)}
    return report


# ---------------------------------------------------------------------------------------------- main

def environment(args):
    info = {'torch': torch.__version__, 'python': platform.python_version(), 'device': args.device,
            'threads': torch.get_num_threads(), 'cpu_count': os.cpu_count()}
    info.update(hardware.cpu_info())
    if torch.device(args.device).type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(torch.device(args.device))
    return info


def print_table(results, configs):
    for kind, table in results.items():
        print(f'\n{kind}:')
        print(f"  {'config':<8}{'options':<44}{'ms/iter':>10}{'CPU ms':>10}{'images/s':>10}{'peak MiB':>10}"
              f"{'GFLOP/it':>10}{'GFLOP/s':>9}")
        for cfg in configs:
            r = table[cfg.label]
            shown = 'classic reference step (fp32)' if cfg.classic else (cfg.options or '(defaults)')
            print(f"  {cfg.label:<8}{shown[:43]:<44}{r['ms_per_iter']:>10.1f}"
                  f"{r['cpu_ms_per_iter']:>10.1f}"
                  f"{r['images_per_s']:>10.2f}{r['peak_memory_mib']:>10.0f}"
                  f"{r.get('flops_per_iter', 0) / 1e9:>10.2f}{r.get('gflops_per_s', 0):>9.1f}")
        for key, r in table.items():
            if key.startswith('ratio_'):
                b, a = key[len('ratio_'):].split('_over_')
                print(f"  {b} / {a} images/s: {r['images_per_s']:.3f}x (median of {len(r['per_repetition'])} "
                      f"interleaved repetitions; ratio of medians {r['of_medians']:.3f}x; "
                      f"CPU time per image {a} / {b} {r['cpu_time']:.3f}x)")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.threads:
        torch.set_num_threads(args.threads)
    option_strings = args.compare if args.compare else ['']
    labels = [chr(ord('A') + i) for i in range(len(option_strings))]
    with tempfile.TemporaryDirectory(prefix='zoo_benchmark_') as workdir:
        configs = [Config(label, s, args, workdir) for label, s in zip(labels, option_strings)]
        if args.reference:
            configs.insert(0, Config('R', '', args, workdir, classic=True))
        for cfg in configs:
            cfg.apply_threads()
            cfg.build_train()
            if args.mode in ('test', 'both'):
                cfg.build_test()
        results = benchmark(configs, args)
        print_table(results, configs)
        out = {'arguments': {k: v for k, v in vars(args).items()}, 'environment': environment(args),
               'configs': {c.label: {'options': 'classic reference step' if c.classic else c.options,
                                     'threads': c.threads, 'ddp': c.ddp} for c in configs},
               'results': results}
        if args.loss_check:
            out['loss_check'] = loss_check(configs, args)
            print(f"\nlosses after {args.loss_check} seeded iterations (mean of the last {out['loss_check']['window']}):")
            for label, rep in out['loss_check']['configs'].items():
                parts = ' '.join(f"{k}: {v['value']:.4f} (rel diff {v['rel_diff']:.3f})"
                                 for k, v in rep['last_window_mean'].items())
                print(f'  {label}: {parts}')
    with open(args.json, 'w') as f:
        json.dump(out, f, indent=2)
    print(f'\nresults written to {args.json}')
    return out


if __name__ == '__main__':
    main()
