#!/usr/bin/env bash
# qbench and its peers on the same machine in the same run (issue 14's table): median batch-1
# latency in ms of each engine on the same ONNX files, rounds interleaved (qbench, ONNX Runtime,
# PyTorch, qbench, ...), the median of the rounds' medians reported, at 1 thread and at all
# threads, and ResNet-50 at batch 32 with all threads. Models: ResNet-50 FP32
# (benchmarks/resnet50/make_resnet50.py) and its QDQ int8 file (make_qdq.py), MobileNetV2 FP32
# (make_resnet50.py --arch mobilenet_v2, $MV2), and the zoo's FP32 files. PyTorch times the
# torchvision module each file was exported from; the zoo has no PyTorch row here. A second table times the whole process of a 10,000-image FP32
# evaluation of each zoo model (qbench eval against ort_predict.js, 1 thread, batch 100).
# Where the CPU has AVX-512 and CPUID faulting, rows marked "AVX2-only" run every engine as on an
# AVX2-only CPU (benchmarks/cpu_mask/run-as-avx2.sh), ResNet-50 also from its reduce-range file
# ($R50RR, make_qdq.py --reduce-range).
# Prints Markdown with the machine first; commit its output under benchmarks/results/.
# Usage: benchmarks/peers/side_by_side.sh [QBENCH] [RESNET50_FP32.onnx] [RESNET50_INT8.onnx] [ROUNDS]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QB="${1:-$ROOT/build/qbench}"
R50="${2:-/tmp/resnet50.onnx}"
R50Q="${3:-/tmp/resnet50-int8.onnx}"
R50RR="${R50RR:-/tmp/resnet50-int8-rr.onnx}"
ROUNDS="${4:-3}"
ALL="$(nproc)"
[ -f "$R50" ] || /usr/bin/python3 "$ROOT/benchmarks/resnet50/make_resnet50.py" "$R50" >&2
[ -f "$R50Q" ] || /usr/bin/python3 "$ROOT/benchmarks/resnet50/make_qdq.py" "$R50" "$R50Q" >&2
MV2="${MV2:-/tmp/mobilenet_v2.onnx}"
[ -f "$MV2" ] || /usr/bin/python3 "$ROOT/benchmarks/resnet50/make_resnet50.py" --arch mobilenet_v2 "$MV2" >&2
if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
  (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2)
fi

