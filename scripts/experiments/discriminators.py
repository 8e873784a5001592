"""Moved to tools/studies/discriminators.py: run ``python -m tools.studies.discriminators`` (this forwarder stays one release)."""
import os
import runpy

if __name__ == '__main__':
    scripts = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runpy.run_path(os.path.join(scripts, '_forward.py'))['forward']('scripts/experiments/discriminators.py', 'tools.studies.discriminators')
