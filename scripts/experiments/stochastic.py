"""Moved to tools/studies/stochastic.py: run ``python -m tools.studies.stochastic`` (this forwarder stays one release)."""
import os
import runpy

if __name__ == '__main__':
    scripts = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runpy.run_path(os.path.join(scripts, '_forward.py'))['forward']('scripts/experiments/stochastic.py', 'tools.studies.stochastic')
