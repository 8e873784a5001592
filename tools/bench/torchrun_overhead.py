"""Training throughput of one process vs N processes under torchrun at the same total batch, side by side.

    python -m tools.bench.torchrun_overhead --nproc 2 --batch 4 --images 32 --size 64 --epochs 3 --repeats 2

One process trains with --batch_size B and --single_threads intra-op threads (default N); torchrun trains N
processes (gloo on the CPU, NCCL with --gpu) with --batch_size B/N and one thread each, so both take the same
optimizer steps on the same cores. Runs alternate (1, N, N, 1, ...) so that machine noise hits both alike. Each run is a real train.py on a
synthetic paired dataset (tiny pix2pix by default; more train.py options after ``--``); the first epoch is warm-up
and images/s is counted over the others from the 'end of epoch' lines. Prints one line per run and the medians.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from datasets.make_synthetic_dataset import make_paired  # noqa: E402

EPOCH_LINE = re.compile(r'end of epoch (\d+) / \d+ \t time taken: ([\d.]+) s')


def train_command(args, nproc, data, ckpt, extra):
    batch = args.batch // nproc
    train = [os.path.join(ROOT, 'train.py'), '--model', 'pix2pix', '--netG', 'unet_32', '--ngf', '16', '--ndf', '16',
             '--dataroot', data, '--name', f'p{nproc}', '--checkpoints_dir', ckpt, '--overwrite',
             '--load_size', str(args.size), '--crop_size', str(args.size), '--batch_size', str(batch),
             '--n_epochs', str(args.epochs), '--n_epochs_decay', '0', '--save_epoch_freq', '1000',
             '--save_latest_freq', '0', '--num_threads', '0', '--display_id', '0', '--no_html',
             '--print_freq', '1000000', '--display_freq', '1000000', '--seed', '0']
    train += ['--gpu_ids', '0'] if args.gpu else ['--gpu_ids', '-1']
    if nproc == 1:
        return [sys.executable] + train + extra, str(args.single_threads or args.nproc)
    return [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}'] + train + extra, '1'


def images_per_second(args, nproc, data, ckpt, extra):
    cmd, threads = train_command(args, nproc, data, ckpt, extra)
    env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONPATH=ROOT)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    times = [float(t) for e, t in EPOCH_LINE.findall(out) if int(e) > 1]
    return args.images * len(times) / sum(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--nproc', type=int, default=2, help='processes of the torchrun run')
    p.add_argument('--batch', type=int, default=4, help='total batch per optimizer step (divisible by --nproc)')
    p.add_argument('--images', type=int, default=32, help='training images per epoch')
    p.add_argument('--size', type=int, default=64, help='image size (pixels)')
    p.add_argument('--epochs', type=int, default=3, help='epochs per run (the first is warm-up)')
    p.add_argument('--repeats', type=int, default=2, help='runs of each configuration')
    p.add_argument('--single_threads', type=int, default=0, help='intra-op threads of the one process (0: --nproc)')
    p.add_argument('--gpu', action='store_true', help='one GPU per process (NCCL) instead of the CPU (gloo)')
    args, extra = p.parse_known_args(argv)
    extra = [a for a in extra if a != '--']
    if args.batch % args.nproc:
        p.error('--batch must be divisible by --nproc')
    results = {1: [], args.nproc: []}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, 'data')
        make_paired(data, args.size, {'train': args.images}, seed=0)
        order = [1, args.nproc, args.nproc, 1] * ((args.repeats + 1) // 2)
        for nproc in order[:2 * args.repeats]:
            start = time.time()
            ips = images_per_second(args, nproc, data, os.path.join(tmp, 'ck'), extra)
            results[nproc].append(ips)
            print(f'{nproc} process(es) x batch {args.batch // nproc}: {ips:.1f} images/s '
                  f'(run of {time.time() - start:.0f} s)', flush=True)
    one, many = statistics.median(results[1]), statistics.median(results[args.nproc])
    print(f'median: 1 process {one:.1f} images/s, {args.nproc} processes {many:.1f} images/s '
          f'({many / one:.2f}x; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)')


if __name__ == '__main__':
    main()
