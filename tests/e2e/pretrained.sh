#!/usr/bin/env bash
# Pretrained ONNX models written by others (tests/models/*/model.json: OCR, voice activity, face
# detection, speech features) run through `qbench run` as a user would, on the optimized and on the
# reference kernels, and every output must match ONNX Runtime's, recorded by
# tests/models/record_ort.js, within the model's tolerance relative to the output's scale
# (--relative-to-scale). Then the mistakes a new user makes with such models (int32 or 1-element
# sample rates, NCHW data for an NHWC model, 'input' for 'input:0') must give one-line errors with
# a hint, and --out must write outputs whose names are longer than a file name may be.
# A model whose manifest lists "not_yet_supported" ops is reported as not yet supported, with the
# ops, when qbench refuses it for exactly those ops (or a subset); it fails when it refuses other
# ops, fails another way, or runs and matches (then the list is stale and must shrink).
# "expected_error" (a fragment of qbench's error) marks a known failure that is not a missing op.
# Usage: pretrained.sh QBENCH_BINARY SOURCE_DIR [MODEL_NAME...]
set -uo pipefail
QB="$1"
SRC="$2"
shift 2
ONLY=("$@")
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
skipped=0
skipped_list=()

# Prints one line per fact of a manifest, fields separated by tabs: "model PATH SHA256", "input NAME
# PATH", "compare NAME PATH TOL", "missing OP", "error FRAGMENT".
read_manifest() {
  python3 - "$1" <<'PY'
import json, os, sys
path = sys.argv[1]
d = os.path.dirname(path)
m = json.load(open(path))
print("model\t{}\t{}".format(os.path.join(d, m["model"]), m["source"]["sha256"]))
for i in m["inputs"]:
    print("input\t{}\t{}".format(i["name"], os.path.join(d, i["file"])))
for o in m["outputs"]:
    print("compare\t{}\t{}\t{}".format(o["name"], os.path.join(d, o["file"]), m.get("tolerance", 1e-4)))
for op in m.get("not_yet_supported", []):
    print("missing\t" + op)
if m.get("expected_error"):
    print("error\t" + m["expected_error"])
PY
}

