#!/usr/bin/env bash
# Train pix2pix on facades (label -> photo). Get the data first:
#   bash datasets/download_pix2pix_dataset.sh facades
# Extra arguments are appended and win over the defaults below (argparse keeps the last
# value), e.g.: bash scripts/train_pix2pix.sh --dataroot ./datasets/maps --name maps_pix2pix --direction AtoB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set -x
"${PYTHON:-python}" train.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix \
    --netG unet_256 --direction BtoA --lambda_L1 100 --dataset_mode aligned --norm batch \
    --pool_size 0 "$@"
