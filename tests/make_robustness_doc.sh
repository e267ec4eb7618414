#!/usr/bin/env bash
# Rewrites the table of docs/robustness.md from what tests/unit/hostile_test.cpp records.
# Usage: tests/make_robustness_doc.sh [BUILD_DIR]
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$SRC/build}"
TMP="$(mktemp)"
trap 'rm -f "$TMP"' EXIT
QBENCH_ROBUSTNESS_DOC="$TMP" "$BUILD/tests/hostile_test" >/dev/null
/usr/bin/env python3 - "$SRC/docs/robustness.md" "$TMP" <<'PY'
import sys
doc, table = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
start = text.index("| class |")
end = text.find("\n\n", start)
end = len(text) if end < 0 else end + 1
open(doc, "w").write(text[:start] + table + text[end:])
PY
echo "updated $SRC/docs/robustness.md"
