#!/usr/bin/env bash
# End-to-end checks of `qbench run`: LeNet on 64 Fashion-MNIST test images must reproduce
# PyTorch's logits (models/reference/lenet.logits64.npy) within 1e-4 on both kernel paths,
# --compare must fail (exit 1) on wrong expectations, and bad inputs must give one-line errors
# (exit 2). Usage: run_cmd.sh QBENCH_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"

# make_npy FILE DESCR SHAPE DATA_PRINTF: a .npy (version 1) with the given dtype descr ('<f4'),
# shape tuple text ('2, 3' or '' for a 0-d scalar) and data bytes as a printf format.
make_npy() {
  local file="$1" descr="$2" shape="$3" data="$4"
  local header="{'descr': '$descr', 'fortran_order': False, 'shape': ($shape), }"
  local pad=$(((64 - (10 + ${#header} + 1) % 64) % 64))
  header="$header$(printf '%*s' "$pad" '')"
  local len=$((${#header} + 1))
  {
    printf '\x93NUMPY\x01\x00'
    printf "\\x$(printf '%02x' $((len & 255)))\\x$(printf '%02x' $((len >> 8)))"
    printf '%s\n' "$header"
    printf "$data"
  } >"$file"
}

LENET="$SRC/models/lenet.onnx"
INPUT="$SRC/tests/data/lenet_input64.npy"
LOGITS="$SRC/models/reference/lenet.logits64.npy"

# --- LeNet reproduces PyTorch's logits on both kernel paths and writes them as .npy
out="$("$QB" run --model "$LENET" --input "input=$INPUT" --out "$TMP/out" --compare "logits=$LOGITS:1e-4")"
rc=$?
[ "$rc" -eq 0 ] && pass || fail "run lenet --compare: exit status $rc: $out"
case "$out" in *"logits  f32 [64, 10]  min "*"max "*"mean "*) pass ;; *) fail "run lenet summary: $out" ;; esac
case "$out" in *"compare logits"*"max abs error"*": ok"*) pass ;; *) fail "run lenet compare line: $out" ;; esac
[ -s "$TMP/out/logits.npy" ] && pass || fail "run --out did not write logits.npy"
# The written file is PyTorch's logits too (what --out saved, checked by an independent run).
out="$("$QB" run --model "$LENET" --input "$INPUT" --compare "logits=$TMP/out/logits.npy:1e-4" \
  --compare "logits=$LOGITS:1e-4")" && pass || fail "saved logits.npy: $out"
head -c 128 "$TMP/out/logits.npy" | grep -q "'descr': '<f4', 'fortran_order': False, 'shape': (64, 10)" \
  && pass || fail "saved logits.npy header"
out="$("$QB" run --model "$LENET" --input "input=$INPUT" --reference --threads 2 --compare "logits=$LOGITS")"
rc=$?
[ "$rc" -eq 0 ] && pass || fail "run lenet --reference --compare: exit status $rc: $out"

# --- --compare fails (exit 1) against the wrong expectation, printing the error
out="$("$QB" run --model "$LENET" --input "input=$INPUT" --compare "logits=$SRC/models/reference/mlp.logits64.npy")"
rc=$?
[ "$rc" -eq 1 ] && pass || fail "compare with mlp logits: exit status $rc, expected 1"
case "$out" in *"MISMATCH"*"index"*"got"*"want"*) pass ;; *) fail "compare mismatch text: $out" ;; esac
make_npy "$TMP/logits_shape.npy" '<f4' '10, 64' ''
head -c 2560 /dev/zero >>"$TMP/logits_shape.npy"
out="$("$QB" run --model "$LENET" --input "input=$INPUT" --compare "logits=$TMP/logits_shape.npy")"
rc=$?
[ "$rc" -eq 1 ] && pass || fail "compare with a transposed shape: exit status $rc, expected 1"
case "$out" in *"MISMATCH (shape [64, 10], expected [10, 64])"*) pass ;; *) fail "compare shape text: $out" ;; esac

