#!/usr/bin/env bash
# qbench compare under mpirun on this machine (issue 13): `mpirun -n 2` gives the same
# predictions, top-1, statistics and report (timings apart) as a single process; a rank killed
# mid-run fails the run with mpirun naming the rank and host; the rerun takes the finished
# variants and shards from the cache and ends with the same results; an error on the ranks
# names rank and host; ranks on two (named) hosts each time the variants. Skips, saying why,
# when qbench was built without MPI or mpirun is missing.
# Usage: mpi.sh QBENCH SOURCE_DIR
set -u
QBENCH=${1:?usage: mpi.sh QBENCH SOURCE_DIR}
SRC=${2:?usage: mpi.sh QBENCH SOURCE_DIR}
if ! "$QBENCH" --version | grep -q ', MPI)'; then
  echo "SKIP: this qbench was built without MPI (libopenmpi-dev was missing at configure time)"
  exit 0
fi
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun is not installed (Debian package openmpi-bin)"
  exit 0
fi
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$OUT"' EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...
  if "${@:2}" >/dev/null 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1"; fi
}
# Open MPI refuses root without these; containers lack the kernel's cross-memory attach.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun -n 2)

# 1003 images: shards of 8 and 8 batches of 64, the last one partial.
ARGS=(compare --model "$SRC/models/lenet.onnx" --data fashion-mnist
      --recipes fp32,dynamic-int8,static-int8 --limit 1003 --calib-size 64 --threads 1
      --min-queries 10 --warmup-s 0.05)
"$QBENCH" "${ARGS[@]}" --min-seconds 0.1 --out "$OUT/single" >"$OUT/single.txt" 2>"$OUT/single.err"
check "single-process run exits 0" test $? -eq 0
"${MPIRUN[@]}" "$QBENCH" "${ARGS[@]}" --min-seconds 0.1 --out "$OUT/mpi" >"$OUT/mpi.txt" 2>"$OUT/mpi.err"
check "mpirun -n 2 exits 0" test $? -eq 0
check "the table is printed once" test "$(grep -c '^static-int8 ' "$OUT/mpi.txt")" -eq 1

# Everything but timings, paths, hosts and the Pareto flags (which follow latency) is the same;
# the predictions (kept in the cache) are the same image by image.
cat >"$OUT/same.py" <<'PY'
import glob, json, os, sys
a_dir, b_dir, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(d):
    r = json.load(open(os.path.join(d, "results.json")))
    assert r["ranks"] == (1 if d == a_dir else ranks), r["ranks"]
    out = {}
    for v in r["variants"]:
        b = v["bench"]
        out[v["recipe"]] = {k: v[k] for k in ["n", "correct_top1", "correct_top5", "top1", "top5",
                                              "drop_points", "drop_ci95", "fp32_only",
                                              "variant_only", "mcnemar_p", "agreement",
                                              "size_ratio"]}
        out[v["recipe"]]["bench"] = {k: b[k] for k in ["model_bytes", "coverage", "kernels",
                                                       "saturation_risk", "emulated"]}
    return r, out
ra, a = load(a_dir)
rb, b = load(b_dir)
assert set(a) == {"fp32", "dynamic-int8", "static-int8"}, a.keys()
assert a == b, (a, b)
assert ra["data"] == rb["data"] and ra["images"] == rb["images"] == 1003
assert ra["skipped"] == rb["skipped"] == []
assert rb["hosts"] and all(": rank" in h for h in rb["hosts"]), rb["hosts"]
for f in glob.glob(os.path.join(a_dir, "cache", "*.json")):
    pa = json.load(open(f))["predictions"]
    pb = json.load(open(os.path.join(b_dir, "cache", os.path.basename(f))))["predictions"]
    assert len(pa) == 1003 and pa == pb, f
PY
check "mpirun -n 2 gives the single-process results" python3 "$OUT/same.py" "$OUT/single" "$OUT/mpi" 2
"${MPIRUN[@]}" "$QBENCH" "${ARGS[@]}" --min-seconds 0.1 --out "$OUT/mpi" >"$OUT/again.txt" \
  2>"$OUT/again.err"
check "a second mpirun reads every variant from the cache" \
  test "$(grep -c ': cached (' "$OUT/again.err")" -eq 3
