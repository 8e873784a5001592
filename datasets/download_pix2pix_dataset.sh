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

usage() {
    cat <<USAGE
Usage: bash $0 [--force] [--datasets_dir DIR] NAME
Download a pix2pix dataset (aligned A|B images) into DIR/NAME (default: $DL_REPO_ROOT/datasets).
NAME: ${NAMES[*]}
  --force              replace an existing DIR/NAME (only after the new copy is verified)
  --datasets_dir DIR   where to put the dataset
  --list               print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
}

dl_parse_args usage --datasets_dir "$DL_REPO_ROOT/datasets" "$@"
if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${NAMES[@]}"; exit 0; fi
dl_require_known "$DL_NAME" "pix2pix dataset" "${NAMES[@]}"

if [[ "$DL_NAME" == cityscapes ]]; then
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
    exit 1
fi

dl_install_dataset "$DL_NAME" "$DL_BASE_URL/pix2pix/datasets/$DL_NAME.tar.gz" tar.gz \
    "$DL_DIR" "$DL_FORCE" ${LAYOUT[$DL_NAME]}
