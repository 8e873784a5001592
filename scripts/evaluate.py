"""Moved to tools/evaluate.py: run ``python -m tools.evaluate`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/evaluate.py', 'tools.evaluate')
