"""Moved to tools/studies/perceptual_vs_l1.py: run ``python -m tools.studies.perceptual_vs_l1`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print("note: scripts/experiments/perceptual_vs_l1.py moved to tools/studies/perceptual_vs_l1.py; running python -m tools.studies.perceptual_vs_l1", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.studies.perceptual_vs_l1"] + sys.argv[1:], env=env))
