#!/bin/sh
# run_all.sh — every headline benchmark, on every OpenCL runtime, in one run,
# and the README's table written from what it measured.
#
#   bash tests/bench/run_all.sh            full sizes (tens of minutes on 2 cores)
#   bash tests/bench/run_all.sh --quick    small sizes (a few minutes): checks the pipeline
#
# In order: the machine's limits (tests/bench/machine_limits: FMA peak per
# precision as a plain C loop and as an OpenCL kernel per runtime, copy and
# triad bandwidth, launch latency of an empty map per runtime), then
# run_gmm_bench.sh (GMM, against JAX), nss_bench.sh (against BlackJAX),
# nuts_bench.sh (against BlackJAX and NumPyro, both timed after their
# compilation), lbfgs_bench.sh (against liblbfgs, optax and scipy) and
# mpi_bench.sh (1, 2, 3 ranks; PoCL only: it needs one single-core device per
# rank). Inside each benchmark the runtimes and the reference tools take
# turns run by run, every figure is a median of >= 3 runs, and every line
# carries the load average it was measured at.
#
# Writes tests/bench/results/bench_table.md (the limits, then one row per
# headline figure with one column per runtime) and, for a full run, puts it
# into README.md between the lines "<!-- bench-table:begin -->" and
# "<!-- bench-table:end -->" (README=0: leave README.md alone; README=1 with
# --quick: update it anyway).
#
# Environment:
#   RUNTIMES="pocl intel"  INTEL_VENDORS=DIR   see tests/bench/runtimes.sh
#                          (e.g. INTEL_VENDORS=/work/intel-rt/vendors)
#   BUILD_DIR=build-bench  meson build directory (release; set up if needed)
#   BENCH_VENV=tests/bench/results/.venv-all   one venv for every Python
#                          reference (jax[cpu], blackjax, numpyro, arviz, optax, scipy)
#   SKIP="mpi ..."         benchmarks to leave out (gmm nss nuts lbfgs mpi); their rows
#                          from an earlier run (results/*_table.md) stay in the table
#   TABLE_ONLY=1           measure nothing: the table again from the results there
#                          (the GMM summary redone against results/limits.txt)
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
QUICK=
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi
RESULTS=tests/bench/results
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_VENV=${BENCH_VENV:-$RESULTS/.venv-all}
SKIP=${SKIP:-}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh
export RUNTIMES INTEL_VENDORS BUILD_DIR
START=$(date -u +"%Y-%m-%d %H:%M UTC")
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
skipped() { case " $SKIP " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if [ "${TABLE_ONLY:-0}" = 1 ]; then SKIP="gmm nss nuts lbfgs mpi limits"; fi

# ---- build and venv ----------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
TARGETS="tests/bench/machine_limits tests/bench/bench_gmm tests/nss/nss_bench tests/nuts/nuts_bench tests/lbfgs/lbfgs_bench"
if ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q '^tests/mpi/mpi_bench:'; then
    TARGETS="$TARGETS tests/mpi/mpi_bench"
fi
ninja -C "$BUILD_DIR" $TARGETS >/dev/null
if [ ! -x "$BENCH_VENV/bin/python" ]; then
    python3 -m venv "$BENCH_VENV"
fi
if ! "$BENCH_VENV/bin/python" -c 'import jax, blackjax, numpyro, arviz, optax, scipy' 2>/dev/null; then
    "$BENCH_VENV/bin/pip" install --quiet --upgrade pip
    "$BENCH_VENV/bin/pip" install --quiet 'jax[cpu]' blackjax numpyro arviz optax scipy
fi
VERSIONS=$("$BENCH_VENV/bin/python" -c 'import jax, blackjax, numpyro, optax, scipy; print("JAX %s, BlackJAX %s, NumPyro %s, optax %s, scipy %s" % (jax.__version__, blackjax.__version__, numpyro.__version__, optax.__version__, scipy.__version__))')

# ---- the machine's limits ----------------------------------------------------------
LIMITS_BIN="$BUILD_DIR/tests/bench/machine_limits"
LIMITS=$RESULTS/limits.txt
if ! skipped limits; then
    echo "== machine limits (runtimes: $RUNTIMES; load $(cut -d' ' -f1-3 /proc/loadavg))"
    : > "$LIMITS"
    bench_limits "$LIMITS"
    cat "$LIMITS"
fi

# ---- the benchmarks ------------------------------------------------------------------
Q=${QUICK:+--quick}
for b in gmm nss nuts lbfgs; do skipped $b || rm -f "$RESULTS/${b}_table.md"; done
if ! skipped gmm; then
    echo "== GMM"
    LIMITS_FILE=$LIMITS BENCH_VENV=$BENCH_VENV sh tests/bench/run_gmm_bench.sh $Q
elif [ "${TABLE_ONLY:-0}" = 1 ] && [ -s "$RESULTS/raw.txt" ]; then
    SUMMARY_ONLY=1 LIMITS_FILE=$LIMITS sh tests/bench/run_gmm_bench.sh >/dev/null
fi
if ! skipped nss; then
    echo "== NSS"
    NSS_VENV=$BENCH_VENV sh tests/bench/nss_bench.sh $Q
fi
if ! skipped nuts; then
    echo "== NUTS"
    NUTS_VENV=$BENCH_VENV sh tests/bench/nuts_bench.sh $Q
fi
if ! skipped lbfgs; then
    echo "== L-BFGS"
    BENCH_VENV=$BENCH_VENV sh tests/bench/lbfgs_bench.sh $Q
fi
MPI_ROW=
if ! skipped mpi && [ -x "$BUILD_DIR/tests/mpi/mpi_bench" ] && command -v mpirun >/dev/null; then
    echo "== MPI"
    if [ -n "$QUICK" ]; then MPI_ARGS="--items 8192 --work 500 --repeats 3"; else MPI_ARGS="--items 32768 --work 2000 --repeats 5"; fi
    bash tests/bench/mpi_bench.sh "$BUILD_DIR/tests/mpi/mpi_bench" -- $MPI_ARGS | tee "$RESULTS/mpi_summary.txt"
fi
if [ -s "$RESULTS/mpi_summary.txt" ]; then
    # the "2" row of its table: ranks, total (median, best), speed-up (median, best)
    others=$(echo $RUNTIMES | wc -w)
    MPI_ROW=$(awk -v n="$others" '$1 == 2 && NF >= 5 && $4 ~ /^[0-9.]+$/ {
        printf "| a compute-bound map (sin, cos, sqrt), 2 MPI ranks / 1 (one single-core PoCL device each) | **%.2f×** (best runs %.2f×) |", $4, $5
        for (i = 1; i < n; ++i) printf " (PoCL only) |"
        printf " | ≥ 1.8× |" }' "$RESULTS/mpi_summary.txt")
fi

# ---- the table -------------------------------------------------------------------------
TABLE=$RESULTS/bench_table.md
{
    if [ "${TABLE_ONLY:-0}" = 1 ]; then
        echo "Measured by \`bash tests/bench/run_all.sh${QUICK:+ --quick}\` (table assembled $START; every line of the" \
             "raw files in tests/bench/results/ carries the load average it ran at)."
    else
        echo "Measured by \`bash tests/bench/run_all.sh${QUICK:+ --quick}\` on $START (load average $LOAD_START at the start," \
             "$(cut -d' ' -f1-3 /proc/loadavg) at the end; every line of the raw files in tests/bench/results/ carries its own)."
    fi
    if [ -n "$SKIP" ] && [ "${TABLE_ONLY:-0}" != 1 ]; then
        echo "Not measured in this run (SKIP): $SKIP; those rows are an earlier run's (results/*_table.md, their raw lines carry their dates and loads)."
    fi
    echo "References: $VERSIONS. Ratios are of medians taken in one interleaved run; \"N×\" is how many times faster clvmap was."
    echo
    python3 tests/bench/limits.py "$LIMITS"
    echo
    header="| what |"
    rule="|---|"
    for rt in $RUNTIMES; do
        header="$header clvmap on $rt ($(grep -m1 "where=opencl runtime=$rt " "$LIMITS" | sed 's/.*platform=\([^ ]*\).*/\1/' | tr '_' ' ')) |"
        rule="$rule---|"
    done
    echo "$header reference | target |"
    echo "$rule---|---|"
    for b in gmm nss nuts lbfgs; do
        if [ -f "$RESULTS/${b}_table.md" ]; then cat "$RESULTS/${b}_table.md"; fi
    done
    if [ -n "$MPI_ROW" ]; then echo "$MPI_ROW"; fi
} > "$TABLE"
echo "== $TABLE"
cat "$TABLE"

if [ "${README:-${QUICK:+0}}" != 0 ]; then
    if grep -q '^<!-- bench-table:begin -->' README.md && grep -q '^<!-- bench-table:end -->' README.md; then
        awk -v table="$TABLE" '
            /^<!-- bench-table:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
            /^<!-- bench-table:end -->/ { skip = 0 }
            !skip' README.md > "$RESULTS/README.md.new"
        mv "$RESULTS/README.md.new" README.md
        echo "== README.md: the table between the bench-table markers replaced"
    else
        echo "README.md has no bench-table markers: left alone" >&2
    fi
fi
