#!/usr/bin/env bash
# Test the facades pix2pix model trained by scripts/train_pix2pix.sh; results go to
# ./results/facades_pix2pix/test_latest/index.html. For the published model:
#   bash scripts/download_pix2pix_model.sh facades_label2photo
#   bash scripts/test_pix2pix.sh --name facades_label2photo_pretrained
# Extra arguments are appended and win over the defaults below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set -x
"${PYTHON:-python}" test.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix \
    --netG unet_256 --direction BtoA --dataset_mode aligned --norm batch "$@"
