#!/usr/bin/env bash
# Latency of each variant at the host ISA and with oneDNN capped at lesser ones
# (ONEDNN_MAX_CPU_ISA), as ratios to FP32 measured at the same ISA: what the exact int8 halves,
# reduce-range weights and emulated bf16 cost on a CPU without VNNI or bf16. Rounds are
# interleaved (every ISA x variant once per round, in order) and the table reports medians.
#
# Usage: benchmarks/isa_paths.sh OUT_DIR NAME=DIR_OR_PREFIX ...
#   each NAME=PREFIX times PREFIX-fp32.onnx, PREFIX-bf16.onnx, PREFIX-fp16.onnx,
#   PREFIX-static-int8.onnx and PREFIX-static-int8-rr.onnx (the ones that exist).
# Environment: QBENCH (default build/qbench), ROUNDS (3), ISAS ("host AVX2"), MIN_SECONDS (1),
# THREADS (1).
# Make the variants with `qbench quantize --recipe R --out PREFIX-R.onnx` (prepare_zoo below).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QB="${QBENCH:-$ROOT/build/qbench}"
ROUNDS="${ROUNDS:-3}"
read -r -a ISAS <<<"${ISAS:-host AVX2}"
MIN_SECONDS="${MIN_SECONDS:-1}"
THREADS="${THREADS:-1}"
OUT="$1"
shift
mkdir -p "$OUT"
RECIPES=(fp32 bf16 fp16 static-int8 static-int8-rr)

for round in $(seq 1 "$ROUNDS"); do
  for spec in "$@"; do
    name="${spec%%=*}"
    prefix="${spec#*=}"
    for isa in "${ISAS[@]}"; do
      for r in "${RECIPES[@]}"; do
        f="$prefix-$r.onnx"
        [ -f "$f" ] || continue
        env=()
        [ "$isa" = host ] || env=(ONEDNN_MAX_CPU_ISA="$isa")
        env "${env[@]}" "$QB" bench --model "$f" --threads "$THREADS" --min-seconds "$MIN_SECONDS" \
          --min-queries 10 --warmup-s 0.3 --batch 8 --json --quiet \
          >"$OUT/$name.$isa.$r.$round.json"
      done
    done
  done
done

/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PY'
import glob, json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
machine = None
for path in glob.glob(os.path.join(out, "*.json")):
    name, isa, recipe, _ = os.path.basename(path)[:-5].rsplit(".", 3)
    j = json.load(open(path))
    if isa == "host":
        machine = j["machine"]
    key = (name, isa)
    rows.setdefault(key, {}).setdefault(recipe, []).append(j)
if machine:
    print(f"machine  {machine['cpu']}, {machine['logical_cpus']} CPUs; flags {' '.join(machine['isa_flags'])}")
    print(f"         oneDNN {machine['onednn_version']} dispatching {machine['onednn_isa']} at the host ISA; qbench {machine['git_commit']}")
print(f"rounds   {rounds}, interleaved; p50 latency at batch 1, median over rounds; ratio = FP32 p50 / variant p50 at the same ISA")
print()
recipes = ["fp32", "bf16", "fp16", "static-int8", "static-int8-rr"]
print(f"{'model':<10} {'ISA (oneDNN)':<22} " + " ".join(f"{r:>20}" for r in recipes))
for (name, isa) in sorted(rows):
    by = rows[(name, isa)]
    med = {r: statistics.median(j["latency_ms"]["p50"] for j in by[r]) for r in by}
    dispatched = next(iter(by.values()))[0]["machine"]["onednn_isa"]
    cells = []
    for r in recipes:
        if r not in med:
            cells.append(f"{'-':>20}")
            continue
        ratio = med["fp32"] / med[r] if "fp32" in med else 0
        mark = "*" if by[r][0]["emulated"] else " "
        cells.append(f"{med[r]:>9.3f} ms {ratio:>5.2f}x{mark}")
    print(f"{name:<10} {isa + ' (' + dispatched + ')':<22} " + " ".join(cells))
print()
print("*: emulated (bf16 without native bf16; fp16 weights always compute in f32)")
for (name, isa) in sorted(rows):
    by = rows[(name, isa)]
    if "static-int8" in by:
        k = by["static-int8"][0]["kernels"]
        halves = any("7-bit" in x for x in k)
        print(f"{name} {isa}: static-int8 int8 path: {by['static-int8'][0]['machine']['int8_path'][:60]}...; weight halves: {'yes' if halves else 'no'}")
PY
