#!/usr/bin/env bash
# compare --peers: with ONNX Runtime installed (Node and npm onnxruntime-node in
# benchmarks/peers, see README), its rows appear in the table and JSON: it ran every variant's
# file, its predictions agree with qbench's on >= 99% of the images, and its top-1 is within a
# point of qbench's. Without it, compare still runs and its note says how to install it; where
# ONNX Runtime is not installed that is all that can be checked, and the test reports itself
# skipped (exit status 77) after passing it.
set -uo pipefail
source "$(dirname "$0")/lib/checks.sh"
e2e_init "$@"
DIR="$SRC/benchmarks/peers"

# Missing peer: a note with the install command, the run goes on.
QBENCH_PEERS_DIR="$TMP/none" "$QB" compare --model "$SRC/models/lenet.onnx" --data fashion-mnist \
  --recipes fp32 --limit 200 --min-queries 5 --min-seconds 0 --warmup-s 0 --peers ort,torch \
  --out "$TMP/missing" --json >"$TMP/missing.json" 2>/dev/null
python3 - "$TMP/missing.json" <<'EOF' && pass || fail "missing peers: no install note"
import json, sys
r = json.load(open(sys.argv[1]))
notes = " ".join(r["peer_notes"])
assert r["peers"] == [], r["peers"]
assert "npm install" in notes and "PyTorch" in notes, notes
EOF

if ! command -v node >/dev/null || [ ! -d "$DIR/node_modules/onnxruntime-node" ]; then
  echo "e2e peers: $checks checks, $failures failures"
  [ "$failures" = 0 ] || exit 1
  echo "SKIP: ONNX Runtime is not installed here, its rows are not checked (cd benchmarks/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install)"
  exit 77
fi

"$QB" compare --model "$SRC/models/lenet.onnx" --data fashion-mnist --recipes fp32,static-int8 \
  --calib-size 64 --limit 1000 --min-queries 10 --min-seconds 0 --warmup-s 0 --peers ort \
  --out "$TMP/ort" --json >"$TMP/ort.json" 2>/dev/null
python3 - "$TMP/ort.json" <<'EOF' && pass || fail "ONNX Runtime peer rows"
import json, sys
r = json.load(open(sys.argv[1]))
variants = {v["recipe"]: v for v in r["variants"]}
peers = {p["recipe"]: p for p in r["peers"]}
assert set(peers) == set(variants), (peers.keys(), variants.keys(), r["peer_notes"])
for name, p in peers.items():
    v = variants[name]
    assert p["engine"].startswith("onnxruntime "), p
    assert p["n"] == v["n"] == 1000, (p["n"], v["n"])
    assert p["agreement"] >= 0.99, (name, p["agreement"])
    assert abs(p["top1"] - v["top1"]) <= 0.01, (name, p["top1"], v["top1"])
    assert p["p50_ms"] > 0 and p["qbench_p50_ms"] > 0 and p["rounds"] == 3, p
EOF
grep -q '<table id="peers">' "$TMP/ort/report.html" && pass || fail "report.html has no peers table"

echo "e2e peers: $checks checks, $failures failures"
[ "$failures" = 0 ]
