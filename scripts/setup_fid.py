"""Moved to tools/blobgan/setup_fid.py: run ``python -m tools.blobgan.setup_fid`` from the repository root.

This forwarder is kept for one release; it prints the new path and runs it with the same arguments.
"""
import os
import subprocess
import sys

if __name__ == '__main__':
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print('note: scripts/setup_fid.py moved to tools/blobgan/setup_fid.py; use: python -m tools.blobgan.setup_fid', file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')])))
    sys.exit(subprocess.call([sys.executable, '-m', 'tools.blobgan.setup_fid'] + sys.argv[1:], env=env))