# --- bad input: one line on stderr naming what was wrong, exit status 2
expect_error "missing input" "no --input for model input 'input'" -- "$QB" run --model "$LENET"
expect_error "unknown input name" "has no input 'image'; its inputs are 'input'" -- \
  "$QB" run --model "$LENET" --input "image=$INPUT"
expect_error "input given twice" "given twice" -- \
  "$QB" run --model "$LENET" --input "input=$INPUT" --input "input=$INPUT"
make_npy "$TMP/f64.npy" '<f8' '1, 1, 28, 28' ''
head -c 6272 /dev/zero >>"$TMP/f64.npy"
expect_error "wrong dtype" "is f64 but the model expects f32" -- "$QB" run --model "$LENET" --input "input=$TMP/f64.npy"
make_npy "$TMP/shape.npy" '<f4' '2, 3' '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
expect_error "wrong shape" "has shape [2, 3] but the model expects [batch, 1, 28, 28]" -- \
  "$QB" run --model "$LENET" --input "input=$TMP/shape.npy"
expect_error "missing .npy" "$TMP/none.npy" -- "$QB" run --model "$LENET" --input "input=$TMP/none.npy"
echo "not numpy" >"$TMP/text.npy"
expect_error "not a .npy" "not a .npy file" -- "$QB" run --model "$LENET" --input "input=$TMP/text.npy"
expect_error "unknown compare output" "has no output 'probs'" -- \
  "$QB" run --model "$LENET" --input "$INPUT" --compare "probs=$LOGITS"
expect_error "bad compare tolerance" "tolerance must be a number >= 0" -- \
  "$QB" run --model "$LENET" --input "$INPUT" --compare "logits=$LOGITS:-1"

# --- integer inputs, several named inputs (ONNX's own test model, when installed): 1^4, 2^5, 3^6
POW=/usr/share/libonnx-testdata/data/node/test_pow_types_int32_int32/model.onnx
if [ -f "$POW" ]; then
  make_npy "$TMP/x.npy" '<i4' '3,' '\1\0\0\0\2\0\0\0\3\0\0\0'
  make_npy "$TMP/y.npy" '<i4' '3,' '\4\0\0\0\5\0\0\0\6\0\0\0'
  make_npy "$TMP/z.npy" '<i4' '3,' '\1\0\0\0\40\0\0\0\331\2\0\0'
  out="$("$QB" run --model "$POW" --input "y=$TMP/y.npy" --input "x=$TMP/x.npy" --compare "z=$TMP/z.npy:0")"
  rc=$?
  [ "$rc" -eq 0 ] && pass || fail "pow int32: exit status $rc: $out"
  case "$out" in *"z  i32 [3]  min 1 max 729 mean 254"*) pass ;; *) fail "pow int32 summary: $out" ;; esac
fi

# --- 0-d scalar inputs (ONNX's Clip example: clip([-2, 0, 2], -1, 1) = [-1, 0, 1])
CLIP=/usr/share/libonnx-testdata/data/node/test_clip_example/model.onnx
if [ -f "$CLIP" ]; then
  make_npy "$TMP/cx.npy" '<f4' '3,' '\0\0\0\300\0\0\0\0\0\0\0\100'
  make_npy "$TMP/cmin.npy" '<f4' '' '\0\0\200\277'
  make_npy "$TMP/cmax.npy" '<f4' '' '\0\0\200\77'
  make_npy "$TMP/cy.npy" '<f4' '3,' '\0\0\200\277\0\0\0\0\0\0\200\77'
  out="$("$QB" run --model "$CLIP" --input "x=$TMP/cx.npy" --input "min=$TMP/cmin.npy" \
    --input "max=$TMP/cmax.npy" --compare "y=$TMP/cy.npy:0" --out "$TMP/clip")"
  rc=$?
  [ "$rc" -eq 0 ] && pass || fail "clip with scalar bounds: exit status $rc: $out"
  make_npy "$TMP/cmin1.npy" '<f4' '1,' '\0\0\200\277'
  expect_error "rank-1 for a scalar input" "has shape [1] but the model expects []" -- \
    "$QB" run --model "$CLIP" --input "x=$TMP/cx.npy" --input "min=$TMP/cmin1.npy" --input "max=$TMP/cmax.npy"
fi

echo "run_cmd: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
