"""What every forwarder at an old script path does (kept one release): say the new command, then run it."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def forward(old_path, module):
    """Run ``python -m module`` with this process's arguments (the repository root on the import path) and exit
    with its status, after one line on stderr naming the new command."""
    print(f"note: {old_path} moved to {module.replace('.', '/')}.py; use: python -m {module}", file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
    sys.exit(subprocess.call([sys.executable, '-m', module] + sys.argv[1:], env=env))
