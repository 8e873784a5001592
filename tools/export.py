"""Export the trained generator(s) of a run to ONNX or TorchScript, with a parity check and a conventions JSON.

    python -m tools.export --name facades_pix2pix --format onnx [--opset 17] [--dynamic_batch]
    python -m tools.export --name horse2zebra --format torchscript --checkpoints_dir ./checkpoints

Architecture options come from checkpoints/NAME/train_opt.yaml (as in test.py). Every exported file lands next to
the checkpoints, ``<epoch>_net_<G>.onnx`` or ``.pt``, with ``<that file name>.json`` beside it describing the input and
output (shape, channels, value range, size multiple, preprocessing). Each export is checked by running it
(onnxruntime, or torch.jit.load for TorchScript) on the same random inputs as PyTorch: the largest absolute
difference must stay within --atol (1e-4; times the largest |output| when that exceeds 1, as for untrained
generators), at batch sizes 1 and 2 when --dynamic_batch, and for image inputs also
at a second image size (height and width are dynamic: any multiple of the JSON's size_multiple). Networks are
exported in eval mode (batch norm running statistics, no dropout).

Which networks each model exports is the EXPORTS registry below: a model not listed there uses the entry of the
nearest parent class (e.g. perceptual -> pix2pix); a new model adds one function with @export_for('name').
"""
import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from models import entry_for_model
from models.base_model import unwrap
from models.inference import size_multiple
from options.inference_options import load_trained_model
from util.cli import run_cli
from util.errors import ExportError, OptionError

DEFAULT_OPSET = 17
MIN_OPSET = 7  # the oldest opset torch.onnx and onnxruntime implement
IMAGE_RANGE = [-1.0, 1.0]
IMAGE_PREPROCESS = 'RGB (or L) 8-bit pixels p -> p / 127.5 - 1, NCHW float32'
IMAGE_POSTPROCESS = 'clamp to [-1, 1], (x + 1) * 127.5 -> 8-bit pixels'


@dataclass
class ExportTarget:
    """One network to export: ``module(input)`` with inputs made by ``make_input(batch, generator[, (H, W)])``."""
    label: str                     # file stem: <epoch>_net_<label>
    module: nn.Module
    make_input: object             # callable (batch, generator, size=None) -> tensor
    conventions: dict = field(default_factory=dict)
    spatial_sizes: tuple = ()      # (H, W) of a second input size the graph must accept (image inputs)
    hints: dict = field(default_factory=dict)  # static facts for the custom ONNX symbolics (e.g. cumprod_length)


EXPORTS = {}


def export_for(*names):
    """Decorator registering ``fn(model, opt) -> [ExportTarget]`` for the given --model names."""
    def register(fn):
        for name in names:
            EXPORTS[name] = fn
        return fn
    return register


def export_targets(model, opt):
    """The ExportTargets of ``model``: the EXPORTS entry of its --model name or of its nearest parent class."""
    export = entry_for_model(EXPORTS, model, opt.model)
    if export is not None:
        return export(model, opt)
    raise ExportError(f"--model {opt.model} has no exportable generator registered (tools/export.py EXPORTS "
                      f"knows {', '.join(sorted(EXPORTS))})")


