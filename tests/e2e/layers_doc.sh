#!/usr/bin/env bash
# The layer diagram in docs/architecture.md must be the one CMake generates from the
# qbench_layer() declarations (BUILD/layers.md), so the picture and the rule the build enforces
# cannot drift (regenerate with scripts/layers.sh --write).
# Usage: layers_doc.sh QBENCH SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"
GENERATED="$(dirname "$QB")/layers.md"
[ -f "$GENERATED" ] || { echo "FAIL: $GENERATED is missing (CMake writes it)"; exit 1; }
sed -n '/^<!-- layers: begin -->$/,/^<!-- layers: end -->$/p' "$SRC/docs/architecture.md" |
  sed '1d;$d' >"$TMP/doc.md"
[ -s "$TMP/doc.md" ] || { echo "FAIL: docs/architecture.md has no layers block"; exit 1; }
if diff -u "$TMP/doc.md" "$GENERATED"; then
  echo "layers_doc: docs/architecture.md matches the CMake layers"
else
  echo "FAIL: docs/architecture.md's layers are out of date: run scripts/layers.sh --write"
  exit 1
fi
