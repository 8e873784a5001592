"""Moved to tools/blobgan/compute_fid.py: run ``python -m tools.blobgan.compute_fid`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/compute_fid.py', 'tools.blobgan.compute_fid')
