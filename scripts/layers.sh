#!/usr/bin/env bash
# Prints the layer diagram as CMake declares it (qbench_layer() in CMakeLists.txt), the Markdown
# block docs/architecture.md carries; --write puts it there. Re-runs CMake on BUILD_DIR (default
# build/) first, so the block is that of the CMakeLists.txt in the tree now.
# Usage: scripts/layers.sh [--write] [BUILD_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WRITE=0
if [ "${1:-}" = "--write" ]; then
  WRITE=1
  shift
fi
BUILD="${1:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
if [ "$WRITE" = 0 ]; then
  cat "$BUILD/layers.md"
  exit 0
fi
/usr/bin/env python3 - "$ROOT/docs/architecture.md" "$BUILD/layers.md" <<'PY'
import sys
doc, block = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
begin, end = "<!-- layers: begin -->\n", "<!-- layers: end -->"
start = text.index(begin) + len(begin)
open(doc, "w").write(text[:start] + block + text[text.index(end, start):])
PY
echo "updated $ROOT/docs/architecture.md"
