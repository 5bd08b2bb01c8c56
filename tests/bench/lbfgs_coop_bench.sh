#!/bin/sh
# lbfgs_coop_bench.sh — cooperative L-BFGS objectives (issue 13): B = 64
# L2-regularised logistic regressions of N = 10^4 observations x d = 20
# features (bias included; tests/bench/lbfgs_bench.c makes them), each with
# its own L2 weight, minimised by
#   clvmap coop     clv_lbfgs_objective.cooperative: one work group per
#                   problem, each lane a strided share of the observations,
#                   plain scalar code (logistic_coop_cl, tests/lbfgs/objectives.h)
#   clvmap plain    one work item per problem, the same plain scalar code
#                   (logistic_plain_cl)
#   clvmap real4    one work item per problem, hand-vectorised over clv_real4
#                   (logistic_cl, the form the README recommends on PoCL)
#   optax           optax.lbfgs under jax.jit(jax.vmap(solve)) (lbfgs_ref.py)
# with both line searches, on PoCL (one pthread device: it uses every core)
# and on Intel's OpenCL CPU runtime, RUNS runs each, interleaved, medians.
# Every line records the runtime and the 1-minute load average when it ran.
#
#   tests/bench/lbfgs_coop_bench.sh          from the repository root
#
# Environment:
#   RUNS=3  ITEMS=64  SAMPLES=10000  FEATURES=20
#   RUNTIMES="pocl intel"   INTEL_VENDORS=/work/intel-rt/vendors (an
#                   OCL_ICD_VENDORS folder naming Intel's runtime only)
#   BUILD_DIR=build-lbfgs-bench   BENCH_VENV=tests/bench/results/.venv-lbfgs
#   SKIP_PY=1       clvmap only;  SUMMARY_ONLY=1  summarise the raw file again
# Results: tests/bench/results/lbfgs_coop_raw.txt and lbfgs_coop_summary.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
RUNS=${RUNS:-3}
ITEMS=${ITEMS:-64}
SAMPLES=${SAMPLES:-10000}
FEATURES=${FEATURES:-20}
RUNTIMES=${RUNTIMES:-pocl intel}
INTEL_VENDORS=${INTEL_VENDORS:-/work/intel-rt/vendors}
BUILD_DIR=${BUILD_DIR:-build-lbfgs-bench}
BENCH_VENV=${BENCH_VENV:-$RESULTS/.venv-lbfgs}
RAW="$RESULTS/lbfgs_coop_raw.txt"
mkdir -p "$RESULTS"

if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/lbfgs/lbfgs_bench >/dev/null
BENCH="$BUILD_DIR/tests/lbfgs/lbfgs_bench"
SIZE="--samples $SAMPLES --features $FEATURES"
"$BENCH" --dump "$RESULTS" --items "$ITEMS" $SIZE >/dev/null
DATA="$RESULTS/lbfgs_logistic_${ITEMS}_${SAMPLES}x${FEATURES}.bin"

PY="$BENCH_VENV/bin/python"
if [ "${SKIP_PY:-0}" != 1 ]; then
    [ -x "$PY" ] || python3 -m venv "$BENCH_VENV"
    if ! "$PY" -c 'import jax, optax' 2>/dev/null; then
        "$BENCH_VENV/bin/pip" install --quiet --upgrade pip
        "$BENCH_VENV/bin/pip" install --quiet 'jax[cpu]' optax scipy
    fi
fi

load() { cut -d' ' -f1 /proc/loadavg; }
# one RUNTIME CMD...: a run, its line tagged with the runtime and the load
one() {
    rt=$1
    shift
    "$@" 2>/dev/null | grep '^lbfgs ' | sed "s/^lbfgs /lbfgs runtime=$rt load=$(load) /" | tee -a "$RAW"
}
clvmap() { # RUNTIME VARIANT LINESEARCH
    case $1 in
        pocl) one pocl env POCL_DEVICES=pthread "$BENCH" --tool clvmap --problem logistic --items "$ITEMS" $SIZE \
                  --variant "$2" --linesearch "$3" ;;
        intel) one intel env OCL_ICD_VENDORS="$INTEL_VENDORS" "$BENCH" --tool clvmap --problem logistic \
                   --items "$ITEMS" $SIZE --variant "$2" --linesearch "$3" ;;
    esac
}

: > "$RAW"
echo "== $RUNS runs per variant, B = $ITEMS, N = $SAMPLES, d = $FEATURES (machine: $(nproc) cores, load $(load))"
run=1
while [ "$run" -le "$RUNS" ]; do
    for ls in zoom backtracking; do
        for rt in $RUNTIMES; do
            for v in coop plain default; do clvmap "$rt" "$v" "$ls"; done
        done
        if [ "${SKIP_PY:-0}" != 1 ]; then
            one xla "$PY" tests/bench/lbfgs_ref.py --tool optax --problem logistic --linesearch "$ls" --data "$DATA"
        fi
    done
    run=$((run + 1))
done
fi

# ---- summary -------------------------------------------------------------------
python3 - "$RAW" <<'EOF' | tee "$RESULTS/lbfgs_coop_summary.txt"
import statistics, sys

rows = []
for line in open(sys.argv[1]):
    _, *fields = line.split()
    rows.append(dict(f.split("=", 1) for f in fields))
name = {"coop": "coop (plain scalar)", "plain": "one work item, scalar", "default": "one work item, clv_real4"}
T = {}
print("\n%-6s %-13s %-26s %4s %9s %9s %6s %6s %9s %7s" % (
    "rt", "line search", "form", "runs", "median s", "min s", "lanes", "iters", "converged", "load"))
for ls in ("zoom", "backtracking"):
    for rt, tool, variants in (("pocl", "clvmap", ("coop", "plain", "default")),
                               ("intel", "clvmap", ("coop", "plain", "default")), ("xla", "optax", ("default",))):
        for v in variants:
            rs = [r for r in rows if r["runtime"] == rt and r["tool"] == tool and r["linesearch"] == ls
                  and r["variant"] == v]
            if not rs:
                continue
            t = statistics.median(float(r["seconds"]) for r in rs)
            T[rt, v, ls] = t
            form = "optax jit(vmap)" if tool == "optax" else name[v]
            print("%-6s %-13s %-26s %4d %9.3f %9.3f %6s %6s %5s/%-3s %7.1f" % (
                rt, ls, form, len(rs), t, min(float(r["seconds"]) for r in rs), rs[0].get("lanes", "-"),
                rs[0]["iters_median"], rs[0]["converged"], rs[0]["items"],
                statistics.median(float(r["load"]) for r in rs)))
print("\nratios of medians (> 1: the cooperative form is faster)")
for ls in ("zoom", "backtracking"):
    for rt in ("pocl", "intel"):
        if (rt, "coop", ls) not in T:
            continue
        c = T[rt, "coop", ls]
        parts = ["one work item scalar / coop %.2fx" % (T[rt, "plain", ls] / c)] if (rt, "plain", ls) in T else []
        if (rt, "default", ls) in T:
            parts.append("clv_real4 / coop %.2fx" % (T[rt, "default", ls] / c))
        if ("xla", "default", ls) in T:
            parts.append("optax / coop %.2fx" % (T["xla", "default", ls] / c))
        print("  %-6s %-13s %s" % (rt, ls, ", ".join(parts)))
EOF
