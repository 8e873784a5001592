"""tools/export.py: every image model's generator(s) to ONNX / TorchScript, checked against PyTorch."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import ROOT
from tiny_runs import has_model, make_run
from options.inference_options import load_trained_model
from tools import export

EXPECTED = {'p2p': ['G'], 'stoch': ['G'], 'color': ['G'], 'cyc': ['G_A', 'G_B'], 'liss': ['G_A', 'G_B'],
            'omni': ['G_painter'], 'blob': ['G_ema']}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('export_runs'))


def run_export(ck, name, *extra):
    return export.main(['--name', name, '--checkpoints_dir', ck, *extra])


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_onnx_dynamic_batch_every_model(root, name):
    ck = make_run(root, name)
    if name == 'blob':  # StyleGAN2 modulated convolutions compute their kernels at run time
        with pytest.raises(export.ExportError, match=r'cannot export G_ema to onnx.*convolution for kernel of unknown'):
            run_export(ck, name, '--format', 'onnx', '--dynamic_batch')
        assert not [f for f in os.listdir(os.path.join(ck, name)) if '.onnx' in f]
        return
    records = run_export(ck, name, '--format', 'onnx', '--dynamic_batch')
    assert torch.is_grad_enabled()  # in-process callers keep autograd
    assert [os.path.basename(r['path']) for r in records] == [f'latest_net_{g}.onnx' for g in EXPECTED[name]]
    for r in records:
        with open(r['path'] + '.json') as f:
            meta = json.load(f)
        assert meta['parity']['batch_sizes'] == [1, 2]
        assert 0 <= meta['parity']['max_abs_diff'] <= 1e-4
        assert meta['dynamic_batch'] and meta['opset'] == 17 and meta['model'] == r['model']
        assert meta['output']['value_range'] == [-1.0, 1.0]
        if name != 'blob':
            assert meta['input']['size_multiple'] in (4, 32) and meta['input']['channels'] in (1, 3)


def ort_run(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def test_onnx_matches_the_loaded_model_independently(root):
    """Re-load the runs as test.py would and compare at a batch size and image size the export never saw."""
    ck = make_run(root, 'cyc')
    run_export(ck, 'cyc', '--dynamic_batch')
    _, model = load_trained_model(['--name', 'cyc', '--checkpoints_dir', ck, '--eval'])
    x = torch.rand(3, 3, 40, 48) * 2 - 1  # 40 and 48 are multiples of 4, the resnet size multiple
    with torch.no_grad():
        expected = model.netG_B(x).numpy()
    got = ort_run(os.path.join(ck, 'cyc', 'latest_net_G_B.onnx'), x)
    assert np.abs(got - expected).max() < 1e-4

    ck = make_run(root, 'blob')  # BlobGAN through TorchScript (its ONNX export stops at the modulated convolutions)
    run_export(ck, 'blob', '--format', 'torchscript')
    _, model = load_trained_model(['--name', 'blob', '--checkpoints_dir', ck])
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = model.netG_ema(z, noise_mode='const').numpy()
        got = torch.jit.load(os.path.join(ck, 'blob', 'latest_net_G_ema.pt'))(z).numpy()
    assert got.shape == (3, 3, 32, 32) and np.abs(got - expected).max() < 1e-4


def test_fixed_batch_onnx_rejects_another_batch_size(root):
    ck = make_run(root, 'p2p')
    records = run_export(ck, 'p2p', '--opset', '13')
    assert records[0]['parity']['batch_sizes'] == [1] and records[0]['opset'] == 13
    with pytest.raises(Exception):
        ort_run(records[0]['path'], torch.zeros(2, 3, 32, 32))


@pytest.mark.parametrize('name', ['cyc', 'blob'])
def test_torchscript_loads_back_and_matches(root, name):
    ck = make_run(root, name)
    records = run_export(ck, name, '--format', 'torchscript')
    for r in records:
        assert r['path'].endswith('.pt') and r['parity']['max_abs_diff'] <= 1e-4
        loaded = torch.jit.load(r['path'])
        x = torch.randn(2, 8) if name == 'blob' else torch.rand(2, 3, 32, 32) * 2 - 1
        assert loaded(x).shape[0] == 2


class FourierNet(nn.Module):
    def forward(self, x):
        return torch.fft.fft2(x).real


def test_unexportable_operator_is_named_in_one_line(tmp_path):
    target = export.ExportTarget('G', FourierNet(), lambda b, g: torch.rand(b, 3, 8, 8, generator=g), {})
    with pytest.raises(export.ExportError) as info:
        export.export_one(target, str(tmp_path), 'x', 'onnx', 17, True, 1e-4)
    message = str(info.value)
    assert '\n' not in message and 'aten::fft_fft2' in message and 'opset 17' in message
    assert not os.listdir(tmp_path)  # no half-written file left behind


def test_registry_falls_back_to_the_parent_model(root):
    """perceptual subclasses pix2pix: it exports through pix2pix's entry without one of its own."""
    assert 'perceptual' not in export.EXPORTS
    ck = make_run(root, 'p2p')
    _, model = load_trained_model(['--name', 'p2p', '--checkpoints_dir', ck])

    class Child(type(model)):
        pass
    model.__class__ = Child
    targets = export.export_targets(model, model.opt)
    assert [t.label for t in targets] == ['G']


