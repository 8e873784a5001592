"""Moved to tools/bench/benchmark_logging.py (run it as `python -m tools.bench.benchmark_logging`); this forwarder stays one release."""
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print('note: scripts/benchmark_logging.py moved to tools/bench/benchmark_logging.py: python -m tools.bench.benchmark_logging', file=sys.stderr)
runpy.run_module('tools.bench.benchmark_logging', run_name='__main__', alter_sys=True)
