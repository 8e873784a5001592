"""Moved to tools/compare.py: run ``python -m tools.compare`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/compare.py', 'tools.compare')
