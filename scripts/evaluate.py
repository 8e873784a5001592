"""Moved to tools/evaluate.py: run ``python -m tools.evaluate`` from the repository root.

This forwarder is kept for one release; it prints the new path and runs it with the same arguments.
"""
import os
import subprocess
import sys

if __name__ == '__main__':
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print('note: scripts/evaluate.py moved to tools/evaluate.py; use: python -m tools.evaluate', file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')])))
    sys.exit(subprocess.call([sys.executable, '-m', 'tools.evaluate'] + sys.argv[1:], env=env))
