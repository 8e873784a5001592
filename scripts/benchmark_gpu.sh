#!/usr/bin/env bash
# The GPU rows of docs/speed.md: pix2pix and cycle_gan at 256 px, batch 1 and 16, every precision/layout/compile
# option against the classic fp32 step on the same GPU, one-process DDP overhead, peak memory.
#   bash scripts/benchmark_gpu.sh [OUT_DIR]        (one CUDA GPU; about 8 minutes on an H200)
# Each benchmark writes OUT_DIR/<model>_b<batch>_<mode>.json; a failing row is reported and the next one runs.
set -u
out=${1:-benchmarks_gpu}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
run() {  # run NAME TIMEOUT_S ARGS...
  local name=$1 limit=$2; shift 2
  echo "=== $name: $*"
  timeout "$limit" "$py" -m tools.bench.benchmark --device cuda --size 256 --json "$out/$name.json" "$@" \
    || echo "=== $name FAILED or timed out (exit $?)"
}
fast=(--warmup 3 --iters 10 --reps 3)
# a single-flag compare string ends with a space, so that argparse reads it as a value, not as an option
for model in pix2pix cycle_gan; do
  for bs in 1 16; do
    run "${model}_b${bs}_train" 150 --model "$model" --batch_size "$bs" --mode train "${fast[@]}" --reference \
      --compare "" "--amp bf16" "--amp fp16" "--channels_last " "--amp bf16 --channels_last" "--ddp "
  done
  run "${model}_b16_test" 90 --model "$model" --batch_size 16 --mode test "${fast[@]}" --reference \
    --compare "" "--amp bf16 --channels_last" "--amp fp16 --channels_last"
done
# compilation last: its warm-up is long, and a failure must not cost the rows above
for model in pix2pix cycle_gan; do
  run "${model}_b16_compile" 240 --model "$model" --batch_size 16 --mode train --warmup 4 --iters 10 --reps 2 \
    --no_flops --reference --compare "" "--compile " "--amp bf16 --channels_last --compile"
done
