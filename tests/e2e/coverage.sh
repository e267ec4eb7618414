#!/usr/bin/env bash
# One coverage (issue 12): the coverage line `qbench quantize` prints for the file it wrote is the
# line `qbench inspect` prints for that file (both from its compiled plan at batch 1), for every
# recipe on every zoo model. Usage: coverage.sh QBENCH SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"

for model in lenet mlp mobilenet resnet vit mobilenetv2; do
  while read -r recipe opts; do
    [ "$opts" = "-" ] && opts="" || opts="${opts//,/ }"
    out="$TMP/${model}_${recipe}.onnx"
    # shellcheck disable=SC2086
    if ! log="$("$QB" quantize --model "$SRC/models/$model.onnx" --recipe "$recipe" $opts \
      --out "$out" 2>&1)"; then
      fail "quantize $model $recipe: $log"
      continue
    fi
    q="$(printf '%s\n' "$log" | sed -n 's/^coverage  *\(.*\) (batch 1, this machine)$/\1/p')"
    i="$("$QB" inspect --model "$out" 2>&1 | sed -n 's/^coverage  *//p')"
    [ -n "$q" ] && [ "$q" = "$i" ] && pass ||
      fail "$model $recipe $opts: quantize says '$q', inspect says '$i'"
  done <<'LIST'
fp32 -
fp16 -
bf16 -
dynamic-int8 -
dynamic-int8 --dynamic-conv
static-int8 --calib-data=fashion-mnist,--calib-size=64
static-int8 --calib-data=fashion-mnist,--calib-size=64,--per-tensor,--activations=s8
static-int8-rr --calib-data=fashion-mnist,--calib-size=64
weight-only-int8 -
weight-only-int4 -
LIST
done
echo "coverage: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
