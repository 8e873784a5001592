#!/usr/bin/env bash
# Train CycleGAN on maps (aerial photo <-> map). Get the data first:
#   bash datasets/download_cyclegan_dataset.sh maps
# Extra arguments are appended and win over the defaults below, e.g.:
#   bash scripts/train_cyclegan.sh --dataroot ./datasets/horse2zebra --name horse2zebra_cyclegan
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set -x
"${PYTHON:-python}" train.py --dataroot ./datasets/maps --name maps_cyclegan --model cycle_gan \
    --pool_size 50 --no_dropout "$@"
