#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS over its committed seed corpus (read only: new inputs go
# to a scratch directory) and fails on any finding, which it keeps in FINDINGS_DIR to reproduce with
# `FUZZER FILE`. Usage: run_fuzz.sh FUZZER CORPUS_DIR SECONDS FINDINGS_DIR
set -uo pipefail
FUZZER="$1"
CORPUS="$2"
SECONDS_TO_RUN="$3"
FINDINGS="$4"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH"
"$FUZZER" "$SCRATCH" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=2560 \
  -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$SCRATCH/" 2>&1 | tail -25
status=${PIPESTATUS[0]}
for a in "$SCRATCH"/crash-* "$SCRATCH"/timeout-* "$SCRATCH"/oom-* "$SCRATCH"/leak-*; do
  if [ -e "$a" ]; then
    mkdir -p "$FINDINGS" && cp "$a" "$FINDINGS/"
    echo "finding: $FINDINGS/$(basename "$a") ($(od -An -tx1 -N64 "$a" | tr -d '\n'))"
  fi
done
exit "$status"
