"""Moved to tools/blobgan/counterfactuals.py: run ``python -m tools.blobgan.counterfactuals`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/counterfactuals.py', 'tools.blobgan.counterfactuals')
