"""Moved to tools/experiment.py: run ``python -m tools.experiment`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/experiment.py', 'tools.experiment')
