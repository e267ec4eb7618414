#!/usr/bin/env bash
# The whole test suite, in two stages through CTest:
#  1. the Release build: every unit, conformance and end-to-end test, with the kernel tests
#     repeated at each lesser ISA this CPU can pretend to be (ONEDNN_MAX_CPU_ISA);
#  2. a clang build with AddressSanitizer and UBSan (any report fails the test): the unit and
#     conformance tests and the hostile-input test again, then each libFuzzer target for
#     QBENCH_FUZZ_SECONDS (default 30) over its seed corpus.
# Arguments go to both ctest runs (e.g. -R Hostile). QBENCH_SANITIZER_STAGE=0 skips stage 2.
set -euo pipefail
QBENCH_EXTRA_PACKAGES="python3 chromium clang libclang-rt-14-dev libomp-dev"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Idle OpenMP workers sleep (the qbench executable sets the same): spinning ones would take the
# core CTest gives the test running beside.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)" "$@")

[ "${QBENCH_SANITIZER_STAGE:-1}" = 0 ] && exit 0
SAN_BUILD_DIR="${SAN_BUILD_DIR:-$ROOT/build-asan}"
CC=clang CXX=clang++ qbench_build "$SAN_BUILD_DIR" RelWithDebInfo -DQBENCH_SANITIZE=ON \
  -DQBENCH_FUZZ=ON -DQBENCH_FUZZ_SECONDS="${QBENCH_FUZZ_SECONDS:-30}" -DQBENCH_BUILD_BENCHMARKS=OFF
# Stage 2 leaves out what only repeats stage 1 at ten times the cost: the whole-test-set
# accuracy runs (ExactInt8, QuantZoo, Zoo) and the end-to-end scripts around the CLI.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
(cd "$SAN_BUILD_DIR" &&
  ctest --output-on-failure -j"$(nproc)" -E '^(ExactInt8|QuantZoo|Models/Zoo|e2e)[.]' "$@")
