#!/usr/bin/env bash
# Small models exported by torch.onnx.export (tests/data/gen_torch_exports.py: transposed convs,
# Upsample/Resize, LSTM/GRU/RNN, PRelu, InstanceNormalization, DepthToSpace, at opsets 9 to 14)
# run through `qbench run` on both kernel paths; every output must match PyTorch's (computed in
# float64) within 1e-4 of the output's scale.
# Usage: torch_exports.sh QBENCH_BINARY SOURCE_DIR
set -uo pipefail
QB="$1"
SRC="$2"
passed=0
failed=0
for dir in "$SRC"/tests/data/torch_exports/*/; do
  name="$(basename "$dir")"
  args=(--model "$dir/model.onnx")
  for f in "$dir"/input_*.npy; do
    n="$(basename "$f" .npy)"
    args+=(--input "${n#input_}=$f")
  done
  for f in "$dir"/expected_*.npy; do
    n="$(basename "$f" .npy)"
    args+=(--compare "${n#expected_}=$f:1e-4")
  done
  for path in default reference; do
    extra=()
    [ "$path" = reference ] && extra=(--reference)
    if out="$("$QB" run "${args[@]}" --relative-to-scale "${extra[@]}" 2>&1)"; then
      passed=$((passed + 1))
    else
      echo "FAIL $name on the $path kernels:"
      printf '%s\n' "$out" | sed 's/^/       /'
      echo "       reproduce: $QB run ${args[*]} --relative-to-scale ${extra[*]}"
      failed=$((failed + 1))
    fi
  done
done
echo "torch_exports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
