#!/usr/bin/env bash
# The whole BlobGAN workflow at tiny size on the CPU, with no download: train, sample, FID statistics, FID,
# encoder pre-training and training, inversion and counterfactuals, with the published losses (LPIPS, decision
# features, L1 proximity, assignment-matrix diversity). Pretrained Inception / VGG16 / DenseNet decision weights
# cannot be fetched here, so randomly initialised stand-ins are written first (LPIPS uses the lpips package's own
# linear weights): every step runs, but the numbers (FID, flips) say nothing about quality. Pass real files with
# INCEPTION=... VGG=... (torchvision vgg16) DECISION=... (the published decision_densenet.tar).
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
INCEPTION=${INCEPTION:-$WORK/random_inception-2015-12-05.pt}   # clean-fid's TorchScript Inception
VGG=${VGG:-$WORK/random_vgg16.pth}
DECISION=${DECISION:-$WORK/random_decision_densenet.tar}
$PY - "$INCEPTION" "$VGG" "$DECISION" <<'PYTHON'
import os, sys
import shutil
from metrics.clean_fid import make_random_inception
from models.blobgan.lpips_loss import make_random_lpips_weights
from tools.blobgan.octet.counterfactual import DecisionDensenet, save_densenet_decision_model
inception, vgg, decision = sys.argv[1:4]
if not os.path.exists(inception):
    make_random_inception(inception)
if not os.path.exists(vgg):
    shutil.move(make_random_lpips_weights(os.path.dirname(vgg) or '.')[0], vgg)
if not os.path.exists(decision):
    save_densenet_decision_model(decision, DecisionDensenet(num_classes=4))
PYTHON

$PY train.py --model blobgan --dataroot "$SCENES" --name $NAME --checkpoints_dir "$CK" --crop_size 32 --size_in 8 \
  --n_blobs 4 --style_dim 16 --feature_dim 16 --noise_dim 16 --layout_hidden 32 --layout_layers 3 --g_c_model 4 \
  --d_c_model 4 --batch_size 4 --accumulate_grad_batches 2 --n_epochs 2 --n_epochs_decay 0 --gpu_ids -1 \
  --fixed_noise --display_id 0 --num_threads 0 --seed 0 --overwrite
$PY test.py --model blobgan --name $NAME --checkpoints_dir "$CK" --results_dir "$WORK/results" --num_samples 4 \
  --fixed_noise --gpu_ids -1
$PY -m tools.blobgan.setup_fid --fid_backend clean-fid --path "$SCENES" --name Tiny_Scenes_32 --n_imgs 16 --shuffle -bs 8 --device cpu \
  --generator "$G" --inception_weights "$INCEPTION" --stats_dir "$WORK/fid_stats"
$PY -m tools.blobgan.compute_fid "$G" --fid_backend clean-fid --num_gen 16 --batch_size 8 --dataset_name tiny_scenes_32 \
  --inception_weights "$INCEPTION" --stats_dir "$WORK/fid_stats" --device cpu
$PY -m tools.blobgan.pretrain_encoder --generator "$G" --out "$WORK/encoder_pretrained.ckpt" --n_iters 20 --batch_size 4 \
  --lr 1e-3 --encoder_c_model 4 --log_every 10 --device cpu
$PY -m tools.blobgan.train_encoder --generator "$G" --encoder "$WORK/encoder_pretrained.ckpt" --dataroot "$SCENES" \
  --out "$WORK/encoder.ckpt" --n_iters 3 --batch_size 2 --lr 1e-3 --log_every 5 --device cpu --vgg_weights "$VGG" \
  --decision_model "$DECISION"
$PY -m tools.blobgan.invert --generator "$G" --encoder "$WORK/encoder.ckpt" --dataroot "$SCENES" --max_images 4 \
  --batch_size 4 --n_iter_blobs 10 --vgg_weights "$VGG" --out_dir "$WORK/inversion" --device cpu
$PY -m tools.blobgan.counterfactuals --generator "$G" --load_inversion "$WORK/inversion" --dataroot "$SCENES" \
  --decision_model "$DECISION" --vgg_weights "$VGG" --target_attributes 0 3 --n_iter 5 \
  --out_dir "$WORK/counterfactuals" --device cpu
$PY -m tools.blobgan.counterfactuals --generator "$G" --num_generated 2 --batch_size 2 --n_diverse 2 \
  --decision_model "$DECISION" --vgg_weights "$VGG" --target_attributes 0 --n_iter 3 \
  --out_dir "$WORK/counterfactuals_diverse" --device cpu
echo "blobgan workflow finished: samples in $WORK/results/$NAME, inversion in $WORK/inversion, counterfactuals in $WORK/counterfactuals"
