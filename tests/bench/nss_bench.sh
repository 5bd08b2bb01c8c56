#!/bin/sh
# nss_bench.sh — clvmap's nested slice sampler against BlackJAX's
# (blackjax.nss) on the same CPU, and clvmap chunked against unchunked.
#
# Problem (both sides): 10-d unit Gaussian on the uniform prior [-5, 5]^10,
# log Z = -10 log 10; n_live 500, num_delete 50, num_inner_steps 20,
# max_steps 10, max_shrinkage 100, float64, stop at logZ_live - logZ < -3.
# Variants: clvmap with chunk none, 1, 8 and 50 (tests/bench/nss_bench.c),
# BlackJAX (tests/bench/nss_blackjax.py). Every run is its own process;
# the variants are interleaved; run r uses seed r on every variant.
#
#   tests/bench/nss_bench.sh [--quick]     from the repository root
#
# Environment:
#   RUNS=5            runs per variant (medians over them; at least 3)
#   RUNTIMES, INTEL_VENDORS   clvmap's OpenCL runtimes (tests/bench/runtimes.sh),
#                     interleaved with each other and with BlackJAX
# --quick: RUNS=3, chunks none and 8 only.
#   BUILD_DIR=build-nss-bench   meson build directory (set up and built if needed)
#   NSS_VENV=tests/bench/results/.venv-nss   venv with jax and blackjax (created if needed)
#   SKIP_JAX=1        clvmap only
# Results: tests/bench/results/nss_raw.txt (every run's line) and
# tests/bench/results/nss_summary.txt (medians and ratios), nss_table.md
# (rows of the README's table, for tests/bench/run_all.sh).
#
# What is timed: clvmap's wall_s is clv_nss_run (sampling and the final
# simulated-shrinkage log Z) after clv_nss_new built the program; BlackJAX's
# wall_s is its sampling loop after jax.jit compiled the step, plus its
# final log Z timed on a second call (the first compiles it). Both sides'
# compilation is left out and reported apart (total_s, compile_s).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
QUICK=
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi
RUNS=${RUNS:-${QUICK:+3}}
RUNS=${RUNS:-5}
CHUNKS="none 1 8 50"
if [ -n "$QUICK" ]; then CHUNKS="none 8"; fi
BUILD_DIR=${BUILD_DIR:-build-nss-bench}
NSS_VENV=${NSS_VENV:-$RESULTS/.venv-nss}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh

# ---- build ---------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/nss/nss_bench >/dev/null
BENCH="$BUILD_DIR/tests/nss/nss_bench"

# ---- BlackJAX --------------------------------------------------------------
PY="$NSS_VENV/bin/python"
if [ "${SKIP_JAX:-0}" != 1 ]; then
    if [ ! -x "$PY" ]; then
        python3 -m venv "$NSS_VENV"
    fi
    if ! "$PY" -c 'import jax, blackjax' 2>/dev/null; then
        "$NSS_VENV/bin/pip" install --quiet --upgrade pip
        "$NSS_VENV/bin/pip" install --quiet 'jax[cpu]' blackjax
    fi
    echo "== $("$PY" -c 'import jax, blackjax; print("jax", jax.__version__, "blackjax", blackjax.__version__)')"
fi

RAW="$RESULTS/nss_raw.txt"
: > "$RAW"
one() { # one process; its line (with the load average) goes to raw.txt
    "$@" | sed -u "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$RAW"
}
one_rt() { # one clvmap process on runtime $1, its line tagged runtime=$1
    _r=$1
    shift
    rt_run "$_r" "$@" 2>/dev/null | rt_tag "$_r" | sed -u "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$RAW"
}

# ---- the runs: variants interleaved, one process per run -------------------
# clvmap runs under PoCL's default configuration (one pthread device using
# every core); XLA's CPU client also uses every core.
echo "== $RUNS runs per variant, runtimes: $RUNTIMES (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
run=1
while [ "$run" -le "$RUNS" ]; do
    for rt in $RUNTIMES; do
        for chunk in $CHUNKS; do
            one_rt "$rt" env POCL_DEVICES=pthread "$BENCH" --seed "$run" --chunk "$chunk" --variant clvmap
        done
    done
    if [ "${SKIP_JAX:-0}" != 1 ]; then
        one "$PY" tests/bench/nss_blackjax.py --seed "$run" --variant blackjax
    fi
    run=$((run + 1))
done

# ---- summary: medians per variant, and the ratios the targets name ---------
python3 - "$RAW" "$RESULTS/nss_table.md" <<'EOF' | tee "$RESULTS/nss_summary.txt"
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    if "wall_s=" not in line:
        continue
    r = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    r.setdefault("runtime", "-")
    rows.append(r)
groups = {}
for r in rows:
    groups.setdefault((r["variant"], r["runtime"], r["chunk"]), []).append(r)
def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)
loads = [float(r["load1"]) for r in rows if "load1" in r]
print("load average (1 min) during the runs: %.1f-%.1f" % (min(loads), max(loads)) if loads else "")
print("variant   runtime chunk  runs  wall_s(median)  evals/s(median)  |logZ-truth|(median)  logZ_err(median)")
for (v, rt, c), rs in sorted(groups.items()):
    print(f"{v:9} {rt:7} {c:>5}  {len(rs):4}  {med(rs, 'wall_s'):14.3f}  {med(rs, 'evals_per_s'):15.0f}"
          f"  {med(rs, 'abs_err'):20.3f}  {med(rs, 'logZ_err'):16.3f}")
runtimes = sorted({rt for (v, rt, c) in groups if v == "clvmap"}, key=lambda x: (x != "pocl", x))
bj = groups.get(("blackjax", "-", "none"))
speed, chunk8 = {}, {}
for rt in runtimes:
    base = groups.get(("clvmap", rt, "none"))
    if base and bj:
        speed[rt] = med(bj, 'wall_s') / med(base, 'wall_s')
        print(f"{rt}: BlackJAX / clvmap (chunk none) wall time: {speed[rt]:.2f}x (target >= 3)")
    for c in ("1", "8", "50"):
        if base and ("clvmap", rt, c) in groups:
            ratio = med(groups[("clvmap", rt, c)], "wall_s") / med(base, "wall_s")
            if c == "8":
                chunk8[rt] = ratio
            note = " (target <= 1.5)" if c == "8" else ""
            print(f"{rt}: clvmap chunk {c} / chunk none wall time: {ratio:.2f}x{note}")
with open(sys.argv[2], "w") as md:
    cells = []
    for rt in runtimes:
        base = groups.get(("clvmap", rt, "none"))
        cells.append("–" if not base else "%.2f s, log Z off by %.2f%s" % (
            med(base, "wall_s"), med(base, "abs_err"), "; **%.1f×** BlackJAX's speed" % speed[rt] if rt in speed else ""))
    md.write("| NSS, 10-d Gaussian, n_live 500 | %s | `blackjax.nss` %s | ≥ 3× |\n" % (
        " | ".join(cells), "–" if not bj else "%.2f s, log Z off by %.2f" % (med(bj, "wall_s"), med(bj, "abs_err"))))
    if chunk8:
        md.write("| NSS chunk 8 / unchunked | %s | | ≤ 1.5× |\n" % " | ".join(
            "%.2f×" % chunk8[rt] if rt in chunk8 else "–" for rt in runtimes))
EOF
