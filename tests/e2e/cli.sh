#!/usr/bin/env bash
# End-to-end checks of the qbench CLI as a user runs it: help, eval, inspect, and the one-line
# errors (exit status 2) that bad input must give. Usage: cli.sh QBENCH_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"

# expect_json_field JSON FIELD -> prints the numeric value of "FIELD": N
json_number() { printf '%s' "$1" | grep -o "\"$2\": *[0-9.eE+-]*" | head -1 | sed 's/.*: *//'; }

# --- help covers every subcommand
help="$("$QB" --help)" && pass || fail "--help exit status"
for sub in eval inspect demo; do
  case "$help" in *"$sub"*) pass ;; *) fail "--help does not list $sub" ;; esac
  "$QB" "$sub" --help >/dev/null && pass || fail "$sub --help"
done

# --- eval --json prints n, top1, top5 as fractions
json="$("$QB" eval --model "$SRC/models/lenet.onnx" --data fashion-mnist --limit 500 --json 2>/dev/null)"
[ "$(json_number "$json" n)" = "500" ] && pass || fail "eval --json n: $json"
top1="$(json_number "$json" top1)"
awk -v t="$top1" 'BEGIN { exit !(t > 0.8 && t <= 1.0) }' && pass || fail "eval --json top1 $top1"
top5="$(json_number "$json" top5)"
awk -v a="$top1" -v b="$top5" 'BEGIN { exit !(b >= a && b <= 1.0) }' && pass || fail "top5 $top5"

# --- a model not in the zoo, exported with PyTorch's default options (fixed batch 1, no
# metadata), evaluates to PyTorch's accuracy with the default preprocessing.
if [ -f "$SRC/tests/data/stranger.onnx" ]; then
  json="$("$QB" eval --model "$SRC/tests/data/stranger.onnx" --data fashion-mnist --json 2>/dev/null)"
  got="$(json_number "$json" correct_top1)"
  want="$(json_number "$(cat "$SRC/tests/data/stranger.json")" correct_top1)"
  [ -n "$got" ] && [ "$got" = "$want" ] && pass || fail "stranger model: correct_top1 $got, PyTorch $want"
fi

# --- inspect names the kernel of each node
out="$("$QB" inspect --model "$SRC/models/lenet.onnx")"
# The kernel column names oneDNN's implementation ("brgconv:avx512_core", "jit_uni_int8:avx2").
printf '%s\n' "$out" | grep -Eq '^[0-9]+ .* Conv\+Relu .* [a-z_0-9]+:[a-z_0-9]+' && pass ||
  fail "inspect does not show Conv on a oneDNN implementation: $out"
case "$out" in *"int8      "*"bf16      "*) pass ;; *) fail "inspect lacks the int8/bf16 paths: $out" ;; esac
json="$("$QB" inspect --model "$SRC/models/lenet.onnx" --json)"
case "$json" in *'"macs"'*'"kernel"'*) pass ;; *) fail "inspect --json: $json" ;; esac
case "$json" in *'"mean_us"'*) fail "inspect --json without --profile has times: $json" ;; *) pass ;; esac
# --profile --json: every node has its mean time.
json="$("$QB" inspect --model "$SRC/models/lenet.onnx" --profile 3 --json)"
nodes="$(printf '%s' "$json" | grep -c '"op_type"')"
timed="$(printf '%s' "$json" | grep -c '"mean_us": [0-9]')"
[ "$nodes" -gt 0 ] && [ "$timed" = "$nodes" ] && pass ||
  fail "inspect --profile --json: $timed of $nodes nodes have mean_us: $json"

# --- bad input: one line on stderr naming what was wrong, exit status 2
expect_error "missing model" "$TMP/nope.onnx" -- "$QB" eval --model "$TMP/nope.onnx" --data fashion-mnist
echo "not a model" >"$TMP/text.onnx"
expect_error "text file as model" "not a valid ONNX model" -- "$QB" eval --model "$TMP/text.onnx" --data fashion-mnist
head -c 20000 "$SRC/models/lenet.onnx" >"$TMP/trunc.onnx"
expect_error "truncated model" "$TMP/trunc.onnx" -- "$QB" inspect --model "$TMP/trunc.onnx"
expect_error "unknown dataset" "cifar" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data cifar
expect_error "missing data dir" "$TMP/none" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data "mnist:$TMP/none"
# IDX with a wrong magic number
mkdir -p "$TMP/badidx"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$TMP/badidx/t10k-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x00' >"$TMP/badidx/t10k-labels-idx1-ubyte"
expect_error "IDX wrong magic" "magic number" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data "mnist:$TMP/badidx"
# IDX truncated: header says 2 images of 28x28, only 10 bytes follow
mkdir -p "$TMP/shortidx"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c 10 /dev/zero; } >"$TMP/shortidx/t10k-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x00\x01' >"$TMP/shortidx/t10k-labels-idx1-ubyte"
expect_error "IDX truncated" "truncated" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data "mnist:$TMP/shortidx"
# images of the wrong size for the model: 2 images of 3x3
mkdir -p "$TMP/smallidx"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x03'; head -c 18 /dev/zero; } >"$TMP/smallidx/t10k-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x00\x01' >"$TMP/smallidx/t10k-labels-idx1-ubyte"
expect_error "image size mismatch" "1x3x3" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data "mnist:$TMP/smallidx"
expect_error "bad --mean" "--mean" -- "$QB" eval --model "$SRC/models/lenet.onnx" --data fashion-mnist --mean abc
expect_error "bad option" "--bogus" -- "$QB" eval --model m.onnx --data fashion-mnist --bogus
expect_error "missing required option" "--model" -- "$QB" eval --data fashion-mnist

# --- models with symbolic dims other than the batch (an OCR detector's height and width)
DET="$SRC/tests/models/paddleocr_det_v4/ch_PP-OCRv4_det_infer.onnx"
if [ -f "$DET" ]; then
  "$QB" inspect --model "$DET" --shape x=1,3,64,96 --json >"$TMP/det.json" 2>/dev/null &&
    grep -q '"macs"' "$TMP/det.json" && pass || fail "inspect --shape on the OCR detector"
  "$QB" bench --model "$DET" --shape x=1,3,64,96 --batch 2 --min-queries 3 --min-seconds 0 \
    --warmup-s 0 --warmup-queries 1 --quiet --json >"$TMP/det_bench.json" 2>/dev/null &&
    grep -q '"p50"' "$TMP/det_bench.json" && pass || fail "bench --shape on the OCR detector"
  expect_error "symbolic dims without --shape" "--shape x=" -- "$QB" inspect --model "$DET"
  expect_error "--shape of the wrong rank" "declares rank 4" -- "$QB" inspect --model "$DET" --shape x=1,3,64
  expect_error "--shape of an unknown input" "not a model input" -- "$QB" inspect --model "$DET" --shape y=1,3,64,96
  expect_error "--shape with a bad dim" "not a dimension" -- "$QB" inspect --model "$DET" --shape x=1,3,h,96
fi
expect_error "--shape against a fixed dim" "fixed at 28" -- "$QB" inspect --model "$SRC/models/lenet.onnx" --shape input=1,1,32,32

echo "cli: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
