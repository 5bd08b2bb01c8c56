#!/bin/sh
# soak_memory.sh — device memory and host RSS over a long NUTS run and a long
# NSS run (issue 6, item 5): tests/bench/soak_memory.c does the work and the
# verdict; this builds it and keeps its output.
#
#   tests/bench/soak_memory.sh                from the repository root
#   tests/bench/soak_memory.sh --quick        any soak_memory option passes through
#
# Environment:
#   BUILD_DIR=build-soak        meson build directory (set up and built if needed)
#   POCL_DEVICES=pthread        clvmap's devices (PoCL); two devices:
#                               POCL_DEVICES="pthread pthread" CLV_DEVICES=0,1
# Results: tests/bench/results/soak_memory.txt (the table and the verdicts)
# and tests/bench/results/soak_memory.csv (every sample).
# Exit status: soak_memory's (0 flat, 1 memory grows, 2 a run failed).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
BUILD_DIR=${BUILD_DIR:-build-soak}
export POCL_DEVICES=${POCL_DEVICES:-pthread}
mkdir -p "$RESULTS"

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/bench/soak_memory >/dev/null

OUT=$RESULTS/soak_memory.txt
{
    echo "# soak_memory $* — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, POCL_DEVICES=$POCL_DEVICES${CLV_DEVICES:+ CLV_DEVICES=$CLV_DEVICES}"
} >"$OUT"
start=$(date +%s)
set +e
"$BUILD_DIR/tests/bench/soak_memory" --csv "$RESULTS/soak_memory.csv" "$@" | tee -a "$OUT"
rc=$?
set -e
echo "# wall time $(( $(date +%s) - start )) s, exit status $rc" | tee -a "$OUT"
exit $rc
