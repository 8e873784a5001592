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

# folders NAME: the domain folders the dataset must have; ae_photos is a small test-only photo set (one
# domain), all others have both domains.
folders() {
    if [[ "$1" == ae_photos ]]; then echo testA; else echo trainA trainB testA testB; fi
}

dl_dataset_main CycleGAN "CycleGAN dataset" cyclegan/datasets zip folders "${NAMES[@]}" -- "$@"
