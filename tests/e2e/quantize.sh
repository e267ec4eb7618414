#!/usr/bin/env bash
# End-to-end checks of `qbench quantize`: every recipe on lenet, the result evaluated with
# `qbench eval`, the file size, the calibration table written then reloaded, and the one-line
# errors (exit status 2) for bad recipes and option values. Usage: quantize.sh QBENCH SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"
MODEL="$SRC/models/lenet.onnx"

json_number() { printf '%s' "$1" | grep -o "\"$2\": *[0-9.eE+-]*" | head -1 | sed 's/.*: *//'; }
size_of() { stat -c %s "$1"; }

# Captured first: grep -q would stop reading early and, with pipefail, fail on qbench's SIGPIPE.
help="$("$QB" quantize --help)"
case "$help" in *static-int8-rr*) pass ;; *) fail "quantize --help lists the recipes" ;; esac

base="$(json_number "$("$QB" eval --model "$MODEL" --data fashion-mnist --limit 1000 --json 2>/dev/null)" top1)"
fp32_size="$(size_of "$MODEL")"

# recipe, extra options, largest size as a fraction of fp32, largest top-1 drop on 1000 images
n=0
while read -r recipe opts max_ratio max_drop; do
  n=$((n + 1))
  out="$TMP/lenet_${recipe}_$n.onnx"
  # "-": no options; commas separate options.
  [ "$opts" = "-" ] && opts="" || opts="${opts//,/ }"
  # shellcheck disable=SC2086
  if ! log="$("$QB" quantize --model "$MODEL" --recipe "$recipe" $opts --out "$out" 2>&1)"; then
    fail "quantize $recipe: $log"
    continue
  fi
  case "$log" in *coverage*saved*) pass ;; *) fail "quantize $recipe output lacks coverage/saved: $log" ;; esac
  top1="$(json_number "$("$QB" eval --model "$out" --data fashion-mnist --limit 1000 --json 2>/dev/null)" top1)"
  awk -v a="$base" -v b="$top1" -v d="$max_drop" 'BEGIN { exit !(b != "" && a - b <= d) }' &&
    pass || fail "$recipe: top-1 $top1 vs fp32 $base (allowed drop $max_drop)"
  ratio="$(awk -v a="$(size_of "$out")" -v b="$fp32_size" 'BEGIN { printf "%.3f", a / b }')"
  awk -v r="$ratio" -v m="$max_ratio" 'BEGIN { exit !(r <= m) }' &&
    pass || fail "$recipe: file is ${ratio}x of fp32, expected <= $max_ratio"
done <<'LIST'
fp32 - 1.01 0
fp16 - 0.55 0.003
bf16 - 0.55 0.003
dynamic-int8 - 0.40 0.01
dynamic-int8 --dynamic-conv 0.35 0.01
static-int8 --calib-data=fashion-mnist 0.30 0.01
static-int8 --calib-data=fashion-mnist,--per-tensor,--range=percentile 0.30 0.015
weight-only-int8 - 0.40 0.01
weight-only-int4 - 0.40 0.03
LIST

# --- the calibration table: written when the file is missing, loaded when it exists
table="$TMP/lenet.table"
"$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --calib-size 128 \
  --calib-table "$table" --out "$TMP/a.onnx" >"$TMP/a.log" 2>&1 && pass || fail "static with --calib-table"
[ -f "$table" ] && head -1 "$table" | grep -q "^# qbench calibration table" && pass || fail "table header"
grep -q "calibrated on 128 images" "$TMP/a.log" && pass || fail "calibration line: $(cat "$TMP/a.log")"
"$QB" quantize --model "$MODEL" --recipe static-int8 --calib-table "$table" --out "$TMP/b.onnx" >"$TMP/b.log" 2>&1 &&
  pass || fail "reloading the table: $(cat "$TMP/b.log")"
grep -q "loaded from" "$TMP/b.log" && pass || fail "table not reported as loaded: $(cat "$TMP/b.log")"
cmp -s "$TMP/a.onnx" "$TMP/b.onnx" && pass || fail "a reloaded table gives a different model"
grep -v '^#' "$table" | head -1 | awk '{ $5 = "abc"; print }' >"$TMP/bad.table"
expect_error "bad table" "bad.table:1" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-table "$TMP/bad.table" --out "$TMP/c.onnx"

