"""Moved to tools/blobgan/invert.py: run ``python -m tools.blobgan.invert`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/invert.py', 'tools.blobgan.invert')
