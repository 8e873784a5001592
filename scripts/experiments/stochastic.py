"""Moved to tools/studies/stochastic.py: run ``python -m tools.studies.stochastic`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print("note: scripts/experiments/stochastic.py moved to tools/studies/stochastic.py; running python -m tools.studies.stochastic", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.studies.stochastic"] + sys.argv[1:], env=env))
