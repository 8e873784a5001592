#!/usr/bin/env bash
# Download a published CycleGAN generator (one direction) to
# checkpoints/NAME_pretrained/latest_net_G.pth.
#
# Usage: bash scripts/download_cyclegan_model.sh [--force] [--checkpoints_dir DIR] NAME
# The file is checked to be a PyTorch checkpoint before it is put in place.
# See scripts/download_common.sh for the environment variables (mirror URL, curl/wget).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

NAMES=(apple2orange orange2apple summer2winter_yosemite winter2summer_yosemite horse2zebra
       zebra2horse monet2photo style_monet style_cezanne style_ukiyoe style_vangogh sat2map
       map2sat cityscapes_photo2label cityscapes_label2photo facades_photo2label
       facades_label2photo iphone2dslr_flower)

dl_model_main CycleGAN cyclegan/pretrained_models \
    "python test.py --name NAME_pretrained --model test --no_dropout --dataroot FOLDER_OF_IMAGES" \
    "${NAMES[@]}" -- "$@"
