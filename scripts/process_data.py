"""Moved to tools/omnigan/process_data.py: run ``python -m tools.omnigan.process_data`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/process_data.py', 'tools.omnigan.process_data')
