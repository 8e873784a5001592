"""``--fast``: the speed options the benchmarks measured best, per model family, device and phase.

This table is the one place the choice lives; docs/speed.md shows it (a test keeps the two equal). Each entry
comes from a side-by-side measurement against the classic code's step (``python -m tools.bench.benchmark
--reference``) whose command and figures are in docs/speed.md. Options the user gives (command line or
``--config``) always win over the table. Models that were never benchmarked get only the choices that change
no value and were measured to help on every model of that device (``GENERIC``).
"""
from dataclasses import dataclass, field

from util import hardware


@dataclass(frozen=True)
class Choice:
    """The options set for one (family, device, phase), from ``min_batch`` images per process on."""

    options: dict
    measured: str  # the docs/speed.md row it rests on, shown in the one-line report
    min_batch: int = 1
    needs_native_bf16: tuple = field(default=())  # options dropped on a CPU that only emulates bf16


# Which benchmarked network family a model trains (pix2pix: batch-norm U-Net + PatchGAN; cycle_gan: instance-norm
# ResNets). The DLIM variants and colorization train pix2pix's networks.
FAMILY = {'pix2pix': 'pix2pix', 'colorization': 'pix2pix', 'perceptual': 'pix2pix', 'adversarial_losses': 'pix2pix',
          'stochastic': 'pix2pix', 'cycle_gan': 'cycle_gan'}

# (family, device type, phase) -> choices, the largest min_batch first.
TABLE = {
    ('pix2pix', 'cpu', 'train'): (
        Choice({'amp': 'bf16', 'channels_last': True, 'fused_optimizer': True, 'keep_cpu_memory': True},
               'CPU fast path: 1.57x the classic step at 2 threads, 1.84x at 1; 247 ms with --keep_cpu_memory, the fastest row',
               needs_native_bf16=('amp', 'channels_last')),),
    ('cycle_gan', 'cpu', 'train'): (
        Choice({'amp': 'bf16', 'fused_optimizer': True, 'keep_cpu_memory': True},
               'CPU CycleGAN: bf16 + fused Adam 1.87x the classic step, 1.72x with channels_last added',
               needs_native_bf16=('amp',)),),
    ('pix2pix', 'cpu', 'test'): (
        Choice({'amp': 'bf16', 'channels_last': True, 'keep_cpu_memory': True},
               'CPU inference: bf16 + channels_last 3.0x fp32 at batch 8',
               needs_native_bf16=('amp', 'channels_last')),),
    ('pix2pix', 'cuda', 'train'): (
        Choice({'channels_last': True}, 'H200: channels_last 1.29x at batch 16 (bf16 adds 1%), 1.09x at batch 1'),),
    ('cycle_gan', 'cuda', 'train'): (
        Choice({'amp': 'bf16'}, 'H200: bf16 1.55x at batch 16 (channels_last 0.84x: instance norm)', min_batch=2),
        Choice({}, 'H200 at batch 1: no option beat the defaults (bf16 0.98x, channels_last 1.01x)')),
    ('pix2pix', 'cuda', 'test'): (
        Choice({'amp': 'fp16', 'channels_last': True}, 'H200 inference: fp16 + channels_last 1.12x at batch 16'),),
    ('cycle_gan', 'cuda', 'test'): (
        Choice({}, 'H200 inference: no option beat the defaults (1.00x)'),),
}

GENERIC = {
    ('cpu', 'train'): Choice({'fused_optimizer': True, 'keep_cpu_memory': True},
                             'not benchmarked for this model: fused optimizer (rounding only) and kept memory (no change)'),
    ('cpu', 'test'): Choice({'keep_cpu_memory': True}, 'not benchmarked for this model: only --keep_cpu_memory'),
    ('cuda', 'train'): Choice({}, 'not benchmarked for this model on a GPU: defaults'),
    ('cuda', 'test'): Choice({}, 'not benchmarked for this model on a GPU: defaults'),
}


def family_of(opt):
    """The benchmarked family of ``opt``'s networks, or None. The single-generator test model is judged by its G."""
    if opt.model == 'test':
        net_g = str(getattr(opt, 'netG', ''))
        return 'pix2pix' if net_g.startswith('unet') else 'cycle_gan' if net_g.startswith('resnet') else None
    return FAMILY.get(opt.model)


def choose(opt, phase, native_bf16=None):
    """The Choice for ``opt`` on its device, and the options dropped because the CPU emulates bf16."""
    device = 'cuda' if opt.device.type == 'cuda' else 'cpu'
    entries = TABLE.get((family_of(opt), device, phase), (GENERIC[(device, phase)],))
    choice = next(c for c in entries if opt.batch_size >= c.min_batch)
    dropped = ()
    if device == 'cpu' and choice.needs_native_bf16:
        native = hardware.cpu_has_native_bf16() if native_bf16 is None else native_bf16
        dropped = () if native else choice.needs_native_bf16
    return choice, dropped


def flag(name, value):
    if value is True:
        return f'--{name}'
    if value is False:
        return f'--no_{name}'
    return f'--{name} {value}'


def apply(opt, phase, explicit, native_bf16=None):
    """Set the table's options on ``opt`` where the user gave none (``explicit``: option names given on the command
    line or in --config); returns the one-line report of what was chosen."""
    choice, dropped = choose(opt, phase, native_bf16)
    chosen, kept = [], []
    for name, value in choice.options.items():
        if name in dropped or not hasattr(opt, name):
            continue
        if name in explicit:
            kept.append(flag(name, getattr(opt, name)))
            continue
        setattr(opt, name, value)
        chosen.append(flag(name, value))
    where = f"{opt.model} on {'the GPU' if opt.device.type == 'cuda' else 'the CPU'}, {phase}"
    text = f"--fast ({where}): {' '.join(chosen) or 'the defaults'} ({choice.measured}; docs/speed.md)"
    if kept:
        text += f"; yours kept: {' '.join(kept)}"
    if dropped:
        text += f"; no {', '.join('--' + d for d in dropped)}: this CPU has no native bf16"
    return text


def markdown_rows():
    """The table as the rows docs/speed.md shows: family, device, phase, from batch, options, measured."""
    rows = []
    for (family, device, phase), entries in TABLE.items():
        for c in entries:
            options = ' '.join(flag(k, v) for k, v in c.options.items()) or 'defaults'
            rows.append(f'| {family} | {device} | {phase} | {c.min_batch} | `{options}` | {c.measured} |')
    for (device, phase), c in GENERIC.items():
        options = ' '.join(flag(k, v) for k, v in c.options.items()) or 'defaults'
        rows.append(f'| other models | {device} | {phase} | 1 | `{options}` | {c.measured} |')
    return rows
