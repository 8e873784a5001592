#!/usr/bin/env bash
# Regenerate the pictures of the docs (docs/images/) from trained runs, on the CPU and with no download:
#   1. the demo's pix2pix, exactly as scripts/demo.sh trains and tests it (its DEMO_* variables apply);
#   2. a small BlobGAN on the synthetic scenes, trained for DOCS_BLOBGAN_SECONDS (default 300) and stopped
#      there with SIGINT, which saves its state (train.py's Ctrl-C);
#   3. python -m tools.docs_images: the app's pix2pix page (a test image translated), its BlobGAN page (a sampled
#      scene) and test.py's results page, screenshotted by headless chromium (apt-get install chromium chromium-driver).
# DOCS_IMAGES_SKIP_TRAINING=1 only takes the screenshots again, from the runs already in checkpoints/ and results/.
# Usage: bash scripts/docs_images.sh     (nice -n 10 bash scripts/docs_images.sh on a shared machine)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
P2P=synthetic_facades_pix2pix   # the name scripts/demo.sh trains
BLOB=synthetic_scenes_blobgan
SIZE=${DOCS_BLOBGAN_SIZE:-32}
SCENES=datasets/synthetic_scenes_$SIZE
if [ -z "${DOCS_IMAGES_SKIP_TRAINING:-}" ]; then
  bash scripts/demo.sh
  PY=.venv/bin/python
  [ -d "$SCENES" ] || $PY datasets/make_synthetic_dataset.py --kind images --out "$SCENES" --size "$SIZE" \
    --n_train 1000 --seed 0
  # small widths, R1 weight 1 (published 50 is for 256 px), a faster layout MLP (lr multiplier 0.1, published 0.01)
  # and a fast EMA (half-life ~23 steps, published ~3k) so that a few minutes of training show scenes
  rc=0
  timeout -s INT "${DOCS_BLOBGAN_SECONDS:-300}" $PY train.py --model blobgan --dataroot "$SCENES" --name $BLOB \
    --crop_size "$SIZE" --load_size "$SIZE" --size_in 8 --n_blobs 6 --style_dim 32 --feature_dim 32 --noise_dim 32 \
    --layout_hidden 64 --layout_layers 4 --g_c_model 8 --d_c_model 8 --batch_size 8 --lambda_R1 1 \
    --layout_lr_mul 0.1 --ema_decay 0.97 --n_epochs 1000 --n_epochs_decay 0 --save_epoch_freq 1000 --gpu_ids -1 \
    --num_threads 0 --display_id 0 --print_freq 400 --fixed_noise --seed 0 --overwrite || rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 124 ] || exit $rc   # 124: stopped by the timeout, state saved
fi
.venv/bin/python -m tools.docs_images --pix2pix $P2P --blobgan $BLOB --out_dir docs/images
echo "docs images done in $(( $(date +%s) - start )) s"
