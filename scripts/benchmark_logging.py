"""Moved to tools/bench/benchmark_logging.py: run ``python -m tools.bench.benchmark_logging`` (this forwarder stays one release)."""
from _forward import forward

if __name__ == '__main__':
    forward('scripts/benchmark_logging.py', 'tools.bench.benchmark_logging')
