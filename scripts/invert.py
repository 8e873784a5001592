"""Moved to tools/blobgan/invert.py: run ``python -m tools.blobgan.invert`` from the repository root.

This forwarder is kept for one release; it prints the new path and runs it with the same arguments.
"""
import os
import subprocess
import sys

if __name__ == '__main__':
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print('note: scripts/invert.py moved to tools/blobgan/invert.py; use: python -m tools.blobgan.invert', file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')])))
    sys.exit(subprocess.call([sys.executable, '-m', 'tools.blobgan.invert'] + sys.argv[1:], env=env))
