"""What is needed to reproduce a training run, written into checkpoints/NAME/ when it starts.

* ``run_info.yaml``: the command line, working directory, time, host, git commit / branch / dirty flag and
  the versions of Python, PyTorch (with CUDA / cuDNN), torchvision, NumPy and the other libraries in use;
* ``command.txt``: every command line that trained this experiment, one per start (resumes included), so
  the history of a run survives ``--continue_train``;
* ``git_diff.patch``: the uncommitted changes to tracked files, only when the checkout is dirty (a commit
  hash alone does not reproduce a dirty tree).

The options themselves are saved by the option parser (train_opt.txt / train_opt.yaml).
"""
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from importlib import metadata

import yaml

from util import util

# The project root: git is asked about the code that runs, whatever the working directory is.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Distributions whose versions matter for the numbers a run produces (missing ones are skipped).
LIBRARIES = ('torch', 'torchvision', 'numpy', 'Pillow', 'scipy', 'matplotlib', 'PyYAML', 'dominate', 'visdom',
             'comet_ml', 'torch-optimizer', 'torch-fidelity', 'torchmetrics', 'scikit-image', 'tqdm')
# A patch larger than this is cut (and says so): a run folder should not grow by a huge accidental diff.
MAX_PATCH_BYTES = 5 * 1024 * 1024


def _git(args, cwd):
    """Output of one git command, or None when git or the repository is not there (never raises, never hangs)."""
    try:
        result = subprocess.run(['git', *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def git_info(root=PROJECT_ROOT):
    """{'commit', 'branch', 'dirty', 'dirty_files'} of the checkout at ``root``; commit is None outside git."""
    commit = _git(['rev-parse', 'HEAD'], root)
    if commit is None:
        return {'commit': None, 'branch': None, 'dirty': None, 'dirty_files': [],
                'note': f'{root} is not a git checkout (or git is not installed)'}
    branch = (_git(['rev-parse', '--abbrev-ref', 'HEAD'], root) or '').strip() or None
    # Untracked files (datasets, checkpoints, outputs) do not make the code dirty; modified tracked files do.
    status = _git(['status', '--porcelain', '--untracked-files=no'], root) or ''
    dirty_files = [line[3:] for line in status.splitlines() if line.strip()]
    return {'commit': commit.strip(), 'branch': branch, 'dirty': bool(dirty_files), 'dirty_files': dirty_files}


def git_diff(root=PROJECT_ROOT):
    """The uncommitted changes of tracked files against HEAD, as a patch ('' when clean or not in git)."""
    return _git(['diff', 'HEAD', '--no-color', '--no-ext-diff'], root) or ''


def library_versions():
    """Versions of Python, the libraries in LIBRARIES, and the CUDA / cuDNN builds PyTorch uses."""
    versions = {'python': platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    torch = sys.modules.get('torch')
    if torch is not None:
        versions['torch_cuda'] = torch.version.cuda
        versions['cudnn'] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        versions['cuda_available'] = torch.cuda.is_available()
        if torch.cuda.is_available():
            versions['gpus'] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return versions


def command_line(argv=None, script=None):
    """The command as it can be pasted into a shell: ``python train.py --flag value ...`` (quoted where needed)."""
    if argv is None:  # this process's own command line
        argv = sys.argv[1:]
        script = script or (sys.argv[0] if sys.argv and sys.argv[0] not in ('', '-c') else 'train.py')
    else:  # main(args) called from Python: the equivalent command
        script = script or 'train.py'
    if os.path.isabs(script) and script.startswith(os.getcwd() + os.sep):
        script = os.path.relpath(script)
    return shlex.join(['python', script, *[str(a) for a in argv]])


def run_info(argv=None, script=None):
    """Everything written to run_info.yaml, as a dict."""
    return {
        'command': command_line(argv, script),
        'cwd': os.getcwd(),
        'time': time.strftime('%Y-%m-%d %H:%M:%S %z'),
        'host': socket.gethostname(),
        'platform': platform.platform(),
        'git': git_info(),
        'versions': library_versions(),
    }


def write_run_info(opt, argv=None, script=None):
    """Write run_info.yaml, command.txt and (dirty checkouts) git_diff.patch into checkpoints/NAME/.

    Only rank 0 writes; returns the info dict on every rank (the experiment trackers log it too).
    """
    info = run_info(argv, script)
    if getattr(opt, 'rank', 0) != 0:
        return info
    expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
    util.mkdirs(expr_dir)
    util.atomic_write_text(os.path.join(expr_dir, 'run_info.yaml'), yaml.safe_dump(info, sort_keys=False))
    with open(os.path.join(expr_dir, 'command.txt'), 'a') as f:
        f.write(f"# {info['time']} on {info['host']}, git {info['git']['commit']}"
                f"{' (dirty)' if info['git']['dirty'] else ''}\n{info['command']}\n")
    patch_path = os.path.join(expr_dir, 'git_diff.patch')
    if info['git']['dirty']:
        patch = git_diff()
        if len(patch.encode()) > MAX_PATCH_BYTES:
            patch = patch.encode()[:MAX_PATCH_BYTES].decode(errors='ignore') + '\n# [patch cut at 5 MiB]\n'
        util.atomic_write_text(patch_path, patch)
    elif os.path.exists(patch_path):
        os.remove(patch_path)  # a clean restart must not leave the previous start's diff looking current
    return info
