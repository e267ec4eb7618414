#!/usr/bin/env bash
# The main job: build qbench, then run `qbench demo` on the bundled zoo and Fashion-MNIST.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec "$BUILD_DIR/qbench" demo "$@"
