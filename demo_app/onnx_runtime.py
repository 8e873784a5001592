"""Serve a run's exported ONNX generators (tools/export.py) instead of its PyTorch networks: ``app.py --runtime onnx``.

The translation pages call ``model.netG`` / ``netG_A`` / ``netG_B`` on a (1, C, H, W) tensor; each is replaced by an
:class:`OnnxGenerator` that runs the exported file in onnxruntime (CPU) and returns a tensor, so the pages are
unchanged. The files are exported in eval mode (batch norm running statistics, no dropout).
"""
import os

import numpy as np
import torch

from util.errors import OptionError

# network attribute of the model -> export label (tools/export.py); pages whose code only calls these networks
ATTRIBUTES = {'netG': 'G', 'netG_A': 'G_A', 'netG_B': 'G_B'}
SUPPORTED_PAGES = ('TranslationPage', 'ColorizationPage', 'CycleGANPage')


class OnnxGenerator:
    """Callable like the generator it replaces: tensor in, tensor out (on the input's device)."""

    def __init__(self, path, multiple, threads=None):
        import onnxruntime as ort
        self.multiple = multiple  # the replaced network's size multiple (image sides)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.path = path
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x):
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        out = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(out).to(x.device)


def use_onnx(page, threads=None):
    """Replace the page's networks by their exported ONNX files; OptionError when the page or a file is missing."""
    if type(page).__name__ not in SUPPORTED_PAGES:
        raise OptionError(f'--runtime onnx serves translation pages only (pix2pix, test, colorization, cycle_gan), '
                          f'not --model {page.opt.model}; use --runtime torch')
    model, opt = page.model, page.opt
    label = model.checkpoint_label(opt)
    folder = os.path.join(opt.checkpoints_dir, opt.name)
    replaced = []
    for attribute, export_label in ATTRIBUTES.items():
        if not hasattr(model, attribute):
            continue
        if opt.model == 'test':
            export_label = 'G' + opt.model_suffix
        path = os.path.join(folder, f'{label}_net_{export_label}.onnx')
        if not os.path.isfile(path):
            raise OptionError(f"--runtime onnx: no '{path}'; export it first: python -m tools.export --name "
                              f"{opt.name} --checkpoints_dir {opt.checkpoints_dir} --epoch {opt.epoch} --format onnx "
                              f"--dynamic_batch")
        net = getattr(model, attribute)
        setattr(model, attribute, OnnxGenerator(path, page.size_multiple(net), threads))
        replaced.append(path)
    page.runtime = 'onnx'
    return replaced