def test_cli_errors_are_one_line(root, tmp_path):
    """Bad values are refused before the run is loaded: exit status 2, one stderr line, nothing written."""
    ck = make_run(root, 'p2p')
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = str(tmp_path / 'out')
    for args, needle in ((['--name', 'missing'], "no run 'missing'"),
                         (['--name', 'p2p', '--model', 'cycle_gan'], 'trained with --model pix2pix'),
                         (['--name', 'p2p', '--opset', '5'], '--opset 5: the ONNX exporter writes opsets 7 to'),
                         (['--name', 'p2p', '--benchmark', '1', '--bench_threads', '0'],
                          '--bench_threads 0: give at least 1 intra-op thread'),
                         (['--name', 'p2p', '--atol', '0'], '--atol 0.0: the parity tolerance must be above 0')):
        proc = subprocess.run([sys.executable, '-m', 'tools.export', '--checkpoints_dir', ck, '--out_dir', out,
                               *args], cwd=ROOT, env=env, capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
        assert not os.path.exists(out)


def test_a_failed_benchmark_or_runtime_keeps_the_earlier_export_and_its_json(root, tmp_path, monkeypatch):
    """Every file is made as .tmp and moved in place at the end: a failure leaves the earlier pair as it was."""
    ck = make_run(root, 'p2p')
    out = str(tmp_path / 'out')
    run_export(ck, 'p2p', '--out_dir', out)
    before = {f: open(os.path.join(out, f), 'rb').read() for f in os.listdir(out)}
    assert sorted(before) == ['latest_net_G.onnx', 'latest_net_G.onnx.json']

    def broken_benchmark(*args):
        raise RuntimeError('benchmark failed')
    monkeypatch.setattr(export, 'benchmark', broken_benchmark)
    with pytest.raises(RuntimeError, match='benchmark failed'):
        run_export(ck, 'p2p', '--out_dir', out, '--benchmark', '1', '--opset', '13')
    assert {f: open(os.path.join(out, f), 'rb').read() for f in os.listdir(out)} == before
    # a file onnxruntime refuses (its InvalidGraph) is one ExportError line, not the runtime's traceback
    bad = tmp_path / 'bad_net_G.onnx'
    bad.write_bytes(b'not an onnx graph')
    with pytest.raises(export.ExportError, match='onnxruntime cannot load the export of bad_net_G') as info:
        export.load_runner(str(bad), 'onnx')
    assert '\n' not in str(info.value)


def test_scripts_forwarder_runs_the_tool(root, tmp_path):
    ck = make_run(root, 'p2p')
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'export.py'), '--name', 'p2p',
                           '--checkpoints_dir', ck, '--format', 'torchscript', '--out_dir', str(tmp_path)],
                          cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'python -m tools.export' in proc.stderr and os.path.isfile(tmp_path / 'latest_net_G.pt.json')


def test_gan_generator_exports_from_noise(root):
    if not has_model('gan'):
        pytest.skip('the gan model is not in this checkout yet')
    ck = make_run(root, 'gan')
    for fmt in ('onnx', 'torchscript'):
        record = run_export(ck, 'gan', '--format', fmt, '--dynamic_batch')[0]
        assert record['parity']['max_abs_diff'] <= 1e-4 and record['parity']['batch_sizes'] == [1, 2]
        assert record['input']['shape'] == ['batch', 8] and record['output']['shape'][0] == 'batch'


def test_parity_tolerance_scales_with_large_outputs(monkeypatch):
    """1e-4 absolute for outputs in [-1, 1]; outputs reaching 20 (an untrained generator) allow 20x that."""
    class Times20(nn.Module):
        def forward(self, x):
            return x * 20

    target = export.ExportTarget('G', Times20(), lambda b, g: torch.rand(b, 3, 4, 4, generator=g) * 2 - 1, {})
    for error, ok in ((1.5e-3, True), (3e-3, False)):
        monkeypatch.setattr(export, 'load_runner', lambda path, fmt, e=error: lambda x: x * 20 + e)
        if ok:
            diff, scale = export.check_parity(target, 'unused', 'onnx', (1, 2), 1e-4)
            assert abs(diff - error) < 1e-6 and 19 < scale <= 20
        else:
            with pytest.raises(export.ExportError, match=r'differs from PyTorch by 0.003 \(> --atol 0.0001 x output scale'):
                export.check_parity(target, 'unused', 'onnx', (1, 2), 1e-4)
    target.module = nn.Identity()  # outputs in [-1, 1]: the tolerance stays 1e-4
    monkeypatch.setattr(export, 'load_runner', lambda path, fmt: lambda x: x + 2e-4)
    with pytest.raises(export.ExportError):
        export.check_parity(target, 'unused', 'onnx', (1,), 1e-4)


def test_conditional_gan_export_is_refused_in_one_line(root):
    if not has_model('gan'):
        pytest.skip('the gan model is not in this checkout yet')
    ck = make_run(root, 'gan_cond')
    with pytest.raises(export.ExportError, match='--condition class generators take'):
        run_export(ck, 'gan_cond')


def test_blobgan_covariance_symbolics_match_pytorch(tmp_path):
    """The ONNX symbolics added for BlobGAN's splatting (diag_embed, 2 x 2 inverse, cumprod over the blobs)."""
    class Splat(nn.Module):
        def forward(self, x):  # x: (B, K, 2) -> covariances -> inverses -> a reverse cumulative product over K
            cov = torch.diag_embed(x.exp()) + 0.1
            inv = torch.linalg.inv(cov)
            opacity = torch.sigmoid(inv.sum((-1, -2)))[:, :, None, None].expand(-1, -1, 3, 3)
            return torch.flip(torch.cumprod(torch.flip(1 - opacity, dims=[1]), dim=1), dims=[1])

    target = export.ExportTarget('S', Splat(), lambda b, g: torch.randn(b, 4, 2, generator=g), {},
                                 hints={'cumprod_length': 4})
    record = export.export_one(target, str(tmp_path), 'splat', 'onnx', 17, True, 1e-5)
    assert record['parity']['max_abs_diff'] < 1e-5 and record['parity']['batch_sizes'] == [1, 2]
