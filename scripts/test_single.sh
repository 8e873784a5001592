#!/usr/bin/env bash
# Run one generator on a folder of single images (no targets needed): the 'test' model with
# the 'single' dataset mode. Default: the facades pix2pix generator on label maps.
# Other uses (extra arguments are appended and win over the defaults below):
#   one direction of a CycleGAN (loads latest_net_G_A.pth):
#     bash scripts/test_single.sh --dataroot ./datasets/maps/testA --name maps_cyclegan \
#         --netG resnet_9blocks --norm instance --no_dropout --direction AtoB --model_suffix _A
#   a published CycleGAN generator (latest_net_G.pth):
#     bash scripts/download_cyclegan_model.sh horse2zebra
#     bash scripts/test_single.sh --dataroot ./datasets/horse2zebra/testA --name horse2zebra_pretrained \
#         --netG resnet_9blocks --norm instance --no_dropout --direction AtoB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set -x
"${PYTHON:-python}" test.py --dataroot ./datasets/facades/testB/ --name facades_pix2pix --model test \
    --netG unet_256 --direction BtoA --dataset_mode single --norm batch "$@"
