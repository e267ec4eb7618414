#!/usr/bin/env bash
# The whole test suite: build, then every unit, conformance and end-to-end test through CTest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "$@"
