"""Moved to tools/blobgan/train_encoder.py: run ``python -m tools.blobgan.train_encoder`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/train_encoder.py', 'tools.blobgan.train_encoder')
