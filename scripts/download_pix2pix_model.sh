#!/usr/bin/env bash
# Download a published pix2pix generator to checkpoints/NAME_pretrained/latest_net_G.pth.
#
# Usage: bash scripts/download_pix2pix_model.sh [--force] [--checkpoints_dir DIR] NAME
# The file is checked to be a PyTorch checkpoint before it is put in place.
# See scripts/download_common.sh for the environment variables (mirror URL, curl/wget).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

NAMES=(edges2shoes sat2map map2sat facades_label2photo day2night)

usage() {
    cat <<USAGE
Usage: bash $0 [--force] [--checkpoints_dir DIR] NAME
Download a pretrained pix2pix generator to DIR/NAME_pretrained/latest_net_G.pth
(default DIR: $DL_REPO_ROOT/checkpoints).
NAME: ${NAMES[*]}
  --force                 replace an existing latest_net_G.pth
  --checkpoints_dir DIR   checkpoints folder (same meaning as test.py --checkpoints_dir)
  --list                  print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
}

dl_parse_args usage --checkpoints_dir "$DL_REPO_ROOT/checkpoints" "$@"
if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${NAMES[@]}"; exit 0; fi
dl_require_known "$DL_NAME" "pix2pix model" "${NAMES[@]}"
dl_install_model "$DL_NAME" "$DL_BASE_URL/pix2pix/models-pytorch/$DL_NAME.pth" "$DL_DIR" "$DL_FORCE"
echo "Use it with: python test.py --name ${DL_NAME}_pretrained --model pix2pix --netG unet_256 --norm batch --dataroot DATASET ..."
