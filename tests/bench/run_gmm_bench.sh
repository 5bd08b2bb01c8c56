#!/bin/sh
# run_gmm_bench.sh — clvmap against JAX on the Gaussian-mixture map
# (examples/gmm_model.h, B = 2^20 points), on each OpenCL runtime
# (tests/bench/runtimes.sh). See tests/bench/README.md.
#
#   tests/bench/run_gmm_bench.sh [--quick]     from the repository root
#
# Environment:
#   RUNS=5          processes per variant (one process per run; medians over them)
#   REPEATS=20      timed maps per process (its median is the process's time; 5 left
#                   process-to-process swings of 20-40 % on a shared VM)
#   ITEMS=1048576   B
#   RUNTIMES, INTEL_VENDORS   the OpenCL runtimes (tests/bench/runtimes.sh)
#   BUILD_DIR=build-bench   meson build directory (set up and built if needed)
#   BENCH_VENV=tests/bench/results/.venv   venv with jax[cpu] (created if needed)
#   LIMITS_FILE=FILE  the machine's limits (machine_limits lines) to use; else
#                   measured now into results/gmm_limits.txt
#   SKIP_JAX=1      clvmap only
#   SUMMARY_ONLY=1  no runs: summarise the existing results/raw.txt again
# --quick: B = 2^18, RUNS=3, REPEATS=3, no B sweep.
# Results: tests/bench/results/raw.txt (every line), summary.txt, and
# gmm_table.md (rows of the README's table, for tests/bench/run_all.sh).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
QUICK=
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi
RESULTS=tests/bench/results
RUNS=${RUNS:-${QUICK:+3}}
RUNS=${RUNS:-5}
REPEATS=${REPEATS:-${QUICK:+3}}
REPEATS=${REPEATS:-20}
ITEMS=${ITEMS:-${QUICK:+262144}}
ITEMS=${ITEMS:-1048576}
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_VENV=${BENCH_VENV:-$RESULTS/.venv}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh

RAW="$RESULTS/raw.txt"
LIMITS=${LIMITS_FILE:-$RESULTS/gmm_limits.txt}
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then

# ---- build ---------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/bench/bench_gmm tests/bench/machine_limits >/dev/null
BENCH="$BUILD_DIR/tests/bench/bench_gmm"
LIMITS_BIN="$BUILD_DIR/tests/bench/machine_limits"

# ---- JAX -----------------------------------------------------------------
PY="$BENCH_VENV/bin/python"
if [ "${SKIP_JAX:-0}" != 1 ]; then
    if [ ! -x "$PY" ]; then
        python3 -m venv "$BENCH_VENV"
    fi
    if ! "$PY" -c 'import jax' 2>/dev/null; then
        "$BENCH_VENV/bin/pip" install --quiet --upgrade pip
        "$BENCH_VENV/bin/pip" install --quiet 'jax[cpu]'
    fi
    # The same bits clvmap uploads, for gmm_jax.py.
    for dtype in f32 f64; do
        "$BENCH" --dtype "$dtype" --items "$ITEMS" --dump "$RESULTS/gmm_$dtype.bin"
    done
fi

# ---- the machine's limits --------------------------------------------------
if [ -z "${LIMITS_FILE:-}" ]; then
    : > "$LIMITS"
    bench_limits "$LIMITS"
fi

: > "$RAW"
one() { # one process on runtime $1, its line appended to raw.txt
    _r=$1
    shift
    rt_run "$_r" "$@" 2>/dev/null | rt_tag "$_r" | sed -u "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$RAW"
}
jax() { # one JAX process, its line appended to raw.txt
    "$@" | sed -u "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$RAW"
}

# ---- the comparison: variants and runtimes interleaved, one process per run --
# Both sides use every core: PoCL's pthread device runs one worker per core,
# Intel's runtime a TBB pool, XLA's CPU client an intra-op pool of one thread
# per core. The 1-device variants run under PoCL's default configuration
# (one pthread device); only the 2-device one asks for two.
echo "== $RUNS runs per variant, $REPEATS timed calls per run, B = $ITEMS, runtimes: $RUNTIMES (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
run=1
while [ "$run" -le "$RUNS" ]; do
    for dtype in f32 f64; do
        for rt in $RUNTIMES; do
            common="--dtype $dtype --items $ITEMS --repeats $REPEATS"
            one "$rt" "$BENCH" $common --chunk none --variant launch
            one "$rt" "$BENCH" $common --chunk 4096 --variant chunk4096
            one "$rt" "$BENCH" $common --chunk none --form items --variant items
            one "$rt" "$BENCH" $common --chunk none --form scratch --variant scratch
            one "$rt" "$BENCH" $common --chunk none --form block8 --variant block8
            if [ "$rt" = pocl ]; then
                one "$rt" env POCL_DEVICES="pthread pthread" "$BENCH" $common --chunk none --devices 0,1 --variant 2dev
            else
                one "$rt" "$BENCH" $common --chunk none --devices 0/2 --variant 2dev
            fi
        done
        if [ "${SKIP_JAX:-0}" != 1 ]; then
            jax "$PY" tests/bench/gmm_jax.py --data "$RESULTS/gmm_$dtype.bin" --repeats "$REPEATS" --variant vmap
            jax "$PY" tests/bench/gmm_jax.py --data "$RESULTS/gmm_$dtype.bin" --repeats "$REPEATS" --variant map4096
        fi
    done
    run=$((run + 1))
done

# ---- the B sweep: memory of a chunked map against one launch (PoCL) -------
if [ -z "$QUICK" ]; then
    echo "== B sweep (f32, PoCL, one run each)"
    for log2 in 16 17 18 19 20; do
        for chunk in 4096 none; do
            one pocl "$BENCH" --dtype f32 --items $((1 << log2)) --repeats 3 --chunk $chunk --variant sweep_$chunk
        done
    done
fi

fi # SUMMARY_ONLY

# ---- summary -------------------------------------------------------------
python3 tests/bench/limits.py --check "$LIMITS"
python3 tests/bench/gmm_summary.py "$RAW" "$LIMITS" "$RESULTS/gmm_table.md" | tee "$RESULTS/summary.txt"