check "both ranks evaluated a shard" bash -c "ls '$OUT'/mpi/cache/*-shard1of2.json"
check "the report names the ranks' hosts" grep -q 'Evaluated by 2 MPI ranks' "$OUT/mpi/report.md"
check "the accuracy columns of report.md agree" bash -c \
  "diff <(grep '^| ' '$OUT/single/report.md' | cut -d'|' -f2-8 | tr -d '*' | sort) \
        <(grep '^| ' '$OUT/mpi/report.md' | cut -d'|' -f2-8 | tr -d '*' | sort)"

# Two "hosts" (QBENCH_HOST names them; one per rank through mpirun's MPMD form): each times
# every variant itself, hostb's timings are listed apart from hosta's, and the results are still
# the single process's.
"$(command -v mpirun)" -n 1 -x QBENCH_HOST=hosta "$QBENCH" "${ARGS[@]}" --min-seconds 0.1 \
  --out "$OUT/hosts" : -n 1 -x QBENCH_HOST=hostb "$QBENCH" "${ARGS[@]}" --min-seconds 0.1 \
  --out "$OUT/hosts" >"$OUT/hosts.txt" 2>"$OUT/hosts.err"
check "mpirun on two named hosts exits 0" test $? -eq 0
check "two hosts give the single-process results" python3 "$OUT/same.py" "$OUT/single" "$OUT/hosts" 2
check "each host timed every variant" python3 - "$OUT/hosts/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["hosts"] == ["hosta: rank 0", "hostb: rank 1"], r["hosts"]
for v in r["variants"]:
    assert [h["host"] for h in v["other_hosts"]] == ["hostb"], v["recipe"]
    assert v["other_hosts"][0]["bench"]["latency_ms"]["p50"] > 0, v["recipe"]
PY
check "the report lists hostb's timings" grep -q '^static-int8 on hostb: p50 ' "$OUT/hosts/report.md"

# A rank killed mid-run: once fp32 is done and both shards of dynamic-int8 are written, rank 1
# waits while rank 0 times dynamic-int8 (--min-seconds 20); kill it there.
"${MPIRUN[@]}" "$QBENCH" "${ARGS[@]}" --min-seconds 20 --out "$OUT/killed" >"$OUT/killed.txt" \
  2>"$OUT/killed.err" &
mpirun_pid=$!
rank1=""
for _ in $(seq 1 600); do
  if ls "$OUT"/killed/cache/dynamic-int8-*-shard0of2.json "$OUT"/killed/cache/dynamic-int8-*-shard1of2.json \
      >/dev/null 2>&1; then
    for p in $(pgrep -f "qbench compare"); do
      if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
        rank1=$p
      fi
    done
    break
  fi
  sleep 0.1
done
check "found rank 1 while rank 0 times a variant" test -n "$rank1"
[ -n "$rank1" ] && kill -9 "$rank1"
wait "$mpirun_pid"
status=$?
check "the killed run fails" test "$status" -ne 0
check "mpirun names the dead rank and its host" grep -Eq "rank 1 .*on node $(hostname)|rank 1 with PID .* on node" "$OUT/killed.err"
check "no report from the killed run" test ! -e "$OUT/killed/results.json"
"${MPIRUN[@]}" "$QBENCH" "${ARGS[@]}" --min-seconds 0.1 --out "$OUT/killed" >"$OUT/resumed.txt" 2>"$OUT/resumed.err"
check "the rerun exits 0" test $? -eq 0
for r in fp32 dynamic-int8; do  # timed with other settings, but evaluated
  check "the rerun reads $r's shards from the cache" \
    grep -q "^$r: the shards of rank 0, 1 came from the cache" "$OUT/resumed.err"
done
check "the rerun evaluates static-int8" grep -q "^eval static-int8: 512/512" "$OUT/resumed.err"
check "the resumed run gives the single-process results" python3 "$OUT/same.py" "$OUT/single" "$OUT/killed" 2

# An error on every rank names the rank and host and fails the run.
"${MPIRUN[@]}" "$QBENCH" compare --model "$OUT/missing.onnx" --data fashion-mnist \
  --out "$OUT/bad" >"$OUT/bad.txt" 2>"$OUT/bad.err"
check "a bad model fails the run" test $? -ne 0
check "the error names the rank and host" grep -q "error (rank [01] of 2 on $(hostname)): model file" "$OUT/bad.err"

echo "mpi: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  for f in "$OUT"/*.err; do echo "== $f"; tail -15 "$f"; done
fi
[ "$failed" -eq 0 ]
