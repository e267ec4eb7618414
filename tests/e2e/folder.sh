#!/usr/bin/env bash
# qbench on an ImageNet-style image folder (tests/data/image_folder, made by
# tests/data/make_image_folder.py): eval gives PyTorch's predictions (torchvision ImageFolder,
# Resize + CenterCrop + Normalize, same model), static-int8 calibrates on the train/ split,
# compare runs, a grayscale model reads PNG files with --grayscale, and bad folders give one-line
# errors with exit status 2.
# The same for imagenet-val: eval scores torchvision's labels.
# Usage: folder.sh QBENCH_BINARY SOURCE_DIR
set -uo pipefail
QB="$1"
SRC="$2"
DIR="$SRC/tests/data/image_folder"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

MODEL="$DIR/tiny_rgb.onnx"
NORM=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
IMG=(--resize 20 --crop 16)

# --- eval: PyTorch's predictions, whatever the batch and thread count
for opts in "--batch 64 --threads 1" "--batch 4 --threads 2"; do
  # shellcheck disable=SC2086
  if "$QB" eval --model "$MODEL" --data "folder:$DIR" "${NORM[@]}" "${IMG[@]}" $opts \
      --predictions "$TMP/pred.txt" >"$TMP/eval.txt" 2>"$TMP/eval.err"; then
    pass
    cmp -s "$TMP/pred.txt" "$DIR/tiny_rgb.pred.txt" && pass ||
      fail "eval $opts: predictions differ from PyTorch's: $(tr '\n' ' ' <"$TMP/pred.txt")"
  else
    fail "eval $opts: $(cat "$TMP/eval.err")"
  fi
done
grep -q "folder (test, $DIR/val), 11 images" "$TMP/eval.txt" && pass ||
  fail "eval names the val split: $(cat "$TMP/eval.txt")"

# --- a grayscale model (the zoo's LeNet) on Fashion-MNIST test images stored as PNG files:
# PyTorch's predictions (models/reference), but for at most one near-tie
FM="$SRC/tests/data/fmnist_folder"
if "$QB" eval --model "$SRC/models/lenet.onnx" --data "folder:$FM" --grayscale --resize 28 \
    --crop 28 --predictions "$TMP/lenet.txt" >/dev/null 2>"$TMP/lenet.err"; then
  pass
  differ="$(paste "$TMP/lenet.txt" "$FM/lenet.pred.txt" | awk '$1 != $2' | wc -l)"
  [ "$(wc -l <"$TMP/lenet.txt")" -eq 100 ] && [ "$differ" -le 1 ] && pass ||
    fail "lenet on the PNG folder: $differ of $(wc -l <"$TMP/lenet.txt") predictions differ from PyTorch's"
else
  fail "lenet on the PNG folder: $(cat "$TMP/lenet.err")"
fi
expect_error "RGB images for a grayscale model" "--grayscale" -- \
  "$QB" eval --model "$SRC/models/lenet.onnx" --data "folder:$FM" --resize 28 --crop 28

# --- static-int8 calibrates on train/ with the same preprocessing, and the result evaluates
if "$QB" quantize --model "$MODEL" --recipe static-int8 --out "$TMP/s8.onnx" \
    --calib-data "folder:$DIR" --calib-size 5 "${NORM[@]}" "${IMG[@]}" >"$TMP/q.txt" 2>&1; then
  pass
  grep -q "folder (train, $DIR/train)" "$TMP/q.txt" && pass || fail "quantize names the train split: $(cat "$TMP/q.txt")"
  json="$("$QB" eval --model "$TMP/s8.onnx" --data "folder:$DIR" "${NORM[@]}" "${IMG[@]}" --json 2>/dev/null)"
  case "$json" in *'"n": 11'*) pass ;; *) fail "eval of the int8 model: $json" ;; esac
else
  fail "quantize: $(cat "$TMP/q.txt")"
fi

# --- compare on the folder
if "$QB" compare --model "$MODEL" --data "folder:$DIR" "${NORM[@]}" "${IMG[@]}" \
    --recipes fp32,static-int8 --calib-size 5 --min-seconds 0.05 --min-queries 5 --warmup-s 0.01 \
    --out "$TMP/cmp" >"$TMP/cmp.txt" 2>"$TMP/cmp.err"; then
  pass
  grep -q '"images": 11' "$TMP/cmp/results.json" && pass || fail "compare: results.json lacks 11 images"
else
  fail "compare: $(tail -3 "$TMP/cmp.err")"
fi

# --- the ImageNet validation set as distributed (tests/data/imagenet_val, made by
# tests/data/make_imagenet_val.py): eval scores each image against the label torchvision gives
# it (devkit/labels.txt), so its top-1 is the share of its predictions equal to those labels.
IV="$SRC/tests/data/imagenet_val"
# The zoo LeNet (10 outputs) on the 5-class set, as grayscale 28x28.
if "$QB" eval --model "$SRC/models/lenet.onnx" --data "imagenet-val:$IV/devkit/val" --grayscale \
    --resize 28 --crop 28 --predictions "$TMP/iv.txt" --json >"$TMP/iv.json" 2>"$TMP/iv.err"; then
  python3 - "$TMP/iv.json" "$TMP/iv.txt" "$IV/devkit/labels.txt" <<'PY' && pass || fail "imagenet-val eval: top-1 is not the share of predictions equal to torchvision's labels"
import json, sys
r = json.load(open(sys.argv[1]))
pred = [int(l) for l in open(sys.argv[2])]
labels = [int(l) for l in open(sys.argv[3])]
assert r["n"] == len(pred) == len(labels) == 14, (r["n"], len(pred))
assert abs(r["top1"] - sum(p == l for p, l in zip(pred, labels)) / 14) < 1e-12, r["top1"]
PY
else
  fail "imagenet-val eval: $(cat "$TMP/iv.err")"
fi
expect_error "imagenet-val on a class folder" "is not named like a validation image" -- \
  "$QB" eval --model "$MODEL" --data "imagenet-val:$DIR/val/zebra" "${NORM[@]}" "${IMG[@]}"

# --- errors: one line, exit status 2, naming what is wrong
expect_error "missing folder" "image folder '$TMP/nope' does not exist" -- \
  "$QB" eval --model "$MODEL" --data "folder:$TMP/nope" "${IMG[@]}"
mkdir -p "$TMP/flat"
cp "$DIR/val/zebra/a.jpg" "$TMP/flat/"
expect_error "no class folders" "no class subfolders" -- \
  "$QB" eval --model "$MODEL" --data "folder:$TMP/flat" "${IMG[@]}"
mkdir -p "$TMP/bad/cat"
cp "$DIR/val/zebra/a.jpg" "$TMP/bad/cat/1.jpg"
head -c 300 "$DIR/val/zebra/a.jpg" >"$TMP/bad/cat/2.jpg"
expect_error "corrupt image" "image '$TMP/bad/cat/2.jpg' is corrupt" -- \
  "$QB" eval --model "$MODEL" --data "folder:$TMP/bad" "${IMG[@]}"
expect_error "crop differs from the model's input" "set --crop" -- \
  "$QB" eval --model "$MODEL" --data "folder:$DIR"
expect_error "crop larger than resize" "--crop 32 is larger than --resize 20" -- \
  "$QB" eval --model "$MODEL" --data "folder:$DIR" --resize 20 --crop 32

echo "folder.sh: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
