#!/bin/bash
#SBATCH --job-name={{name}}
#SBATCH --cpus-per-task={{cpus}}
#SBATCH --gres=gpu:{{gpus}}
#SBATCH --mem={{mem}}
#SBATCH --time={{time}}
#SBATCH --output={{output}}
# Launch file written by tools/experiment.py from configs/omnigan_template.sh (code at {{git_hash}}).
# Run folder: {{run_dir}}   comet tags: {{comet_tags}}
set -euo pipefail
cd {{repo}}
{{train_cmd}}