for manifest in "$SRC"/tests/models/*/model.json; do
  name="$(basename "$(dirname "$manifest")")"
  if [ "${#ONLY[@]}" -gt 0 ] && [[ ! " ${ONLY[*]} " == *" $name "* ]]; then continue; fi
  spec="$(read_manifest "$manifest")" || { echo "FAIL $name: cannot read $manifest"; failed=$((failed + 1)); continue; }
  args=()
  missing=()
  expected_error=""
  sha=""
  while IFS=$'\t' read -r kind a b c; do
    case "$kind" in
      model)
        args+=(--model "$a")
        sha="$(sha256sum "$a" | cut -d' ' -f1)"
        [ "$sha" = "$b" ] || sha="differs: $a has sha256 $sha, model.json says $b"
        ;;
      input) args+=(--input "$a=$b") ;;
      compare) args+=(--compare "$a=$b:$c") ;;
      missing) missing+=("$a") ;;
      error) expected_error="$a" ;;
    esac
  done <<<"$spec"
  if [[ "$sha" == differs* ]]; then
    echo "FAIL $name: the model file is not the one the references were recorded from ($sha)"
    failed=$((failed + 1))
    continue
  fi

  # Both kernel paths; the reference one only once the default one has passed.
  out_default=""
  for path in default reference; do
    extra=()
    [ "$path" = reference ] && extra=(--reference)
    out="$("$QB" run "${args[@]}" --relative-to-scale "${extra[@]}" 2>"$TMP/err")"
    rc=$?
    err="$(cat "$TMP/err")"
    [ "$rc" -eq 0 ] || break
    [ "$path" = default ] && out_default="$out"
  done
  if [ "$rc" -eq 0 ]; then
    if [ "${#missing[@]}" -gt 0 ] || [ -n "$expected_error" ]; then
      echo "FAIL $name: runs and matches ONNX Runtime now; remove not_yet_supported/expected_error from $manifest"
      failed=$((failed + 1))
    else
      echo "ok   $name"
      printf '%s\n' "$out_default" | grep '^compare ' | sed 's/^/       /'
      passed=$((passed + 1))
    fi
    continue
  fi
  # The op types qbench names in "unsupported op(s) at opset N: Op (node 'x'), ...".
  refused=()
  if [[ "$err" == *"unsupported op"* ]]; then
    mapfile -t refused < <(printf '%s\n' "$err" | grep -o "[A-Za-z0-9_.]* (node '" | sed "s/ (node '$//" | sort -u)
  fi
  unexpected=()
  for op in "${refused[@]}"; do
    [[ " ${missing[*]} " == *" $op "* ]] || unexpected+=("$op")
  done
  if [ "${#refused[@]}" -gt 0 ] && [ "${#unexpected[@]}" -eq 0 ]; then
    echo "not yet supported: $name (missing ops: ${refused[*]})"
    skipped=$((skipped + 1))
    skipped_list+=("$name")
  elif [ -n "$expected_error" ] && [[ "$err" == *"$expected_error"* ]]; then
    echo "not yet supported: $name (known failure: $expected_error)"
    skipped=$((skipped + 1))
    skipped_list+=("$name")
  else
    echo "FAIL $name: exit status $rc on the $path kernels"
    [ "${#unexpected[@]}" -gt 0 ] && echo "       missing ops not listed in not_yet_supported: ${unexpected[*]}"
    printf '%s\n' "$out" "$err" | grep -v '^$' | sed 's/^/       /'
    echo "       reproduce: $QB run ${args[*]} --relative-to-scale ${extra[*]}"
    failed=$((failed + 1))
  fi
done

# --- a new user's mistakes with these models: one-line errors (exit status 2) with a hint
if [ "${#ONLY[@]}" -eq 0 ]; then
  # expect_error "description" "fragment that stderr must contain" -- command...
  expect_error() {
    local what="$1" fragment="$2"
    shift 3
    local e rc
    e="$("$@" 2>&1 >/dev/null)"
    rc=$?
    if [ "$rc" -ne 2 ] || [ "$(printf '%s\n' "$e" | wc -l)" -ne 1 ] || [[ "$e" != *"$fragment"* ]]; then
      echo "FAIL usage: $what: exit status $rc, expected 2 and one line with '$fragment': $e"
      failed=$((failed + 1))
    else
      passed=$((passed + 1))
    fi
  }
  # npy_header FILE DESCR SHAPE: the header of a version-1 .npy; the caller appends the data.
  npy_header() {
    local header="{'descr': '$2', 'fortran_order': False, 'shape': ($3), }"
    local pad=$(((64 - (10 + ${#header} + 1) % 64) % 64))
    header="$header$(printf '%*s' "$pad" '')"
    local len=$((${#header} + 1))
    {
      printf '\x93NUMPY\x01\x00'
      printf "\\x$(printf '%02x' $((len & 255)))\\x$(printf '%02x' $((len >> 8)))"
      printf '%s\n' "$header"
    } >"$1"
  }
  M="$SRC/tests/models"
  VAD=(--model "$M/silero_vad_legacy/silero_vad_legacy.onnx" --input "input=$M/silero_vad_legacy/input.npy"
    --input "h=$M/silero_vad_legacy/h.npy" --input "c=$M/silero_vad_legacy/c.npy")
  npy_header "$TMP/sr_i32.npy" '<i4' ''
  printf '\x80\x3e\0\0' >>"$TMP/sr_i32.npy"
  expect_error "int32 sample rate" "is i32 but the model expects i64 (save it with numpy's .astype(numpy.int64))" -- \
    "$QB" run "${VAD[@]}" --input "sr=$TMP/sr_i32.npy"
  npy_header "$TMP/sr_1.npy" '<i8' '1,'
  printf '\x80\x3e\0\0\0\0\0\0' >>"$TMP/sr_1.npy"
  expect_error "1-element sample rate" "has shape [1] but the model expects [] (a 0-d array" -- \
    "$QB" run "${VAD[@]}" --input "sr=$TMP/sr_1.npy"
  expect_error "missing 0-d input" "no --input for model input 'sr' (i64 [])" -- "$QB" run "${VAD[@]}"
  expect_error "bare file for a 4-input model" "must be NAME=FILE.npy (the model has 4 inputs: 'input' (f32 [batch, sequence]), 'sr' (i64 [])" -- \
    "$QB" run --model "$M/silero_vad_legacy/silero_vad_legacy.onnx" --input "$M/silero_vad_legacy/input.npy"
  FACE="$M/blazeface_front/face_detection_front_128x128_barracuda.onnx"
  npy_header "$TMP/nchw.npy" '<f4' '1, 3, 128, 128'
  head -c $((3 * 128 * 128 * 4)) /dev/zero >>"$TMP/nchw.npy"
  expect_error "NCHW data for an NHWC model" "expects [1, 128, 128, 3] (the same sizes in another order: check the layout" -- \
    "$QB" run --model "$FACE" --input "$TMP/nchw.npy"
  expect_error "input name without ':0'" "has no input 'input'; its inputs are 'input:0' (f32 [1, 128, 128, 3])" -- \
    "$QB" run --model "$FACE" --input "input=$M/blazeface_front/input_0.npy"

  # --relative-to-scale still fails (exit status 1) on a real difference: ONNX Runtime's
  # classificator scores with the last element's top byte changed.
  want="$M/blazeface_front/expected/Identity_0.npy"
  cp "$want" "$TMP/wrong.npy"
  printf '\x42' | dd of="$TMP/wrong.npy" bs=1 seek=$(($(stat -c %s "$want") - 1)) conv=notrunc status=none
  out="$("$QB" run --model "$FACE" --input "$M/blazeface_front/input_0.npy" --relative-to-scale \
    --compare "Identity:0=$TMP/wrong.npy")"
  rc=$?
  if [ "$rc" -eq 1 ] && [[ "$out" == *"MISMATCH (1 elements out of tolerance, first at index 511"* ]]; then
    passed=$((passed + 1))
  else
    echo "FAIL usage: --relative-to-scale accepted a changed element (exit status $rc): $out"
    failed=$((failed + 1))
  fi

  # --out: names with ':' become '_', and a 305-character name (tests/models/fixtures) still gets a
  # file, which holds Relu(x) = x for this x >= 0.
  if "$QB" run --model "$FACE" --input "input:0=$M/blazeface_front/input_0.npy" --out "$TMP/face" >/dev/null &&
    [ "$(cd "$TMP/face" && ls | tr '\n' ' ')" = "Identity_0.npy Identity_1_0.npy Identity_2_0.npy Identity_3_0.npy " ]; then
    passed=$((passed + 1))
  else
    echo "FAIL usage: --out did not write Identity_0.npy .. Identity_3_0.npy: $(ls "$TMP/face" 2>&1)"
    failed=$((failed + 1))
  fi
  npy_header "$TMP/x.npy" '<f4' '2, 3'
  printf '\0\0\0\0\0\0\200\77\0\0\0\100\0\0\100\100\0\0\200\100\0\0\240\100' >>"$TMP/x.npy"
  "$QB" run --model "$M/fixtures/long_output_name.onnx" --input "$TMP/x.npy" --out "$TMP/long" >"$TMP/long.txt" 2>&1
  written="$(ls "$TMP/long" 2>/dev/null)"
  if [ "$(printf '%s\n' "$written" | wc -l)" -eq 1 ] && [ "${#written}" -le 255 ] &&
    cmp -s <(tail -c 24 "$TMP/x.npy") <(tail -c 24 "$TMP/long/$written"); then
    passed=$((passed + 1))
  else
    echo "FAIL usage: --out with a 305-character output name: $(cat "$TMP/long.txt") ($written)"
    failed=$((failed + 1))
  fi
fi

[ "$skipped" -gt 0 ] && echo "not yet supported: ${skipped_list[*]}"
echo "pretrained: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
