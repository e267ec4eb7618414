#!/usr/bin/env bash
# The single-node rate behind docs/scaling.md's estimate: `qbench compare` of ResNet-50 (random
# weights, benchmarks/resnet50/make_resnet50.py) with six variants on N ImageNet-sized JPEGs in
# the imagenet-val layout (make_val_set.py), then each variant file's evaluation rate alone, and
# the wall time for 50,000 images at 1, 4 and 16 such nodes: calibration (rank 0, once) and
# timing (every host at once) do not shrink with more nodes; evaluation divides by them.
# Usage: measure.sh QBENCH RESNET50.onnx [N=512] [THREADS=all]
set -euo pipefail
QB=${1:?usage: measure.sh QBENCH RESNET50.onnx [N] [THREADS]}
MODEL=${2:?usage: measure.sh QBENCH RESNET50.onnx [N] [THREADS]}
N=${3:-512}
THREADS=${4:-$(nproc)}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 "$HERE/make_val_set.py" "$WORK/set" "$N"
DATA=(--data "imagenet-val:$WORK/set/val" --mean imagenet --std imagenet --threads "$THREADS")
RECIPES=fp32,bf16,dynamic-int8,static-int8,static-int8-rr,static-int8+per-tensor
start=$(date +%s.%N)
"$QB" compare --model "$MODEL" "${DATA[@]}" --recipes "$RECIPES" --out "$WORK/out" \
  >"$WORK/compare.txt" 2>"$WORK/compare.err"
wall=$(echo "$(date +%s.%N) - $start" | bc)
for r in ${RECIPES//,/ }; do
  "$QB" eval --model "$WORK/out/models/$r.onnx" "${DATA[@]}" --json >"$WORK/eval-$r.json" 2>/dev/null
done
python3 - "$WORK" "$wall" "$N" "$RECIPES" <<'PY'
import json, sys
work, wall, n, recipes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
res = json.load(open(f"{work}/out/results.json"))
m = res["machine"]
print(f"machine: {m['cpu']} ({m['logical_cpus']} CPUs), oneDNN {m['onednn_version']} dispatching "
      f"{m['onednn_isa']}, {m['threads']} threads; data: {res['data']}")
quant = {v["recipe"]: v["quantize_seconds"] for v in res["variants"]}
evals = {}
print(f"{'variant':24} {'eval img/s':>10} {'data img/s':>10} {'quantize s':>10}")
for r in recipes:
    e = json.load(open(f"{work}/eval-{r}.json"))
    evals[r] = e["wall_seconds"]
    print(f"{r:24} {n / e['wall_seconds']:10.1f} {e['data_images_per_second']:10.1f} {quant[r]:10.1f}")
calib = sum(quant.values())
eval_n = sum(evals.values())
timing = max(0.0, wall - calib - eval_n)
print(f"compare wall {wall:.1f} s for {n} images: quantize/calibrate {calib:.1f} s, evaluate "
      f"{eval_n:.1f} s, time the variants and the rest {timing:.1f} s")
eval_50k = eval_n * 50000 / n
for nodes in (1, 4, 16):
    t = calib + timing + eval_50k / nodes
    print(f"ResNet-50 x {len(recipes)} variants x 50,000 images on {nodes:2} node(s): "
          f"{t / 60:6.1f} min (evaluation {eval_50k / nodes / 60:.1f} min)")
PY
