"""Moved to tools/studies/batch_size.py: run ``python -m tools.studies.batch_size`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print("note: scripts/experiments/batch_size.py moved to tools/studies/batch_size.py; running python -m tools.studies.batch_size", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.studies.batch_size"] + sys.argv[1:], env=env))
