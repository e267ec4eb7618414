#!/usr/bin/env bash
# Cross-check with ONNX Runtime: quantize each zoo model with qbench (static-int8 by default), run
# the saved QDQ file in ONNX Runtime (npm onnxruntime-node) and in qbench on the 10,000
# Fashion-MNIST test images, and report how often their predicted labels agree. Fails when any
# model agrees on fewer than 99.5% of the images.
# Usage: benchmarks/peers/ort_agreement.sh [QBENCH_BINARY] [RECIPE] [MODEL...]
#   (models default to the whole zoo: lenet resnet mobilenet vit mlp)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QB="${1:-$ROOT/build/qbench}"
RECIPE="${2:-static-int8}"
shift $(( $# > 2 ? 2 : $# ))
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(lenet resnet mobilenet vit mlp)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
  # The package's install script would try to download GPU binaries; the CPU library is inside.
  (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2)
fi

status=0
printf '%-10s %-12s %10s %10s %10s\n' model recipe qbench-top1 ort-top1 agreement
for m in "${MODELS[@]}"; do
  model="$ROOT/models/$m.onnx"
  q="$OUT/$m.$RECIPE.onnx"
  "$QB" quantize --model "$model" --recipe "$RECIPE" --calib-data fashion-mnist --out "$q" >/dev/null
  "$QB" eval --model "$q" --data fashion-mnist --predictions "$OUT/$m.qbench.txt" >"$OUT/$m.txt" 2>/dev/null
  # The zoo's preprocessing lives in the model metadata; ONNX Runtime needs it spelled out.
  # qbench prints it as "preprocess  <source>: mean [m] std [s]".
  mean=$(sed -n 's/^preprocess.*mean \[\([^],]*\)\].*/\1/p' "$OUT/$m.txt")
  std=$(sed -n 's/^preprocess.*std \[\([^],]*\)\].*/\1/p' "$OUT/$m.txt")
  node "$HERE/ort_predict.js" "$q" "$OUT/$m.ort.txt" "$mean" "$std"
  labels="$OUT/labels.txt"
  [ -f "$labels" ] || gzip -dc /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz | tail -c +9 | od -An -v -tu1 -w1 | tr -d ' ' >"$labels"
  paste "$OUT/$m.qbench.txt" "$OUT/$m.ort.txt" "$labels" | awk -v m="$m" -v r="$RECIPE" '
    { n++; agree += ($1 == $2); q += ($1 == $3); o += ($2 == $3) }
    END { printf "%-10s %-12s %10.4f %10.4f %9.2f%%\n", m, r, q / n, o / n, 100 * agree / n; exit !(agree / n >= 0.995) }' || status=1
done
exit $status
