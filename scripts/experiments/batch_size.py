"""Moved to tools/studies/batch_size.py: run ``python -m tools.studies.batch_size`` (this forwarder stays one release)."""
import os
import runpy

if __name__ == '__main__':
    scripts = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runpy.run_path(os.path.join(scripts, '_forward.py'))['forward']('scripts/experiments/batch_size.py', 'tools.studies.batch_size')
