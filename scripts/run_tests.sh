#!/usr/bin/env bash
# The test suite: sets up ./.venv if needed, then runs pytest on the CPU (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export CUDA_VISIBLE_DEVICES=""   # the suite never needs a GPU, and must behave the same without one
# two pytest workers on two cores: one compute thread each instead of both fighting over both cores
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
# lint first (rules in pyproject.toml): a style slip fails in seconds, before the long test run
if ! .venv/bin/python -m ruff check . ; then
  echo "run_tests.sh: ruff check failed (see above); fix it, or run '.venv/bin/python -m ruff check --fix .' for the auto-fixable ones" >&2
  exit 1
fi
exec .venv/bin/python -m pytest -n 2 --durations=15 "$@"
