"""Moved to tools/studies/gan_losses.py: run ``python -m tools.studies.gan_losses`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print("note: scripts/experiments/gan_losses.py moved to tools/studies/gan_losses.py; running python -m tools.studies.gan_losses", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.studies.gan_losses"] + sys.argv[1:], env=env))