# AS_AVX2=1 (optional): run every engine as on an AVX2-only CPU (benchmarks/cpu_mask).
as_cpu() {
  if [ -n "${AS_AVX2:-}" ]; then "$ROOT/benchmarks/cpu_mask/run-as-avx2.sh" "$@"; else "$@"; fi
}
qbench_ms() {  # model threads batch runs: batch 1 the median latency, else the offline batch's
  # QB_ISA (optional): cap qbench's oneDNN at this ISA (ONEDNN_MAX_CPU_ISA), the peers not.
  local isa=(as_cpu)
  [ -n "${QB_ISA:-}" ] && isa=(as_cpu env ONEDNN_MAX_CPU_ISA="$QB_ISA")
  if [ "$3" = 1 ]; then
    "${isa[@]}" "$QB" bench --model "$1" --threads "$2" --batch 1 --warmup-queries 5 --warmup-s 0 \
      --min-queries "$4" --min-seconds 0 --json 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["latency_ms"]["p50"])'
  else
    # bench times batch-1 queries, then the offline batch for >= --min-seconds: ms per batch.
    "${isa[@]}" "$QB" bench --model "$1" --threads "$2" --batch "$3" --warmup-queries 1 --warmup-s 0 \
      --min-queries 1 --min-seconds 5 --json 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin)["offline"]; print("%.3f" % (1000 * o["batch"] / o["images_per_second"]))'
  fi
}
ort_ms() { as_cpu node "$HERE/ort_bench.js" "$1" "$2" "$3" "$4" 5; }
torch_ms() { as_cpu /usr/bin/python3 "$HERE/torch_bench.py" "$2" "$3" "$4" 5 "$5"; }
seconds() {  # command...: whole-process wall time in seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "# qbench vs peers, batch 1, median of $ROUNDS interleaved rounds (ms)"
echo
echo "- CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $ALL threads"
echo "- ISA flags: $(grep -o 'avx[^ ]*\|amx[^ ]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "- qbench: $("$QB" --version 2>/dev/null | head -1); oneDNN ISA: $("$QB" bench --model "$ROOT/models/lenet.onnx" --min-queries 1 --min-seconds 0 --warmup-s 0 --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["machine"].get("onednn_isa", "?"))')"
# OpenMP's wait policy decides qbench's multi-thread latency: with OMP_WAIT_POLICY=passive (what
# scripts/test.sh sets for the tests) idle threads sleep between parallel regions, and batch-1
# ResNet-50 on 2 threads took 1.1-1.6x ONNX Runtime's time instead of 0.8-0.98x.
echo "- OpenMP wait policy: ${OMP_WAIT_POLICY:-default}${OMP_WAIT_POLICY:+ (set in the environment: multi-thread rows are slower than with the default)}"
echo "- ONNX Runtime: onnxruntime-node $(node -e 'console.log(require("'"$HERE"'/node_modules/onnxruntime-node/package.json").version)'); PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
echo
echo "| model | batch | threads | qbench | ONNX Runtime | PyTorch | qbench / ORT |"
echo "|---|---|---|---|---|---|---|"
row() {  # label file threads torch_arch|0 [batch] [runs]
  local q="" o="" t="" b="${5:-1}" n="${6:-20}"
  for _ in $(seq "$ROUNDS"); do
    q="$q $(qbench_ms "$2" "$3" "$b" "$n")"
    o="$o $(ort_ms "$2" "$3" "$b" "$n")"
    [ "$4" != 0 ] && t="$t $(torch_ms "$2" "$3" "$b" "$n" "$4")"
  done
  q="$(echo "$q" | median)"
  o="$(echo "$o" | median)"
  [ "$4" != 0 ] && t="$(echo "$t" | median)" || t="-"
  echo "| $1 | $b | $3 | $q | $o | $t | $(awk -v a="$q" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
}
for threads in 1 "$ALL"; do
  row "ResNet-50 FP32" "$R50" "$threads" resnet50
  row "ResNet-50 INT8 (QDQ)" "$R50Q" "$threads" 0
  row "MobileNetV2 FP32" "$MV2" "$threads" mobilenet_v2
done
row "ResNet-50 FP32" "$R50" "$ALL" resnet50 32 5
row "ResNet-50 INT8 (QDQ)" "$R50Q" "$ALL" 0 32 5
if grep -q avx512 /proc/cpuinfo; then
  # The AVX2 path on this machine: qbench capped at AVX2, ONNX Runtime as it is.
  QB_ISA=AVX2 row "ResNet-50 FP32, qbench capped at AVX2" "$R50" 1 0
  QB_ISA=AVX2 row "ResNet-50 INT8 (QDQ), qbench capped at AVX2" "$R50Q" 1 0
fi
for m in lenet mlp mobilenet resnet vit; do
  row "zoo $m FP32" "$ROOT/models/$m.onnx" 1 0
done
if grep -q avx512 /proc/cpuinfo && grep -qw cpuid_fault /proc/cpuinfo; then
  # Every engine as on an AVX2-only CPU (CPUID without AVX-512/VNNI/BF16/AMX): ONNX Runtime's
  # u8 x s8 kernels saturate there, qbench stays exact; the reduce-range file (7-bit weights)
  # is exact in both.
  [ -f "$R50RR" ] || /usr/bin/python3 "$ROOT/benchmarks/resnet50/make_qdq.py" --reduce-range "$R50" "$R50RR" >&2
  AS_AVX2=1 row "ResNet-50 FP32, AVX2-only" "$R50" 1 resnet50
  AS_AVX2=1 row "ResNet-50 INT8 (QDQ), AVX2-only" "$R50Q" 1 0
  AS_AVX2=1 row "ResNet-50 INT8 reduce-range (QDQ), AVX2-only" "$R50RR" 1 0
  AS_AVX2=1 row "ResNet-50 FP32, AVX2-only" "$R50" "$ALL" resnet50
  AS_AVX2=1 row "ResNet-50 INT8 (QDQ), AVX2-only" "$R50Q" "$ALL" 0
  AS_AVX2=1 row "ResNet-50 INT8 (QDQ), AVX2-only" "$R50Q" "$ALL" 0 32 5
fi

echo
echo "## 10,000-image FP32 evaluation, whole process, 1 thread, batch 100 (s, median of $ROUNDS)"
echo
echo "| model | qbench eval | ONNX Runtime (ort_predict.js) | qbench / ORT |"
echo "|---|---|---|---|"
EVAL_OUT="$(mktemp)"
trap 'rm -f "$EVAL_OUT"' EXIT
for m in lenet mlp mobilenet resnet vit; do
  q="" o=""
  for _ in $(seq "$ROUNDS"); do
    q="$q $(seconds "$QB" eval --model "$ROOT/models/$m.onnx" --data fashion-mnist --threads 1 \
      --batch 100)"
    o="$o $(seconds node "$HERE/ort_predict.js" "$ROOT/models/$m.onnx" "$EVAL_OUT")"
  done
  q="$(echo "$q" | median)"
  o="$(echo "$o" | median)"
  echo "| $m | $q | $o | $(awk -v a="$q" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
done