# --- preprocessing given on the command line travels with the quantized model
"$QB" quantize --model "$MODEL" --recipe fp16 --mean 0.5 --std 0.25 --out "$TMP/pp.onnx" >/dev/null 2>&1 &&
  pass || fail "quantize with --mean/--std"
"$QB" eval --model "$TMP/pp.onnx" --data fashion-mnist --limit 64 2>/dev/null |
  grep -q "^preprocess  model metadata: mean \[0.5\] std \[0.25\]" && pass || fail "--mean/--std not in the model's metadata"

# --- a model from elsewhere with symbolic height and width (PP-OCR's direction classifier, weights
# in Constant nodes): --shape serves shape inference only; the variant keeps the symbolic dims
# and still matches ONNX Runtime's recorded output of the float model.
CLS_DIR="$SRC/tests/models/paddleocr_cls_v2"
CLS="$CLS_DIR/ch_ppocr_mobile_v2.0_cls_infer.onnx"
if [ -f "$CLS" ]; then
  for r in fp32 bf16 dynamic-int8; do
    "$QB" quantize --model "$CLS" --recipe "$r" --shape x=1,3,48,192 --out "$TMP/cls-$r.onnx" \
      >"$TMP/cls.log" 2>&1 && pass || fail "quantize $r --shape: $(cat "$TMP/cls.log")"
    "$QB" run --model "$TMP/cls-$r.onnx" --input "x=$CLS_DIR/x.npy" --relative-to-scale \
      --compare "softmax_0.tmp_0=$CLS_DIR/expected/softmax_0.tmp_0.npy:0.01" >/dev/null 2>&1 &&
      pass || fail "$r variant of the OCR classifier disagrees with ONNX Runtime"
  done
  "$QB" inspect --model "$TMP/cls-fp32.onnx" --shape x=1,3,48,192 >"$TMP/cls.txt" 2>/dev/null
  grep -q "^inputs    x f32 \[p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2\]" "$TMP/cls.txt" &&
    pass || fail "the variant lost the model's symbolic input dims"
  expect_error "quantize without --shape" "--shape x=" -- "$QB" quantize --model "$CLS" --recipe fp32 --out "$TMP/x.onnx"
fi
# Folding must not store what a small node computes (ConstantOfShape, Expand...) in the file.
FACE="$SRC/tests/models/blazeface_front/face_detection_front_128x128_barracuda.onnx"
if [ -f "$FACE" ]; then
  "$QB" quantize --model "$FACE" --recipe fp32 --out "$TMP/face.onnx" >/dev/null 2>&1 &&
    [ "$(stat -c %s "$TMP/face.onnx")" -le $(( $(stat -c %s "$FACE") * 101 / 100 )) ] &&
    pass || fail "fp32 variant of BlazeFace grew: $(stat -c %s "$TMP/face.onnx") vs $(stat -c %s "$FACE") bytes"
fi

# --- one-line errors, exit status 2
expect_error "unknown recipe" "unknown recipe 'int3'" -- "$QB" quantize --model "$MODEL" --recipe int3 --out "$TMP/x.onnx"
expect_error "unknown range method" "unknown range method 'kl'" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --range kl --out "$TMP/x.onnx"
expect_error "bad percentile" "--percentile" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --range percentile --percentile 150 --out "$TMP/x.onnx"
expect_error "bad group size" "--group-size" -- "$QB" quantize --model "$MODEL" --recipe weight-only-int4 --group-size 48 --out "$TMP/x.onnx"
expect_error "group size on another recipe" "--group-size" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --group-size 32 --out "$TMP/x.onnx"
expect_error "bad activations" "--activations" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --activations u4 --out "$TMP/x.onnx"
expect_error "static without data" "--calib-data" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --out "$TMP/x.onnx"
expect_error "bad calib size" "--calib-size" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data fashion-mnist --calib-size 0 --out "$TMP/x.onnx"
expect_error "bad calib data" "nope" -- "$QB" quantize --model "$MODEL" --recipe static-int8 --calib-data nope --out "$TMP/x.onnx"
expect_error "missing model" "missing.onnx" -- "$QB" quantize --model "$TMP/missing.onnx" --recipe fp16 --out "$TMP/x.onnx"
expect_error "missing --out" "--out" -- "$QB" quantize --model "$MODEL" --recipe fp16

echo "quantize: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
