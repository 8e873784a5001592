"""Moved to tools/studies/perceptual_vs_l1.py: run ``python -m tools.studies.perceptual_vs_l1`` (this forwarder stays one release)."""
import os
import runpy

if __name__ == '__main__':
    scripts = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runpy.run_path(os.path.join(scripts, '_forward.py'))['forward']('scripts/experiments/perceptual_vs_l1.py', 'tools.studies.perceptual_vs_l1')
