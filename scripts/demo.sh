#!/usr/bin/env bash
# The main job end to end on the embedded synthetic dataset, on the CPU and with no download:
# set up ./.venv, generate the paired synthetic facades, train pix2pix for a few minutes, test, and print
# where the results page is; a second run trains again from scratch (--overwrite). DEMO_EPOCHS / DEMO_SIZE / DEMO_TRAIN_IMAGES change its length.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
PY=.venv/bin/python
EPOCHS=${DEMO_EPOCHS:-6}
SIZE=${DEMO_SIZE:-64}
N_TRAIN=${DEMO_TRAIN_IMAGES:-200}
DATA=datasets/synthetic_facades
NAME=synthetic_facades_pix2pix
start=$(date +%s)
[ -d "$DATA/train" ] || $PY datasets/make_synthetic_dataset.py --kind paired --out "$DATA" --size "$SIZE" \
  --n_train "$N_TRAIN" --n_val 10 --n_test 20 --seed 0
$PY train.py --dataroot "$DATA" --name "$NAME" --model pix2pix --direction BtoA --netG "unet_$SIZE" \
  --load_size $((SIZE + SIZE / 8)) --crop_size "$SIZE" --n_epochs $((EPOCHS / 2)) --n_epochs_decay $((EPOCHS - EPOCHS / 2)) \
  --batch_size 4 --num_threads 2 --display_id 0 --print_freq 200 --save_epoch_freq "$EPOCHS" --seed 0 --overwrite
$PY test.py --dataroot "$DATA" --name "$NAME" --model pix2pix --num_test 20 --metrics psnr,ssim,l1
echo
echo "demo finished in $(( $(date +%s) - start )) s"
echo "results page: $(pwd)/results/$NAME/test_latest/index.html"
echo "training page: $(pwd)/checkpoints/$NAME/web/index.html"
