#!/usr/bin/env bash
# The whole BlobGAN workflow at tiny size on the CPU, with no download: train, sample, FID statistics, FID,
# encoder pre-training and fine-tuning, inversion and counterfactuals. Pretrained Inception / VGG16 / decision
# weights cannot be fetched here, so randomly initialised stand-ins are written first: every step runs, but
# the numbers (FID, flips) say nothing about quality. Pass real files with INCEPTION=... VGG=... DECISION=...
# Usage: bash scripts/blobgan_workflow.sh [WORK_DIR]   (default: ./blobgan_workflow)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-blobgan_workflow}
mkdir -p "$WORK"
CK="$WORK/checkpoints"
SCENES="$WORK/scenes"
NAME=tiny_blobgan
G="$CK/$NAME/latest_blobgan_G_ema.ckpt"

[ -d "$SCENES" ] || $PY datasets/make_synthetic_dataset.py --kind images --out "$SCENES" --size 32 --n_train 16 --seed 0
INCEPTION=${INCEPTION:-$WORK/random_inception.pth}
VGG=${VGG:-$WORK/random_vgg16.pth}
DECISION=${DECISION:-$WORK/random_decision_resnet18.pth}
$PY - "$INCEPTION" "$VGG" "$DECISION" <<'PYTHON'
import os, sys
import torchvision
from metrics.weights import make_random_inception_weights
from models.blobgan.perceptual import make_random_vgg_weights
from models.blobgan.counterfactual import save_decision_model
inception, vgg, decision = sys.argv[1:4]
if not os.path.exists(inception):
    make_random_inception_weights(inception)
if not os.path.exists(vgg):
    make_random_vgg_weights(vgg)
if not os.path.exists(decision):
    save_decision_model(decision, torchvision.models.resnet18(num_classes=4), 'resnet18', 4)
PYTHON

$PY train.py --model blobgan --dataroot "$SCENES" --name $NAME --checkpoints_dir "$CK" --crop_size 32 --size_in 8 \
  --n_blobs 4 --spatial_dim 16 --feature_dim 16 --noise_dim 16 --layout_hidden 32 --layout_layers 3 --channel_max 32 \
  --channel_base 256 --batch_size 4 --accumulate_grad_batches 2 --n_epochs 2 --n_epochs_decay 0 --gpu_ids -1 \
  --fixed_noise --display_id 0 --num_threads 0 --seed 0
$PY test.py --model blobgan --name $NAME --checkpoints_dir "$CK" --results_dir "$WORK/results" --num_samples 4 \
  --fixed_noise --gpu_ids -1
$PY scripts/setup_fid.py --path "$SCENES" --name Tiny_Scenes_32 --n_imgs 16 --shuffle -bs 8 --device cpu \
  --generator "$G" --inception_weights "$INCEPTION" --stats_dir "$WORK/fid_stats"
$PY scripts/compute_fid.py "$G" --num_gen 16 --batch_size 8 --dataset_name tiny_scenes_32 \
  --inception_weights "$INCEPTION" --stats_dir "$WORK/fid_stats" --device cpu
$PY scripts/pretrain_encoder.py --generator "$G" --out "$WORK/encoder_pretrained.ckpt" --n_iters 40 --batch_size 4 \
  --lr 1e-3 --log_every 10 --device cpu
$PY scripts/train_encoder.py --generator "$G" --encoder "$WORK/encoder_pretrained.ckpt" --dataroot "$SCENES" \
  --out "$WORK/encoder.ckpt" --n_iters 20 --batch_size 4 --lr 1e-3 --log_every 5 --device cpu
$PY scripts/invert.py --generator "$G" --encoder "$WORK/encoder.ckpt" --dataroot "$SCENES" --max_images 4 \
  --n_iter_latent 50 --n_iter_blobs 50 --vgg_weights "$VGG" --out_dir "$WORK/inversion" --device cpu
$PY scripts/counterfactuals.py --generator "$G" --encoder "$WORK/encoder.ckpt" --dataroot "$SCENES" --max_images 4 \
  --decision_model "$DECISION" --decision_size 64 --target_attributes 0 1 2 3 --n_iter 50 --lambda_prox 0.1 \
  --out_dir "$WORK/counterfactuals" --device cpu
echo "blobgan workflow finished: samples in $WORK/results/$NAME, inversion in $WORK/inversion, counterfactuals in $WORK/counterfactuals"
