#!/usr/bin/env bash
# docs/robustness.md is generated from the hostile-input tests: its table must be what
# tests/unit/hostile_test.cpp records now (regenerate with tests/make_robustness_doc.sh).
# Usage: robustness_doc.sh QBENCH SOURCE_DIR
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
e2e_init "$@"
HOSTILE="$(dirname "$QB")/tests/hostile_test"
QBENCH_ROBUSTNESS_DOC="$TMP/table.md" "$HOSTILE" >/dev/null 2>&1 || { echo "FAIL: hostile_test failed"; exit 1; }
sed -n '/^| class |/,/^$/p' "$SRC/docs/robustness.md" | sed '/^$/d' >"$TMP/doc.md"
if diff -u "$TMP/doc.md" "$TMP/table.md"; then
  echo "robustness_doc: docs/robustness.md matches the tests"
else
  echo "FAIL: docs/robustness.md is out of date: run tests/make_robustness_doc.sh"
  exit 1
fi
