#!/usr/bin/env bash
# The same int8 file gives the same answers on every CPU class. Each zoo model's static-int8 file
# (and a QDQ file with full-range weights made by PyTorch) is evaluated on the 10,000 test images
# at this machine's ISA and with oneDNN capped at AVX2 (int16 pair sums that saturate, no VNNI)
# and, where this CPU has AVX-512, at AVX512_CORE (no VNNI either). The CNNs' predicted labels
# must be identical: the integer path is exact on every ISA and requantizes in the same order.
# The ViT's float ops (LayerNorm, Softmax, GELU) run on ISA-specific oneDNN code whose float
# results differ in the last bits, so it may differ on a tie-level handful (at most 3 images).
# Where Linux can fault CPUID, also as a whole AVX2-only CPU (benchmarks/cpu_mask/run-as-avx2.sh).
# Also checks that each capped run reports the int8 path it took. Usage: isa_identity.sh QBENCH SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"

caps=(AVX2)
grep -q avx512bw /proc/cpuinfo && caps+=(AVX512_CORE)
# Where the kernel can fault CPUID and the CPU has more than AVX2, also run the whole process as
# on an AVX2-only CPU (benchmarks/cpu_mask): qbench's own CPU checks and vectorized loops see
# AVX2 too, not only oneDNN.
if grep -qw cpuid_fault /proc/cpuinfo && grep -q 'avx512\|avx_vnni' /proc/cpuinfo; then
  caps+=(AVX2_ONLY_CPU)
fi
# at ISA command...: runs the command with oneDNN capped at ISA, or as an AVX2-only CPU.
at() {
  local isa="$1"
  shift
  if [ "$isa" = AVX2_ONLY_CPU ]; then
    "$SRC/benchmarks/cpu_mask/run-as-avx2.sh" "$@"
  else
    ONEDNN_MAX_CPU_ISA=$isa "$@"
  fi
}

files=()
for m in lenet resnet mobilenet vit mlp mobilenetv2; do
  "$QB" quantize --model "$SRC/models/$m.onnx" --recipe static-int8 --calib-data fashion-mnist \
    --out "$TMP/$m.onnx" >/dev/null 2>&1 || fail "quantize $m"
  files+=("$m")
done
cp "$SRC/tests/data/torch_qdq.onnx" "$TMP/torch_qdq.onnx"
files+=(torch_qdq)

for f in "${files[@]}"; do
  "$QB" eval --model "$TMP/$f.onnx" --data fashion-mnist --predictions "$TMP/$f.host.txt" \
    >/dev/null 2>&1 || { fail "eval $f at the host ISA"; continue; }
  for isa in "${caps[@]}"; do
    at "$isa" "$QB" eval --model "$TMP/$f.onnx" --data fashion-mnist \
      --predictions "$TMP/$f.$isa.txt" >/dev/null 2>&1 || { fail "eval $f at $isa"; continue; }
    differ="$(paste "$TMP/$f.host.txt" "$TMP/$f.$isa.txt" | awk '$1 != $2' | wc -l)"
    allowed=0
    [ "$f" = vit ] && allowed=3
    if [ "$(wc -l <"$TMP/$f.$isa.txt")" -eq 10000 ] && [ "$differ" -le "$allowed" ]; then
      pass
    else
      fail "$f: $differ of 10000 predictions differ between the host ISA and $isa (allowed $allowed)"
    fi
    echo "$f: $differ of 10000 predictions differ between the host ISA and $isa"
  done
done

# The capped run names the path: pairwise int16 sums, full-range weights on qbench's exact
# int16 kernel.
out="$(ONEDNN_MAX_CPU_ISA=AVX2 "$QB" inspect --model "$TMP/torch_qdq.onnx" 2>&1)"
case "$out" in
  *"int8      AVX2 pairwise"*"qbench_int16_gemm:avx2"*) pass ;;
  *) fail "inspect under AVX2 does not name the pairwise int8 path and the int16 kernel: $out" ;;
esac
case "$out" in
  *"bf16      emulated"*) pass ;;
  *) fail "inspect under AVX2 does not say bf16 is emulated" ;;
esac
if [[ " ${caps[*]} " == *" AVX2_ONLY_CPU "* ]]; then
  out="$(at AVX2_ONLY_CPU "$QB" inspect --model "$TMP/torch_qdq.onnx" 2>&1)"
  case "$out" in
    *"int8      AVX2 pairwise (vpmaddubsw, avx2)"*"qbench_int16_gemm:avx2"*) pass ;;
    *) fail "inspect as an AVX2-only CPU does not name the AVX2 int8 path and the int16 kernel: $out" ;;
  esac
  # Its reports name the CPU as the kernels saw it: /proc/cpuinfo still lists AVX-512 there.
  flags="$(at AVX2_ONLY_CPU "$QB" bench --model "$SRC/models/lenet.onnx" --json --min-queries 5 \
    --min-seconds 0 --warmup-s 0 2>/dev/null | tr -d '\n' | grep -o '"isa_flags": *\[[^]]*\]')"
  case "$flags" in
    *'"avx2"'*) case "$flags" in
      *avx512* | *vnni* | *amx*) fail "an AVX2-only CPU's report lists $flags" ;;
      *) pass ;;
    esac ;;
    *) fail "an AVX2-only CPU's report lists no avx2: $flags" ;;
  esac
fi

echo "isa_identity: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
