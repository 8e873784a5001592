"""Moved to tools/omnigan/process_data.py: run ``python -m tools.omnigan.process_data`` (this forwarder stays for one release)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
print("note: scripts/process_data.py moved to tools/omnigan/process_data.py; running python -m tools.omnigan.process_data", file=sys.stderr)
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
sys.exit(subprocess.call([sys.executable, "-m", "tools.omnigan.process_data"] + sys.argv[1:], env=env))
