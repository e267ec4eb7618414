#!/usr/bin/env bash
# End-to-end checks of `qbench debug` and `qbench tune` as a user runs them: a calibration table with one range cut
# to a tenth (edited by hand, as a user would), the layer using it ranked first in the console,
# JSON and HTML, and the one-line errors for recipes debug does not study. Usage: debug.sh QBENCH
# SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"
MODEL="$SRC/models/lenet.onnx"

# A table from quantize, then the second convolution's output range (the Relu after it) cut to
# 10%: max and scale divided by ten.
"$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --calib-size 256 \
  --save-calib-table "$TMP/full.calib" --out "$TMP/q.onnx" >/dev/null 2>&1 && pass || fail "quantize"
line="$(grep -v '^#' "$TMP/full.calib" | sed -n 3p)"
tensor="${line%% *}"
awk -v t="$tensor" '$1 == t { $2 = "edited"; $4 = $4 / 10; $5 = $5 / 10 } { print }' \
  "$TMP/full.calib" >"$TMP/broken.calib"
grep -q "^$tensor edited" "$TMP/broken.calib" && pass || fail "edit the table: $(cat "$TMP/broken.calib")"

if out="$("$QB" debug --model "$MODEL" --data fashion-mnist --images 200 --kernel-images 2 \
  --calib-table "$TMP/broken.calib" --json "$TMP/d.json" --html "$TMP/d.html" 2>/dev/null)"; then
  pass
else
  fail "debug exit status: $out"
fi
first="$(printf '%s\n' "$out" | grep -E '^1 ' | awk '{print $2}')"
# The tensor is the output of the Relu the convolution absorbs: ".../features.4/Relu_output_0"
# belongs to ".../features.3/Conv".
[ "$first" = "/features/features.3/Conv" ] && pass || fail "ranked first: '$first' (tensor $tensor)\n$out"
grep -q '"ranked_by": "only_sqnr"' "$TMP/d.json" && pass || fail "JSON ranked_by"
json_first="$(grep -m1 '"name"' "$TMP/d.json" | sed 's/.*"name": *"\([^"]*\)".*/\1/')"
[ "$json_first" = "/features/features.3/Conv" ] && pass || fail "JSON first layer '$json_first'"
grep -q '<svg' "$TMP/d.html" && grep -q 'features.3/Conv' "$TMP/d.html" && pass ||
  fail "HTML report lacks the plot or the layer"

expect_error "debug of bf16" "static-int8" -- "$QB" debug --model "$MODEL" --data fashion-mnist --recipe bf16
expect_error "debug without --data" "--data" -- "$QB" debug --model "$MODEL"
expect_error "debug --images 0" "--images" -- "$QB" debug --model "$MODEL" --data fashion-mnist --images 0

# --- tune: the chosen model, its table and the trace; bad option values are one-line errors.
if out="$("$QB" tune --model "$MODEL" --data fashion-mnist --tune-images 300 --calib-size 256 \
  --objective size --ranges mse --out "$TMP/t.onnx" --save-calib-table "$TMP/t.calib" 2>/dev/null)"; then
  pass
else
  fail "tune exit status: $out"
fi
printf '%s\n' "$out" | grep -q '<- chosen' && pass || fail "tune marks no choice: $out"
[ -s "$TMP/t.onnx" ] && [ -s "$TMP/t.calib" ] && pass || fail "tune wrote no model or table"
grep -q '"trials"' "$TMP/t.onnx.trace.json" && grep -q '"met": true' "$TMP/t.onnx.trace.json" && pass ||
  fail "tune trace: $(head -c 400 "$TMP/t.onnx.trace.json")"
"$QB" eval --model "$TMP/t.onnx" --data fashion-mnist --limit 200 >/dev/null 2>&1 && pass ||
  fail "the tuned model does not evaluate"
expect_error "tune --drop-type" "--drop-type" -- "$QB" tune --model "$MODEL" --data fashion-mnist --out "$TMP/x.onnx" --drop-type median
expect_error "tune --ranges" "range" -- "$QB" tune --model "$MODEL" --data fashion-mnist --out "$TMP/x.onnx" --ranges kl

echo "debug: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
