"""Moved to tools/blobgan/setup_fid.py: run ``python -m tools.blobgan.setup_fid`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/setup_fid.py', 'tools.blobgan.setup_fid')
