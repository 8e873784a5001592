#!/usr/bin/env bash
# The test suite: sets up ./.venv if needed, then runs pytest on the CPU (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export CUDA_VISIBLE_DEVICES=""   # the suite never needs a GPU, and must behave the same without one
exec .venv/bin/python -m pytest -n 2 --durations=15 "$@"
