"""Forwarder kept for the path named in the issue: the export tool is ``python -m tools.export`` (tools/export.py)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == '__main__':
    print('note: scripts/export.py runs `python -m tools.export`', file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
    sys.exit(subprocess.call([sys.executable, '-m', 'tools.export', *sys.argv[1:]], env=env))
