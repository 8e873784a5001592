"""Moved to tools/studies/discriminators.py: run ``python -m tools.studies.discriminators`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print("note: scripts/experiments/discriminators.py moved to tools/studies/discriminators.py; running python -m tools.studies.discriminators", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.studies.discriminators"] + sys.argv[1:], env=env))
