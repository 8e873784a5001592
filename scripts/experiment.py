"""Moved to tools/omnigan/experiment.py: run ``python -m tools.omnigan.experiment`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
print("note: scripts/experiment.py moved to tools/omnigan/experiment.py; running python -m tools.omnigan.experiment", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.omnigan.experiment"] + sys.argv[1:], env=env))
