#!/bin/sh
# lbfgs_bench.sh — batched L-BFGS: clvmap against optax (jit(vmap)), a scipy
# L-BFGS-B loop and a liblbfgs loop, on the same CPU, same problems
# (tests/bench/lbfgs_bench.c describes them: B = 1024 extended Rosenbrock
# n = 32 from varied starts, and 1024 logistic regressions with varied L2
# weights).
#
#   tests/bench/lbfgs_bench.sh [--quick]   from the repository root
#
# Environment:
#   RUNTIMES, INTEL_VENDORS   clvmap's OpenCL runtimes (tests/bench/runtimes.sh),
#                   interleaved with each other and with the other tools
#   RUNS=3          processes per variant (one process per run; medians)
#   ITEMS=1024      problems per batch
#   SCIPY_STRIDE=8  the scipy loop solves every 8th item and its time is
#                   scaled by 8 (a loop's time per item does not depend on B)
#   BUILD_DIR=build-lbfgs-bench    meson build directory (set up if needed)
#   BENCH_VENV=tests/bench/results/.venv-lbfgs   venv with jax[cpu], optax,
#                   scipy (created and filled with pip if needed)
#   SKIP_PY=1       clvmap and liblbfgs only
#   SUMMARY_ONLY=1  summarise the existing lbfgs_raw.txt again, run nothing
#   PROBLEMS="rosenbrock logistic"   the problems to run
# --quick: ITEMS=256, SCIPY_STRIDE=32, no CLBlast variant.
# Results: tests/bench/results/lbfgs_raw.txt (every line),
# tests/bench/results/lbfgs_summary.txt, and lbfgs_table.md (rows of the
# README's table, for tests/bench/run_all.sh).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
QUICK=
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi
RUNS=${RUNS:-3}
ITEMS=${ITEMS:-${QUICK:+256}}
ITEMS=${ITEMS:-1024}
SCIPY_STRIDE=${SCIPY_STRIDE:-${QUICK:+32}}
SCIPY_STRIDE=${SCIPY_STRIDE:-8}
BUILD_DIR=${BUILD_DIR:-build-lbfgs-bench}
BENCH_VENV=${BENCH_VENV:-$RESULTS/.venv-lbfgs}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh

RAW="$RESULTS/lbfgs_raw.txt"
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
# ---- build -----------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/lbfgs/lbfgs_bench >/dev/null
BENCH="$BUILD_DIR/tests/lbfgs/lbfgs_bench"
"$BENCH" --dump "$RESULTS" --items "$ITEMS" >/dev/null

# ---- Python references ---------------------------------------------------------
PY="$BENCH_VENV/bin/python"
if [ "${SKIP_PY:-0}" != 1 ]; then
    [ -x "$PY" ] || python3 -m venv "$BENCH_VENV"
    if ! "$PY" -c 'import jax, optax, scipy' 2>/dev/null; then
        "$BENCH_VENV/bin/pip" install --quiet --upgrade pip
        "$BENCH_VENV/bin/pip" install --quiet 'jax[cpu]' optax scipy
    fi
fi

: > "$RAW"
load() { sed -u "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/"; }
one() { "$@" 2>/dev/null | grep '^lbfgs ' | load | tee -a "$RAW"; }
one_rt() { _r=$1; shift; rt_run "$_r" "$@" 2>/dev/null | grep '^lbfgs ' | rt_tag "$_r" | load | tee -a "$RAW"; }

