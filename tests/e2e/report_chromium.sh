#!/usr/bin/env bash
# Opens compare's report.html in headless Chromium: a screenshot, and the DOM Chromium built
# must hold the results table and the three SVG plots. Skipped (exit 0) without chromium.
# Usage: report_chromium.sh QBENCH SOURCE_DIR [SCREENSHOT.png]
set -u
QBENCH=${1:?usage: report_chromium.sh QBENCH SOURCE_DIR [SCREENSHOT]}
SRC=${2:?usage: report_chromium.sh QBENCH SOURCE_DIR [SCREENSHOT]}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "report_chromium: skipped (no chromium)"
  exit 0
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SHOT=${3:-$OUT/report.png}
passed=0 failed=0
check() {
  if "${@:2}" >/dev/null 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1"; fi
}
"$QBENCH" compare --model "$SRC/models/lenet.onnx" --data fashion-mnist \
  --recipes fp32,bf16,fp16,dynamic-int8,static-int8 --limit 300 --calib-size 64 \
  --min-seconds 0.2 --min-queries 20 --warmup-s 0.05 --out "$OUT/run" >/dev/null 2>&1
check "compare exits 0" test $? -eq 0
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync)
URL="file://$OUT/run/report.html"
timeout 120 "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$(mktemp -d -p "$OUT")" \
  --screenshot="$SHOT" --window-size=1280,2000 "$URL" >/dev/null 2>&1
check "screenshot written" test -s "$SHOT"
timeout 120 "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$(mktemp -d -p "$OUT")" \
  --dump-dom "$URL" >"$OUT/dom.html" 2>/dev/null
check "DOM has the results table" grep -q '<table id="results">' "$OUT/dom.html"
check "DOM has 5 table rows" test "$(grep -c '<tr class="front">\|<tr><td>' "$OUT/dom.html")" -eq 5
check "DOM has the scatter plot" grep -q '<svg class="plot" id="scatter"' "$OUT/dom.html"
check "DOM has the size bars" grep -q '<svg class="plot" id="size"' "$OUT/dom.html"
check "DOM has the speedup bars" grep -q '<svg class="plot" id="speedup"' "$OUT/dom.html"
check "DOM has the machine" grep -q '<dl id="machine">' "$OUT/dom.html"
echo "report_chromium: $passed passed, $failed failed"
test "$failed" -eq 0
