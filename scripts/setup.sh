#!/usr/bin/env bash
# Installs the Debian packages qbench needs (only the missing ones), then configures and builds.
# Sourced by scripts/demo.sh and scripts/test.sh. BUILD_DIR and BUILD_TYPE may be overridden;
# qbench_build DIR TYPE [CMAKE_ARGS...] configures and builds another tree (test.sh's sanitizer
# build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"

PACKAGES=(build-essential cmake ninja-build pkg-config git
          libdnnl-dev ocl-icd-opencl-dev libonnx-dev libprotobuf-dev protobuf-compiler
          libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev libjpeg-dev libpng-dev
          libgtest-dev googletest libbenchmark-dev
          libopenmpi-dev openmpi-bin dataset-fashion-mnist libonnx-testdata)
# scripts/test.sh adds what only the tests need (Chromium for the report check, python3 for
# the end-to-end scripts' JSON checks, clang with its sanitizer/libFuzzer runtime and OpenMP for
# the sanitizer and fuzzing build).
read -r -a extra <<<"${QBENCH_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "qbench setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

qbench_build() {
  local dir="$1" type="$2"
  shift 2
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >&2
  ninja -C "$dir" -j"$(nproc)" >&2
}
qbench_build "$BUILD_DIR" "$BUILD_TYPE"