# One PoCL device (its pthread driver uses every core), as XLA's CPU client
# and scipy's BLAS do. Variants interleaved so that load changes hit all.
echo "== $RUNS runs per variant, B = $ITEMS, runtimes: $RUNTIMES (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
run=1
while [ "$run" -le "$RUNS" ]; do
    for problem in ${PROBLEMS:-rosenbrock logistic}; do
        data="$RESULTS/lbfgs_${problem}_$ITEMS.bin"
        for rt in $RUNTIMES; do
            for ls in zoom backtracking; do
                one_rt "$rt" env POCL_DEVICES=pthread "$BENCH" --tool clvmap --problem $problem --linesearch $ls --items "$ITEMS"
            done
            if [ $problem = logistic ] && [ -z "$QUICK" ]; then  # the objective as CLBlast GEMMs in a callback
                one_rt "$rt" env POCL_DEVICES=pthread "$BENCH" --tool clvmap --problem $problem --variant gemm --items "$ITEMS"
            fi
        done
        for ls in zoom backtracking; do  # More-Thuente; its default backtracking (Wolfe)
            one "$BENCH" --tool liblbfgs --problem $problem --linesearch $ls --items "$ITEMS"
        done
        if [ "${SKIP_PY:-0}" != 1 ]; then
            for ls in zoom backtracking; do
                one "$PY" tests/bench/lbfgs_ref.py --tool optax --problem $problem --linesearch $ls --data "$data"
            done
            one "$PY" tests/bench/lbfgs_ref.py --tool scipy --problem $problem --data "$data" --stride "$SCIPY_STRIDE"
        fi
    done
    run=$((run + 1))
done
fi

# ---- summary -------------------------------------------------------------------
python3 - "$RAW" "$RESULTS/lbfgs_table.md" <<'EOF' | tee "$RESULTS/lbfgs_summary.txt"
import statistics, sys

rows = []
for line in open(sys.argv[1]):
    _, *fields = line.split()
    r = dict(f.split("=", 1) for f in fields if "=" in f)
    if "runtime" in r:  # clvmap on one runtime: its own tool name, clvmap/pocl, clvmap/intel
        r["tool"] += "/" + r["runtime"]
    rows.append(r)
clvs = sorted({r["tool"] for r in rows if r["tool"].startswith("clvmap")}, key=lambda t: (t != "clvmap/pocl", t))
loads = [float(r["load1"]) for r in rows if "load1" in r]
if loads:
    print("load average (1 min) during the runs: %.1f-%.1f" % (min(loads), max(loads)))

def pick(tool, problem, ls, variant="default"):
    return [r for r in rows if r["tool"] == tool and r["problem"] == problem and r["linesearch"] == ls
            and r["variant"] == variant]

def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)

variants = [(c, ls, v) for c in clvs for ls, v in (("zoom", "default"), ("backtracking", "default"), ("zoom", "gemm"))] + [
            ("liblbfgs", "zoom", "default"), ("liblbfgs", "backtracking", "default"), ("optax", "zoom", "default"), ("optax", "backtracking", "default"),
            ("scipy", "scipy", "default")]
print("\n%-12s %-17s %-12s %5s %10s %10s %8s %9s %9s %10s" % (
    "tool", "line search", "problem", "runs", "median s", "min s", "cpu/s", "med iters", "mean evals", "converged"))
T, C = {}, {}
for problem in ("rosenbrock", "logistic"):
    for tool, ls, variant in variants:
        rs = pick(tool, problem, ls, variant)
        if not rs:
            continue
        t = med(rs, "seconds")
        if variant == "default":
            T[tool, ls, problem] = (t, med(rs, "iters_median"), rs[0])
            C[tool, ls, problem] = med(rs, "cpu_seconds")
        name = {("liblbfgs", "zoom"): "More-Thuente", ("scipy", "scipy"): "L-BFGS-B"}.get((tool, ls), ls)
        if variant != "default":
            name += "+" + variant
        print("%-12s %-17s %-12s %5d %10.4f %10.4f %8.2f %9.0f %10.1f %5s/%s%s" % (
            tool, name, problem, len(rs), t, min(float(r["seconds"]) for r in rs), med(rs, "cpu_seconds") / t,
            med(rs, "iters_median"), med(rs, "evals_mean"), rs[0]["converged"], rs[0]["items"],
            "  (time x%s from 1/%s of the items)" % (rs[0]["scale"], rs[0]["scale"]) if rs[0].get("scale", "1") != "1" else ""))

