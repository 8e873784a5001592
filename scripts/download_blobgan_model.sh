#!/usr/bin/env bash
# Download a published BlobGAN checkpoint (Epstein et al., dave-epstein/blobgan) and its mean layout latent
# to DIR/blobgan_<NAME>/ (default DIR: checkpoints). The files are the published PyTorch-Lightning .ckpt files;
# every BlobGAN tool takes them directly (--generator DIR/blobgan_NAME/FILE.ckpt; EMA weights are used).
# Published files pickle their configuration: load them with ZOO_TRUST_PICKLE=1 (see docs/blobgan.md).
#
# Usage: bash scripts/download_blobgan_model.sh [--force] [--checkpoints_dir DIR] NAME
#   NAME: bed (bedrooms, with jitter), bed_no_jitter, kitchen (kitchens/living/dining rooms), conference
# Published URLs: http://efrosgans.eecs.berkeley.edu/blobgan/{bedrooms,bedrooms93,kitchen_living_dining,
# conference_rooms}.ckpt and <file>_mean_latent.pt (dave-epstein/blobgan src/utils/colab.py). The BlobGANEX
# 40-blob BDD model (blobgan_256x512.ckpt) has no public URL: put it anywhere and pass its path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

NAMES=(bed bed_no_jitter kitchen conference)
file_of() {
    case "$1" in
        bed) echo bedrooms ;;
        bed_no_jitter) echo bedrooms93 ;;
        kitchen) echo kitchen_living_dining ;;
        conference) echo conference_rooms ;;
    esac
}
usage() {
    cat <<USAGE
Usage: bash $0 [--force] [--checkpoints_dir DIR] NAME
Download a published BlobGAN checkpoint to DIR/blobgan_NAME/ (default DIR: $DL_REPO_ROOT/checkpoints).
NAME: ${NAMES[*]}
  --force                 replace existing files
  --checkpoints_dir DIR   checkpoints folder
  --list                  print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
}
dl_parse_args usage --checkpoints_dir "$DL_REPO_ROOT/checkpoints" "$@"
if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${NAMES[@]}"; exit 0; fi
dl_require_known "$DL_NAME" "BlobGAN model" "${NAMES[@]}"
FILE="$(file_of "$DL_NAME")"
DIR="$DL_DIR/blobgan_$DL_NAME"
DEST="$DIR/$FILE.ckpt"
if [[ -e "$DEST" && "$DL_FORCE" != 1 ]]; then
    echo "Model '$DL_NAME' already exists at $DEST; nothing to do (use --force to download it again)."
    exit 0
fi
dl_make_tmp "$DL_DIR" "blobgan_$DL_NAME"
dl_fetch "$DL_BASE_URL/blobgan/$FILE.ckpt" "$DL_TMP/$FILE.ckpt" || exit 1
magic="$(head -c 2 "$DL_TMP/$FILE.ckpt" | od -An -tx1 | tr -d ' \n')"
if [[ "$magic" != "504b" && "$magic" != 80* ]]; then
    dl_die "file from $DL_BASE_URL/blobgan/$FILE.ckpt is not a PyTorch checkpoint (starts with bytes 0x$magic). Nothing was changed."
fi
have_mean=0
if dl_fetch "$DL_BASE_URL/blobgan/${FILE}_mean_latent.pt" "$DL_TMP/${FILE}_mean_latent.pt" 2>/dev/null; then
    have_mean=1
else
    echo "note: no mean latent file for '$DL_NAME'; truncation computes it from 10000 samples instead" >&2
fi
dl_mkdir "$DIR"
mv -f -- "$DL_TMP/$FILE.ckpt" "$DEST" || dl_die "cannot write $DEST"
if [[ $have_mean == 1 ]]; then mv -f -- "$DL_TMP/${FILE}_mean_latent.pt" "$DIR/" || dl_die "cannot write $DIR"; fi
echo "Model '$DL_NAME' is ready at $DEST"
echo "Use it with: ZOO_TRUST_PICKLE=1 python -m tools.blobgan.invert --generator $DEST ..."
