#!/usr/bin/env bash
# Test the maps CycleGAN trained by scripts/train_cyclegan.sh (both directions, needs testA
# and testB); results go to ./results/maps_cyclegan/test_latest/index.html.
# Extra arguments are appended and win over the defaults below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set -x
"${PYTHON:-python}" test.py --dataroot ./datasets/maps --name maps_cyclegan --model cycle_gan \
    --phase test --no_dropout "$@"
