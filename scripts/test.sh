#!/usr/bin/env bash
# The whole test suite: build, then every unit, conformance and end-to-end test through CTest.
set -euo pipefail
QBENCH_EXTRA_PACKAGES="python3 chromium"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$BUILD_DIR"
# Idle OpenMP workers sleep (the qbench executable sets the same): spinning ones would take the
# core CTest gives the test running beside.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --output-on-failure -j"$(nproc)" "$@"
