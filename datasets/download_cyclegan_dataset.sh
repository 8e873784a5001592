#!/usr/bin/env bash
# Download one of the unpaired CycleGAN datasets (trainA/trainB/testA/testB) into datasets/NAME.
#
# Usage: bash datasets/download_cyclegan_dataset.sh [--force] [--datasets_dir DIR] NAME
# The archive is checked (it unpacks and has the expected folders) before it replaces
# anything; a failed download leaves no partial files. See scripts/download_common.sh
# for the environment variables (mirror URL, curl/wget).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/download_common.sh"

NAMES=(apple2orange summer2winter_yosemite horse2zebra monet2photo cezanne2photo ukiyoe2photo
       vangogh2photo maps cityscapes facades iphone2dslr_flower ae_photos)

usage() {
    cat <<USAGE
Usage: bash $0 [--force] [--datasets_dir DIR] NAME
Download a CycleGAN dataset into DIR/NAME (default: $DL_REPO_ROOT/datasets).
NAME: ${NAMES[*]}
  --force              replace an existing DIR/NAME (only after the new copy is verified)
  --datasets_dir DIR   where to put the dataset
  --list               print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
}

dl_parse_args usage --datasets_dir "$DL_REPO_ROOT/datasets" "$@"
if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${NAMES[@]}"; exit 0; fi
dl_require_known "$DL_NAME" "CycleGAN dataset" "${NAMES[@]}"

# ae_photos is a small test-only photo set (one domain); all others have both domains.
FOLDERS=(trainA trainB testA testB)
[[ "$DL_NAME" == ae_photos ]] && FOLDERS=(testA)

dl_install_dataset "$DL_NAME" "$DL_BASE_URL/cyclegan/datasets/$DL_NAME.zip" zip \
    "$DL_DIR" "$DL_FORCE" "${FOLDERS[@]}"
