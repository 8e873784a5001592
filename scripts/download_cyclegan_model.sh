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

usage() {
    cat <<USAGE
Usage: bash $0 [--force] [--checkpoints_dir DIR] NAME
Download a pretrained CycleGAN generator to DIR/NAME_pretrained/latest_net_G.pth
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
dl_require_known "$DL_NAME" "CycleGAN model" "${NAMES[@]}"
dl_install_model "$DL_NAME" "$DL_BASE_URL/cyclegan/pretrained_models/$DL_NAME.pth" "$DL_DIR" "$DL_FORCE"
echo "Use it with: python test.py --name ${DL_NAME}_pretrained --model test --no_dropout --dataroot FOLDER_OF_IMAGES"