def image_target(label, net, in_nc, out_nc, size, description, in_range=IMAGE_RANGE, out_range=IMAGE_RANGE,
                 preprocess=IMAGE_PREPROCESS, postprocess=IMAGE_POSTPROCESS, extra=None):
    multiple = size_multiple(net)
    size = max(multiple, size // multiple * multiple)

    def make_input(batch, gen, hw=(size, size)):
        return torch.rand(batch, in_nc, *hw, generator=gen) * (in_range[1] - in_range[0]) + in_range[0]

    conventions = {
        'description': description,
        'input': {'name': 'input', 'shape': ['batch', in_nc, 'height', 'width'], 'channels': in_nc,
                  'value_range': list(in_range), 'size_multiple': multiple, 'trained_size': size,
                  'preprocess': preprocess},
        'output': {'name': 'output', 'shape': ['batch', out_nc, 'height', 'width'], 'channels': out_nc,
                   'value_range': list(out_range), 'postprocess': postprocess},
    }
    conventions.update(extra or {})
    return ExportTarget(label, net, make_input, conventions, spatial_sizes=(size + multiple, size))


def _direction(opt):
    return ('A', 'B') if opt.direction == 'AtoB' else ('B', 'A')


@export_for('pix2pix')
def _pix2pix(model, opt):
    src, dst = _direction(opt)
    return [image_target('G', unwrap(model.netG), opt.input_nc, opt.output_nc, opt.crop_size,
                         f'{opt.model} generator: domain {src} image -> domain {dst} image ({opt.netG})')]


@export_for('stochastic')
def _stochastic(model, opt):
    target = _pix2pix(model, opt)[0]
    target.conventions['note'] = ('deterministic export: the test-time randomness (--stochastic_mode '
                                  f'{opt.stochastic_mode}) is not part of the graph')
    return [target]


@export_for('colorization')
def _colorization(model, opt):
    return [image_target(
        'G', unwrap(model.netG), opt.input_nc, opt.output_nc, opt.crop_size,
        'colorization generator: Lab lightness L -> ab chrominance',
        in_range=[-1.0, 1.0], out_range=[-1.0, 1.0],
        preprocess='RGB -> CIE Lab (skimage.color.rgb2lab); input = L / 50 - 1',
        postprocess='ab = output * 110; RGB = skimage.color.lab2rgb(concat(L, ab))')]


@export_for('cycle_gan')
def _cycle_gan(model, opt):
    return [image_target('G_A', unwrap(model.netG_A), opt.input_nc, opt.output_nc, opt.crop_size,
                         'CycleGAN G_A: domain A image -> domain B image'),
            image_target('G_B', unwrap(model.netG_B), opt.output_nc, opt.input_nc, opt.crop_size,
                         'CycleGAN G_B: domain B image -> domain A image')]


@export_for('test')
def _test(model, opt):
    label = 'G' + opt.model_suffix
    return [image_target(label, unwrap(model.netG), opt.input_nc, opt.output_nc, opt.crop_size,
                         f'generator {label}: input image -> translated image ({opt.netG})')]


@export_for('liss')
def _liss(model, opt):
    targets = []
    for label, net, in_nc, out_nc, what in (('G_A', model.netG_A, opt.input_nc, opt.output_nc, 'A -> B'),
                                            ('G_B', model.netG_B, opt.output_nc, opt.input_nc, 'B -> A')):
        net = unwrap(net)
        translation = nn.Sequential(net.encoder, net.decoder)  # the auxiliary heads are not part of the translation
        targets.append(image_target(label, translation, in_nc, out_nc, opt.crop_size,
                                    f'LiSS translation {what} (shared encoder + translation decoder)'))
    return targets


class OmniPainter(nn.Module):
    """x -> flooded image: encoder, task heads as the SPADE condition, translation decoder towards f (flooded)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, x):
        z = self.generator.encode(x)
        return self.generator.translate(z, 'f')


@export_for('omnigan')
def _omnigan(model, opt):
    G = unwrap(model.netG)
    if 't' not in G.tasks:
        raise ExportError(f"this omnigan run has no painter: --tasks {opt.tasks} has no t (translation)")
    return [image_target('G_painter', OmniPainter(G), opt.input_nc, opt.input_nc, opt.crop_size,
                         'omnigan painter: non-flooded image -> flooded image (translation decoder towards f, conditioned '
                         'on the predicted ' + ','.join(G.condition_tasks) + ' maps)')]


class NoiseToImage(nn.Module):
    """z -> image with the fixed per-layer noise buffers (noise_mode='const'): a deterministic graph."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, z):
        return self.generator(z, noise_mode='const')


@export_for('blobgan')
def _blobgan(model, opt):
    G = unwrap(model.netG_ema)
    h, w = G.out_shape

    def make_input(batch, gen, hw=None):
        return torch.randn(batch, G.noise_dim, generator=gen)

    conventions = {
        'description': 'BlobGAN generator (G_ema): Gaussian noise -> layout -> scene image; fixed layer noise',
        'input': {'name': 'input', 'shape': ['batch', G.noise_dim], 'distribution': 'standard normal',
                  'value_range': None},
        'output': {'name': 'output', 'shape': ['batch', 3, h, w], 'channels': 3, 'value_range': IMAGE_RANGE,
                   'postprocess': IMAGE_POSTPROCESS},
    }
    return [ExportTarget('G_ema', NoiseToImage(G), make_input, conventions,
                         hints={'cumprod_length': G.layout_net.n_blobs})]


@export_for('gan')
def _gan(model, opt):
    if getattr(model, 'conditional', False):
        raise ExportError('--condition class generators take (noise, class labels); the exporter handles one-input '
                          'networks only: export an unconditional run')
    G = unwrap(model.netG)

    def make_input(batch, gen, hw=None):
        return model.sample_noise(batch, gen, 'cpu')

    z = make_input(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out_shape = list(G.eval()(z).shape[1:])
    conventions = {
        'description': f'GAN generator ({opt.netG}): noise -> image',
        'input': {'name': 'input', 'shape': ['batch'] + list(z.shape[1:]), 'distribution': opt.noise,
                  'truncation': getattr(opt, 'truncation', None), 'value_range': None},
        'output': {'name': 'output', 'shape': ['batch'] + out_shape, 'channels': out_shape[0],
                   'value_range': IMAGE_RANGE, 'postprocess': IMAGE_POSTPROCESS},
    }
    return [ExportTarget('G', G, make_input, conventions)]


# ---------------------------------------------------------------------------------------------- export + check

def blocking_operator(exc):
    """The operator named in an exporter error ('aten::foo', 'aten.foo.default'), or None."""
    text = str(exc)
    for pattern in (r"operator '([\w:.]+)'", r'(aten[:.]{1,2}[\w.]+)', r'(prims[:.]{1,2}[\w.]+)',
                    r"[Uu]nsupported[^']*'([\w:.]+)'"):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return None


def _export_failed(target, fmt, opset, exc):
    op = blocking_operator(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = first.split(' [Caused by')[0].strip().rstrip('.')  # the exporter's reason, without its graph dump
    where = f' at opset {opset}' if fmt == 'onnx' else ''
    if op:
        return ExportError(f"cannot export {target.label} to {fmt}: operator {op} is not supported{where} "
                           f"({type(exc).__name__})")
    return ExportError(f"cannot export {target.label} to {fmt}{where}: {first[:300]}")


_HINTS = {}  # ExportTarget.hints of the export in progress


def _cumprod_symbolic(g, self, dim, dtype):
    """aten::cumprod (BlobGAN's alpha compositing) for the tracing exporter, which has none: a chain of Mul over
    the slices of ``dim``, whose length is fixed by the network (the number of blobs)."""
    from torch.onnx import symbolic_helper as sh
    d = sh._get_const(dim, 'i', 'dim')
    sizes = sh._get_tensor_sizes(self)
    k = sizes[d] if sizes and -len(sizes) <= d < len(sizes) else None
    if k is None:  # shape inference lost the axis: the network told its length (ExportTarget.hints)
        k = _HINTS.get('cumprod_length')
    if k is None:
        raise RuntimeError("Exporting the operator 'aten::cumprod' is not supported along an axis of unknown length")
    parts = [sh._slice_helper(g, self, axes=[d], starts=[i], ends=[i + 1]) for i in range(k)]
    out = [parts[0]]
    for part in parts[1:]:
        out.append(g.op('Mul', out[-1], part))
    result = g.op('Concat', *out, axis_i=d)
    result.setType(self.type())
    return result


def _static_last_dim(value, op):
    from torch.onnx import symbolic_helper as sh
    sizes = sh._get_tensor_sizes(value)
    n = sizes[-1] if sizes else None
    if n is None:
        raise RuntimeError(f"Exporting the operator '{op}' is not supported for an input of unknown size")
    return n


def _diag_embed_symbolic(g, self, offset, dim1, dim2):
    """aten::diag_embed (BlobGAN's blob covariances) for the default offset/dims: x[..., None] * eye(n)."""
    from torch.onnx import symbolic_helper as sh
    if (sh._get_const(offset, 'i', 'offset'), sh._get_const(dim1, 'i', 'dim1'),
            sh._get_const(dim2, 'i', 'dim2')) != (0, -2, -1):
        raise RuntimeError("Exporting the operator 'aten::diag_embed' is supported with offset 0 on the last two dims only")
    n = _static_last_dim(self, 'aten::diag_embed')
    eye = g.op('Constant', value_t=torch.eye(n))
    out = g.op('Mul', sh._unsqueeze_helper(g, self, [-1]), eye)
    sizes = sh._get_tensor_sizes(self)
    out.setType(self.type().with_sizes(list(sizes) + [n]))  # keep static shapes for the ops downstream
    return out


def _linalg_inv_symbolic(g, self):
    """aten::linalg_inv of 2 x 2 matrices (BlobGAN's blob covariances): [[d, -b], [-c, a]] / (ad - bc)."""
    from torch.onnx import symbolic_helper as sh
    if _static_last_dim(self, 'aten::linalg_inv') != 2:
        raise RuntimeError("Exporting the operator 'aten::linalg_inv' is supported for 2 x 2 matrices only")

    def entry(i, j):
        row = sh._slice_helper(g, self, axes=[-2], starts=[i], ends=[i + 1])
        return sh._slice_helper(g, row, axes=[-1], starts=[j], ends=[j + 1])
    a, b, c, d = entry(0, 0), entry(0, 1), entry(1, 0), entry(1, 1)
    det = g.op('Sub', g.op('Mul', a, d), g.op('Mul', b, c))
    top = g.op('Concat', d, g.op('Neg', b), axis_i=-1)
    bottom = g.op('Concat', g.op('Neg', c), a, axis_i=-1)
    out = g.op('Div', g.op('Concat', top, bottom, axis_i=-2), det)
    out.setType(self.type())
    return out


def export_onnx(target, path, example, opset, dynamic_batch, exporter='torchscript'):
    kwargs = dict(input_names=['input'], output_names=['output'], opset_version=opset)
    axes = {}
    if dynamic_batch:
        axes[0] = 'batch'
    if target.spatial_sizes:  # image inputs: any height and width that are multiples of the size multiple
        axes.update({2: 'height', 3: 'width'})
    if exporter == 'dynamo':
        kwargs['dynamo'] = True
        if axes:
            kwargs['dynamic_shapes'] = ({k: torch.export.Dim.AUTO for k in axes},)
    else:
        kwargs['dynamo'] = False
        torch.onnx.register_custom_op_symbolic('aten::cumprod', _cumprod_symbolic, 9)
        torch.onnx.register_custom_op_symbolic('aten::diag_embed', _diag_embed_symbolic, 9)
        torch.onnx.register_custom_op_symbolic('aten::linalg_inv', _linalg_inv_symbolic, 9)
        if axes:
            kwargs['dynamic_axes'] = {'input': dict(axes), 'output': dict(axes)}
    import warnings
    _HINTS.clear()
    _HINTS.update(target.hints)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(target.module, (example,), path, **kwargs)
    finally:
        _HINTS.clear()


def export_torchscript(target, path, example):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(target.module, (example,), check_trace=False)
    traced.save(path)


def load_runner(path, fmt, threads=None):
    """A function numpy input -> numpy output running the exported file; ExportError (one line) when the runtime
    refuses the file (e.g. an opset onnxruntime does not implement)."""
    if fmt == 'onnx':
        import onnxruntime as ort
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        except Exception as exc:  # onnxruntime's InvalidGraph, NotImplemented, Fail: no common base class
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            reason = reason.split(' failed:', 1)[-1]  # drop 'Load model from <path>'
            raise ExportError(f'onnxruntime cannot load the export of {os.path.basename(path).split(".")[0]}: '
                              f'{reason[:300]}') from exc
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        module = torch.jit.load(path, map_location='cpu').eval()

    def run(x):
        with torch.inference_mode():
            return module(torch.from_numpy(x)).numpy()
    return run


def check_parity(target, path, fmt, batches, atol, seed=0):
    """(largest |exported - PyTorch|, largest |PyTorch output|) over the batch sizes ``batches`` (and, for image
    inputs, a second image size at batch size 1).

    ExportError when the difference exceeds ``atol`` times the output scale max(1, largest |output|): 1e-4 absolute
    for images in [-1, 1]; an untrained generator whose outputs reach +-10 is allowed ten times that, its float32
    rounding being ten times larger too."""
    run = load_runner(path, fmt)
    gen = torch.Generator().manual_seed(seed)
    worst, scale = 0.0, 1.0
    cases = [(b, None) for b in batches] + ([(1, target.spatial_sizes)] if target.spatial_sizes else [])
    for b, hw in cases:
        x = target.make_input(b, gen) if hw is None else target.make_input(b, gen, hw)
        with torch.inference_mode():
            expected = target.module(x).float().numpy()
        try:
            got = run(x.numpy())
        except Exception as exc:  # the runtime rejects the file (e.g. a fixed batch axis)
            raise ExportError(f'{fmt} export of {target.label} does not run on input {tuple(x.shape)}: '
                              f'{str(exc).strip().splitlines()[0][:300]}') from exc
        if got.shape != expected.shape:
            raise ExportError(f'{fmt} export of {target.label}: output shape {got.shape} for input {tuple(x.shape)}, '
                              f'PyTorch gives {expected.shape}')
        worst = max(worst, float(np.abs(got - expected).max()))
        scale = max(scale, float(np.abs(expected).max()))
    if not worst <= atol * scale:
        raise ExportError(f'{fmt} export of {target.label} differs from PyTorch by {worst:.3g} (> --atol {atol} x '
                          f'output scale {scale:.3g})')
    return worst, scale


def benchmark(target, path, fmt, iters, threads, batch=1):
    """Mean ms per image of the exported file and of PyTorch eager on the same input (``iters`` alternating timed
    runs of each after two warm-up runs, both with ``threads`` intra-op threads)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        run = load_runner(path, fmt, threads=threads)
        x = target.make_input(batch, torch.Generator().manual_seed(2))
        xn = x.numpy()

        def eager():
            with torch.inference_mode():
                target.module(x)

        runners = (('pytorch_eager', eager), (fmt, lambda: run(xn)))
        totals = {name: 0.0 for name, _ in runners}
        for _, fn in runners:
            for _ in range(2):
                fn()
        for _ in range(iters):  # alternate the runtimes so that machine load affects both alike
            for name, fn in runners:
                t0 = time.perf_counter()
                fn()
                totals[name] += time.perf_counter() - t0
        timings = {name + '_ms_per_image': 1000 * total / iters / batch for name, total in totals.items()}
    finally:
        torch.set_num_threads(previous)
    timings.update(threads=threads, iters=iters, batch=batch, input_shape=list(x.shape))
    return timings


def export_one(target, folder, stem, fmt, opset, dynamic_batch, atol, exporter='torchscript', extra=None,
               bench_iters=0, bench_threads=1):
    """Write ``<stem>.onnx|.pt`` and ``<stem>.onnx|.pt.json`` in ``folder``; returns the JSON record."""
    target.module.eval().float().to(memory_format=torch.contiguous_format)
    for p in target.module.parameters():
        p.requires_grad_(False)
    ext = '.onnx' if fmt == 'onnx' else '.pt'
    path = os.path.join(folder, stem + ext)
    tmp = path + '.tmp'
    example = target.make_input(1, torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    try:
        if fmt == 'onnx':
            export_onnx(target, tmp, example, opset, dynamic_batch, exporter)
        else:
            export_torchscript(target, tmp, example)
    except ExportError:
        raise
    except Exception as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise _export_failed(target, fmt, opset, exc) from exc
    export_s = time.perf_counter() - t0
    batches = (1, 2) if (dynamic_batch or fmt == 'torchscript') else (1,)
    json_path = path + '.json'
    try:  # everything on the .tmp files: a failure leaves an earlier export and its JSON as they were
        diff, scale = check_parity(target, tmp, fmt, batches, atol)
        record = _record(target, path, fmt, opset, exporter, dynamic_batch, batches, diff, scale, atol, export_s)
        record.update(extra or {})
        if bench_iters > 0:
            record['benchmark'] = benchmark(target, tmp, fmt, bench_iters, bench_threads)
        with open(json_path + '.tmp', 'w') as f:
            json.dump(record, f, indent=2)
    except BaseException:
        for leftover in (tmp, json_path + '.tmp'):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    os.replace(tmp, path)
    os.replace(json_path + '.tmp', json_path)
    return dict(record, path=path, json=json_path)


def _record(target, path, fmt, opset, exporter, dynamic_batch, batches, diff, scale, atol, export_s):
    """The JSON beside an exported file: the target's conventions, the format and the parity check."""
    record = dict(target.conventions)
    record.update({
        'file': os.path.basename(path), 'format': fmt, 'dynamic_batch': bool(dynamic_batch or fmt == 'torchscript'),
        'opset': opset if fmt == 'onnx' else None, 'onnx_exporter': exporter if fmt == 'onnx' else None,
        'mode': 'eval (batch norm running statistics, dropout off)',
        'parity': {'max_abs_diff': diff, 'atol': atol, 'output_scale': scale, 'tolerance': atol * scale,
                   'batch_sizes': list(batches),
                   'also_checked_size': list(target.spatial_sizes) or None,
                   'runtime': 'onnxruntime CPU' if fmt == 'onnx' else 'torch.jit.load'},
        'export_seconds': round(export_s, 3), 'torch': torch.__version__,
    })
    return record


def parse_args(argv):
    p = argparse.ArgumentParser(description='Export the trained generator(s) of a run to ONNX or TorchScript '
                                            '(remaining options are the run\'s, as for test.py)',
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--format', choices=['onnx', 'torchscript'], default='onnx', help='file format')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET, help=f'ONNX opset version ({MIN_OPSET} or above)')
    p.add_argument('--dynamic_batch', action='store_true',
                   help='make the batch axis dynamic (checked at batch sizes 1 and 2); TorchScript is always dynamic')
    p.add_argument('--onnx_exporter', choices=['torchscript', 'dynamo'], default='torchscript',
                   help="torch.onnx exporter: 'torchscript' (tracing, fast, opsets 7-20) or 'dynamo' (torch.export)")
    p.add_argument('--atol', type=float, default=1e-4,
                   help='largest |exported - PyTorch| output difference allowed, times max(1, largest |output|)')
    p.add_argument('--benchmark', type=int, default=0, metavar='N',
                   help='after exporting, time N runs of the file and of PyTorch eager (ms/image, saved in the JSON)')
    p.add_argument('--bench_threads', type=int, default=torch.get_num_threads(),
                   help='intra-op threads of both runtimes for --benchmark')
    p.add_argument('--out_dir', type=str, default=None, help='folder for the files (default: the run\'s checkpoint folder)')
    return p.parse_known_args(argv)


def check_args(args):
    """Refuse bad values before the run is loaded or anything is written (OptionError: one line)."""
    if args.format == 'onnx':
        import onnx
        newest = onnx.defs.onnx_opset_version()
        if not MIN_OPSET <= args.opset <= newest:
            raise OptionError(f'--opset {args.opset}: the ONNX exporter writes opsets {MIN_OPSET} to {newest} (the '
                              f'newest the installed onnx knows); the default {DEFAULT_OPSET} suits onnxruntime')
    if args.benchmark < 0:
        raise OptionError(f'--benchmark {args.benchmark}: give the number of timed runs (0: no benchmark)')
    if args.benchmark and args.bench_threads < 1:
        raise OptionError(f'--bench_threads {args.bench_threads}: give at least 1 intra-op thread')
    if not args.atol > 0:
        raise OptionError(f'--atol {args.atol}: the parity tolerance must be above 0')


def main(argv=None):
    args, rest = parse_args(sys.argv[1:] if argv is None else argv)
    if '--name' not in rest and not any(a.startswith('--name=') for a in rest):
        raise ValueError('--name RUN is required (the training run whose generator(s) to export)')
    check_args(args)
    with torch.no_grad():  # not set_grad_enabled(False): callers in the same process (tests) keep their mode
        return export_run(args, rest)


def export_run(args, rest):
    opt, model = load_trained_model(rest + ['--gpu_ids', '-1'])
    folder = args.out_dir or os.path.join(opt.checkpoints_dir, opt.name)
    os.makedirs(folder, exist_ok=True)
    label = model.checkpoint_label(opt)
    records = []
    for target in export_targets(model, opt):
        record = export_one(target, folder, f'{label}_net_{target.label}', args.format, args.opset,
                            args.dynamic_batch, args.atol, args.onnx_exporter,
                            extra={'run': opt.name, 'model': opt.model, 'epoch': label},
                            bench_iters=args.benchmark, bench_threads=args.bench_threads)
        print(f"exported {target.label}: {record['path']} (+ .json); max |diff| vs PyTorch "
              f"{record['parity']['max_abs_diff']:.2e} at batch sizes {record['parity']['batch_sizes']}")
        if 'benchmark' in record:
            b = record['benchmark']
            print(f"  {args.format}: {b[args.format + '_ms_per_image']:.2f} ms/image, PyTorch eager: "
                  f"{b['pytorch_eager_ms_per_image']:.2f} ms/image (input {b['input_shape']}, {b['threads']} threads)")
        records.append(record)
    return records


if __name__ == '__main__':
    run_cli(main)
