"""Moved to tools/bench/benchmark.py: run ``python -m tools.bench.benchmark`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/benchmark.py', 'tools.bench.benchmark')
