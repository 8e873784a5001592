#!/usr/bin/env bash
# Download one of the paired (aligned A|B) pix2pix datasets into datasets/NAME.
#
# Usage: bash datasets/download_pix2pix_dataset.sh [--force] [--datasets_dir DIR] NAME
# The archive is checked (it unpacks and has the expected split folders) before it
# replaces anything; a failed download leaves no partial files. See
# scripts/download_common.sh for the environment variables (mirror URL, curl/wget).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/download_common.sh"

# name -> split folders the unpacked dataset must contain
declare -A LAYOUT=(
    [facades]="train val test"
    [maps]="train val"
    [edges2shoes]="train val"
    [edges2handbags]="train val"
    [night2day]="train val test"
)
NAMES=(facades cityscapes maps edges2shoes edges2handbags night2day)

# folders NAME: the split folders of NAME; cityscapes has no archive to fetch.
folders() {
    if [[ "$1" == cityscapes ]]; then
        # The Cityscapes license does not allow redistribution, so there is no archive to fetch.
        cat >&2 <<MSG
Cityscapes cannot be redistributed, so this script cannot download it. To build it yourself:
  1. Register at https://www.cityscapes-dataset.com and download gtFine_trainvaltest.zip
     (fine label maps) and leftImg8bit_trainvaltest.zip (photos).
  2. Unzip both, then run:
       python datasets/prepare_cityscapes_dataset.py --gtFine_dir PATH/gtFine \\
           --leftImg8bit_dir PATH/leftImg8bit --output_dir datasets/cityscapes
     This writes aligned photo|label pairs to datasets/cityscapes/{train,val}.
MSG
        return 1
    fi
    echo "${LAYOUT[$1]}"
}

dl_dataset_main pix2pix "pix2pix dataset (aligned A|B images)" pix2pix/datasets tar.gz folders "${NAMES[@]}" -- "$@"
