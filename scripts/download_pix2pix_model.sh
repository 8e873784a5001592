#!/usr/bin/env bash
# Download a published pix2pix generator to checkpoints/NAME_pretrained/latest_net_G.pth.
#
# Usage: bash scripts/download_pix2pix_model.sh [--force] [--checkpoints_dir DIR] NAME
# The file is checked to be a PyTorch checkpoint before it is put in place.
# See scripts/download_common.sh for the environment variables (mirror URL, curl/wget).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

NAMES=(edges2shoes sat2map map2sat facades_label2photo day2night)

dl_model_main pix2pix pix2pix/models-pytorch \
    "python test.py --name NAME_pretrained --model pix2pix --netG unet_256 --norm batch --dataroot DATASET ..." \
    "${NAMES[@]}" -- "$@"
