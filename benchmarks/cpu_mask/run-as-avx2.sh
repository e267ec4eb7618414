#!/usr/bin/env bash
# Runs a command as if on an AVX2-only CPU (no AVX-512, no VNNI of either width, no BF16/FP16, no
# AMX): every engine it starts (qbench's oneDNN, ONNX Runtime's MLAS inside node, PyTorch) reads
# a CPUID with those bits cleared (cpu_mask.c) and picks its AVX2 kernels. Needs Linux's CPUID
# faulting (/proc/cpuinfo flag cpuid_fault); exits 3 and says so where it is missing.
#   benchmarks/cpu_mask/run-as-avx2.sh build/qbench bench --model m.onnx
#   QB_CPU=avx2 benchmarks/peers/side_by_side.sh ...   (uses this for every engine)
# The cores stay what they are: AVX2 code on this CPU, not on an AVX2-only one. Node must run
# with --disable-wasm-trap-handler (its wasm trap handler does not pass other faults on);
# NODE_OPTIONS below adds it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SO="${TMPDIR:-/tmp}/qbench-cpu-mask-$(id -u).so"
if [ ! -f "$SO" ] || [ "$HERE/cpu_mask.c" -nt "$SO" ]; then
  cc -O2 -Wall -shared -fPIC -o "$SO.tmp" "$HERE/cpu_mask.c" && mv "$SO.tmp" "$SO"
fi
if ! grep -qw cpuid_fault /proc/cpuinfo; then
  echo "run-as-avx2: this CPU or kernel has no CPUID faulting (no cpuid_fault in /proc/cpuinfo):" \
       "cannot present an AVX2-only CPU here" >&2
  exit 3
fi
export LD_AUDIT="$SO"
# glibc picks its own string functions before any audit library loads: mask those too.
export GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX_VNNI"
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-wasm-trap-handler"
exec "$@"
