#!/bin/sh
# Runs tests/bench/train and torch_train.py one after the other on the same
# models and prints the throughput ratio lethe/torch for each.
#   tests/bench/run-train.sh BUILD_DIR [EPOCHS] [BATCH] [THREADS]
set -eu
build=${1:?usage: run-train.sh BUILD_DIR [EPOCHS] [BATCH] [THREADS]}
epochs=${2:-1}
batch=${3:-128}
threads=${4:-2}
here=$(dirname "$0")
for model in mlp cnn; do
  l=$("$build/tests/bench/train" "$model" "$epochs" "$batch" "$threads")
  t=$(/usr/bin/python3 "$here/torch_train.py" "$model" "$epochs" "$batch" "$threads")
  echo "$l"
  echo "$t"
  ls=$(echo "$l" | sed 's/.*train_samples_per_s=\([0-9.]*\).*/\1/')
  ts=$(echo "$t" | sed 's/.*train_samples_per_s=\([0-9.]*\).*/\1/')
  awk -v m="$model" -v a="$ls" -v b="$ts" 'BEGIN { printf "ratio %s lethe/torch = %.2f\n", m, a / b }'
done
