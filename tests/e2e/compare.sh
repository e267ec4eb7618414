#!/usr/bin/env bash
# qbench compare on LeNet with a few test images: the four report files exist, results.json has
# every column for every variant, --json prints the same object, and a second run only reads
# the cache. Usage: compare.sh QBENCH SOURCE_DIR
set -u
QBENCH=${1:?usage: compare.sh QBENCH SOURCE_DIR}
SRC=${2:?usage: compare.sh QBENCH SOURCE_DIR}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...
  if "${@:2}" >/dev/null 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1"; fi
}

ARGS=(compare --model "$SRC/models/lenet.onnx" --data fashion-mnist
      --recipes fp32,bf16,dynamic-int8,static-int8 --limit 200 --calib-size 64
      --min-seconds 0.2 --min-queries 20 --warmup-s 0.05 --out "$OUT/run")
start=$(date +%s%N)
"$QBENCH" "${ARGS[@]}" >"$OUT/first.txt" 2>"$OUT/first.err"
check "first run exits 0" test $? -eq 0
first=$(( ($(date +%s%N) - start) / 1000000 ))
for f in results.json results.csv report.md report.html; do
  check "$f written" test -s "$OUT/run/$f"
done
check "no temporary files left" bash -c "! ls '$OUT/run' '$OUT/run/cache' | grep -q '\.tmp'"
check "console table has every recipe" bash -c \
  "grep -q '^fp32 ' '$OUT/first.txt' && grep -q '^bf16 ' '$OUT/first.txt' && grep -q '^static-int8 ' '$OUT/first.txt'"

# Every column for every variant.
check "results.json has every column" python3 - "$OUT/run/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "qbench.compare" and r["schema_version"] == 2
for k in ["cpu", "isa_flags", "onednn_isa", "int8_path", "bf16_path", "threads", "build_type",
          "compiler", "onednn_version", "git_commit"]:
    assert k in r["machine"], k
emulated_bf16 = r["machine"]["bf16_path"].startswith("emulated")
assert {v["recipe"] for v in r["variants"]} == {"fp32", "bf16", "dynamic-int8", "static-int8"}
for v in r["variants"]:
    for k in ["top1", "top5", "drop_points", "drop_ci95", "mcnemar_p", "agreement", "speedup",
              "size_ratio", "calib_seconds", "pareto_latency", "pareto_size"]:
        assert k in v, k
    b = v["bench"]
    for k in ["p50", "p90", "p99", "max", "mean", "std"]:
        assert k in b["latency_ms"], k
    assert b["offline"]["images_per_second"] > 0 and b["model_bytes"] > 0
    assert b["peak_rss_bytes"] > 0
    for k in ["int8_share", "bf16_share", "f32_share"]:
        assert k in b["coverage"]["macs"] and k in b["coverage"]["params"]
    assert b["kernels"], "no kernel implementations listed"
    assert not any(k.startswith("ref") for k in b["kernels"]), b["kernels"]
    for k in ["layers", "layers_at_risk", "pairs", "pairs_at_risk", "pair_share"]:
        assert k in b["saturation_risk"], k
    # bf16 is marked emulated exactly where this CPU has no native bf16.
    assert b["emulated"] == (v["recipe"] == "bf16" and emulated_bf16), (v["recipe"], b["emulation"])
    assert v["n"] == 200
s8 = [v for v in r["variants"] if v["recipe"] == "static-int8"][0]
assert s8["bench"]["coverage"]["macs"]["int8_share"] > 0.5, "static-int8 did not run in int8"
assert s8["calib_seconds"] > 0
assert s8["bench"]["saturation_risk"]["layers"] == 5, s8["bench"]["saturation_risk"]
assert [v for v in r["variants"] if v["recipe"] == "fp32"][0]["bench"]["saturation_risk"]["layers"] == 0
PY
check "results.csv has a header and 4 rows" test "$(wc -l <"$OUT/run/results.csv")" -eq 5

# Resume: the second run reads every variant from the cache and measures nothing.
start=$(date +%s%N)
"$QBENCH" "${ARGS[@]}" --json >"$OUT/second.json" 2>"$OUT/second.err"
check "second run exits 0" test $? -eq 0
second=$(( ($(date +%s%N) - start) / 1000000 ))
check "second run is all cached" test "$(grep -c ': cached' "$OUT/second.err")" -eq 4
check "second run measures nothing" bash -c "! grep -q '^eval \|^time ' '$OUT/second.err'"
check "--json prints results.json's object" python3 -c "
import json, sys
a = json.load(open('$OUT/second.json')); b = json.load(open('$OUT/run/results.json'))
assert a == b"
echo "first run ${first} ms, second run ${second} ms"

# An interrupted run: drop one cached variant, only that one is measured again.
rm "$OUT"/run/cache/bf16-*.json
"$QBENCH" "${ARGS[@]}" >/dev/null 2>"$OUT/third.err"
check "only the missing variant is redone" bash -c \
  "test \$(grep -c ': cached' '$OUT/third.err') -eq 3 && grep -q '^eval bf16' '$OUT/third.err'"

# A recipe with options is a variant of its own: its row, its file, its own result.
"$QBENCH" compare --model "$SRC/models/lenet.onnx" --data fashion-mnist --limit 100 --calib-size 64 \
  --recipes static-int8,static-int8+per-tensor+equalize+bias-correct --min-seconds 0.1 --min-queries 10 \
  --warmup-s 0.05 --out "$OUT/variants" >"$OUT/variants.txt" 2>"$OUT/variants.err"
check "a variant with options runs" test $? -eq 0
check "its console row" grep -q '^static-int8+per-tensor+equalize+bias-correct ' "$OUT/variants.txt"
check "its model file" test -s "$OUT/variants/models/static-int8+per-tensor+equalize+bias-correct.onnx"
check "a bad option is named" bash -c "'$QBENCH' compare --model '$SRC/models/lenet.onnx' \
  --data fashion-mnist --recipes static-int8+fast --out '$OUT/bad' 2>&1 >/dev/null | grep -q \"unknown option 'fast'\""

echo "compare: $passed passed, $failed failed"
test "$failed" -eq 0