print("\nratios of medians (target in brackets)")
X = {}
for clv in clvs:
  for problem in ("rosenbrock", "logistic"):
    for ls in ("zoom", "backtracking"):
        if (clv, ls, problem) not in T:
            continue
        c = T[clv, ls, problem][0]
        if ("optax", ls, problem) in T:
            r = T["optax", ls, problem][0] / c
            rc = C["optax", ls, problem] / C[clv, ls, problem]
            X[clv, problem, ls, "optax"] = r
            print("  %-12s %-10s %-12s optax jit(vmap) / clvmap   %7.1fx (>= 5x)   %s   (CPU seconds: %.1fx)" % (
                clv, problem, ls, r, "met" if r >= 5 else "MISSED", rc))
        if ("scipy", "scipy", problem) in T:
            r = T["scipy", "scipy", problem][0] / c
            X[clv, problem, ls, "scipy"] = r
            print("  %-12s %-10s %-12s scipy loop / clvmap        %7.1fx (>= 10x)  %s" % (clv, problem, ls, r, "met" if r >= 10 else "MISSED"))
        if ("liblbfgs", ls, problem) in T:  # the same line search (zoom: More-Thuente)
            r = T["liblbfgs", ls, problem][0] / c
            it = T[clv, ls, problem][1] / T["liblbfgs", ls, problem][1]
            X[clv, problem, ls, "liblbfgs"] = r
            X[clv, problem, ls, "iters"] = it
            print("  %-12s %-10s %-12s liblbfgs loop / clvmap     %7.1fx           median iterations clvmap/liblbfgs %.2f "
                  "(within 20%%: %s)" % (clv, problem, ls, r, it, "met" if abs(it - 1) <= 0.2 else "MISSED"))
        if ls == "backtracking" and ("liblbfgs", "zoom", problem) in T:
            it = T[clv, ls, problem][1] / T["liblbfgs", "zoom", problem][1]
            print("  %-12s %-10s %-12s median iterations clvmap/liblbfgs More-Thuente %.2f" % (clv, problem, ls, it))
    if (clv, "zoom", problem) in T and (clv, "backtracking", problem) in T:
        print("  %-12s %-10s clvmap backtracking / zoom time %.2f" % (
            clv, problem, T[clv, "backtracking", problem][0] / T[clv, "zoom", problem][0]))

with open(sys.argv[2], "w") as md:
    items = rows[0]["items"] if rows else "?"
    for problem, what in (("rosenbrock", "Rosenbrock n = 32"), ("logistic", "logistic regressions")):
        for ref, target in (("liblbfgs", "≥ 1.5×" if problem == "rosenbrock" else "≥ 3×"), ("optax", "≥ 5×"),
                            ("scipy", "≥ 10×")):
            cells = []
            for clv in clvs:
                got = [(ls, X[clv, problem, ls, ref]) for ls in ("zoom", "backtracking") if (clv, problem, ls, ref) in X]
                cells.append(", ".join("%s **%.1f×**" % (ls, x) for ls, x in got) or "–")
            if any(c != "–" for c in cells):
                refname = {"liblbfgs": "the liblbfgs C loop (1 core)", "optax": "optax `jit(vmap)`",
                           "scipy": "a scipy L-BFGS-B loop"}[ref]
                md.write("| L-BFGS, %s %s, clvmap's speed / %s | %s | | %s |\n" % (
                    items, what, refname, " | ".join(cells), target))
    cells = []
    for clv in clvs:
        its = [X[k] for k in X if k[0] == clv and k[3] == "iters"]
        cells.append("%.2f–%.2f×" % (min(its), max(its)) if its else "–")
    md.write("| L-BFGS iterations / liblbfgs's, same line search | %s | | within 20 %% |\n" % " | ".join(cells))
EOF
