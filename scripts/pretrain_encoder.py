"""Moved to tools/blobgan/pretrain_encoder.py: run ``python -m tools.blobgan.pretrain_encoder`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/pretrain_encoder.py', 'tools.blobgan.pretrain_encoder')
