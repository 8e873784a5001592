"""Moved to tools/bench/benchmark.py (run it as `python -m tools.bench.benchmark`); this forwarder stays one release."""
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
print('note: scripts/benchmark.py moved to tools/bench/benchmark.py: python -m tools.bench.benchmark', file=sys.stderr)
runpy.run_module('tools.bench.benchmark', run_name='__main__', alter_sys=True)
