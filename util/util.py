"""Small helpers: tensor <-> image conversion, folders, atomic writes and seeding."""
import os
import random
import tempfile

import numpy as np
import torch
from PIL import Image


def tensor2im(input_image, imtype=np.uint8, keep_gray=False):
    """Convert the first image of a batch in [-1, 1] to an HxWx3 uint8 array (grayscale is tiled to RGB, or
    with ``keep_gray`` returned as an HxW array, saved as a single-channel image)."""
    if isinstance(input_image, np.ndarray):
        return input_image.astype(imtype)
    image_tensor = input_image.detach()
    if image_tensor.dim() == 4:
        image_tensor = image_tensor[0]
    image_numpy = image_tensor.float().cpu().numpy()
    if image_numpy.shape[0] == 1 and keep_gray:
        return np.clip(np.rint((image_numpy[0] + 1.0) / 2.0 * 255.0), 0, 255).astype(imtype)
    if image_numpy.shape[0] == 1:
        image_numpy = np.tile(image_numpy, (3, 1, 1))
    elif image_numpy.shape[0] > 3:
        image_numpy = image_numpy[:3]
    image_numpy = (np.transpose(image_numpy, (1, 2, 0)) + 1.0) / 2.0 * 255.0
    return np.clip(np.rint(image_numpy), 0, 255).astype(imtype)


def save_image(image_numpy, image_path, aspect_ratio=1.0):
    """Save an HxWx3 (or HxW grayscale) uint8 array as an image, optionally stretched horizontally or vertically."""
    image_pil = Image.fromarray(image_numpy)
    h, w = image_numpy.shape[:2]
    if aspect_ratio > 1.0:
        image_pil = image_pil.resize((w, int(h * aspect_ratio)), Image.BICUBIC)
    elif aspect_ratio < 1.0:
        image_pil = image_pil.resize((int(w / aspect_ratio), h), Image.BICUBIC)
    image_pil.save(image_path)


def mkdirs(paths):
    """Create one folder or a list of folders (parents included)."""
    if isinstance(paths, (list, tuple)):
        for path in paths:
            os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(paths, exist_ok=True)


def atomic_write(path, write_fn, binary=True):
    """Write a file through ``write_fn(file_object)`` into a temp file next to ``path``, then rename.

    A crash or kill in the middle of a write leaves the previous file untouched, never a truncated one.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb' if binary else 'w') as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def atomic_torch_save(obj, path):
    """``torch.save`` that never leaves a partially written checkpoint behind."""
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(path, text):
    """Write a text file atomically."""
    atomic_write(path, lambda f: f.write(text), binary=False)


def load_script(name):
    """Import a top-level script of the repository by path, e.g. ``load_script('train')`` or
    ``load_script('scripts/experiments/batch_size')`` (``import test`` would find Python's own test package instead)."""
    import importlib.util
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    module_name = 'zoo_script_' + name.replace(os.sep, '_').replace('/', '_')
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, os.path.join(root, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    return sys.modules[module_name]


def read_yaml_or_json(path, error_class=ValueError, label=''):
    """Parse ``path`` as JSON when it ends in .json, else as YAML; a syntax error raises ``error_class`` with a
    message naming the file (prefixed by ``label``, e.g. '--config ')."""
    import json
    import yaml
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text) if path.endswith('.json') else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise error_class(f"{label}{path} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}") from exc


def seed_everything(seed):
    """Seed Python, NumPy and PyTorch (all devices) so CPU runs are reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def get_rng_states():
    """Capture every global random generator the training loop touches, in a weights_only-loadable form."""
    np_state = np.random.get_state()
    states = {
        'python': random.getstate(),
        'numpy': {'key': torch.from_numpy(np_state[1].astype(np.int64)), 'pos': int(np_state[2]),
                  'has_gauss': int(np_state[3]), 'cached_gaussian': float(np_state[4])},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states):
    """Restore what :func:`get_rng_states` captured."""
    python_state = states['python']
    random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
    np_state = states['numpy']
    np.random.set_state(('MT19937', np_state['key'].numpy().astype(np.uint32), np_state['pos'],
                         np_state['has_gauss'], np_state['cached_gaussian']))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])
