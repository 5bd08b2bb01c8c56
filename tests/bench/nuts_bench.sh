#!/bin/sh
# nuts_bench.sh — clvmap's NUTS against BlackJAX (vmapped chains under jit)
# and NumPyro (chain_method="vectorized") on the same CPU: min-over-parameters
# bulk ESS per second, and clvmap's ratio to each.
#
# Models (examples/nuts_models.h, the same data on every side through
# nuts_bench --dump-data): normal (BlackJAX how-to, 1000 observations),
# gauss (100-d correlated Gaussian), eight_schools (non-centred), logistic
# (1000 x 10). 4 chains, 1000 warmup, 1000 draws, float64, max depth 10,
# target 0.8, diagonal metric, Stan-style windowed warmup on every side.
#
#   tests/bench/nuts_bench.sh [--quick]    from the repository root
#
# Environment:
#   RUNS=3              timed runs per variant (medians; at least 3)
#   RUNTIMES, INTEL_VENDORS   clvmap's OpenCL runtimes (tests/bench/runtimes.sh),
#                       run one after the other for each model, then the references
# --quick: MODELS="normal eight_schools", WARMUP=500 DRAWS=500.
#   MODELS="normal gauss eight_schools logistic"
#   CHAINS=4 WARMUP=1000 DRAWS=1000
#   BUILD_DIR=build-nuts-bench   meson build directory (set up and built if needed)
#   NUTS_VENV=tests/bench/results/.venv-nuts   venv with jax, blackjax, numpyro, arviz (created if needed)
#   POCL_DEVICES=pthread         clvmap's devices (one CPU device using every core)
#   SKIP_JAX=1          clvmap only
#   COOP=1              instead of MODELS: the logistic regression (OBS x DIMS) in its
#                       three forms — plain scalar one work item per chain
#                       (logistic_plain), hand-vectorised (logistic_vec), cooperative
#                       (logistic_coop, LOCAL lanes per chain; 0: the device's default)
#                       — and BlackJAX (jit(vmap) over chains) on the same data
#                       and, except on PoCL, the cooperative form with X stored by columns
#                       (logistic_coop_cols at 16 lanes: neighbouring lanes read neighbouring rows)
#   OBS="10000" DIMS="20 100" LOCAL=0 FORMS="logistic_plain logistic_vec logistic_coop[ logistic_coop_cols:16]"
#                       (FORM:L runs FORM at local size L; LOCAL is the others')
#   SUMMARY_ONLY=1      (with COOP=1) no runs: the summary of the raw file again
#   OCL_ICD_VENDORS=/work/intel-rt/vendors   Intel's CPU runtime instead of PoCL
#                       (results then go to nuts_coop_*_intel.txt)
# Results: tests/bench/results/nuts_raw.txt (every run's line) and
# tests/bench/results/nuts_summary.txt (medians and ratios), nuts_table.md
# (rows of the README's table, for tests/bench/run_all.sh).
#
# What is timed: clvmap's wall_s is clv_nuts_run (warmup and sampling) after
# clv_nuts_new built the program; BlackJAX's is its jitted warmup + sampling
# function after a first call compiled it (run 0, compile=1, reported but not
# in the medians); NumPyro's the same for its jitted warmup + sampling,
# whose first run compiled in the same process (tests/bench/nuts_ref.py: one jitted function
# of numpyro.infer.hmc's kernel; MCMC.run compiled again on every run). ESS: ArviZ (az.ess, method "bulk") on every side; for clvmap,
# ArviZ reads its CmdStan-layout CSV files (from_cmdstan) and the script
# checks that it agrees with clvmap's own diagnostics.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
QUICK=
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi
RUNS=${RUNS:-3}
MODELS=${MODELS:-${QUICK:+normal eight_schools}}
MODELS=${MODELS:-"normal gauss eight_schools logistic"}
CHAINS=${CHAINS:-4}
WARMUP=${WARMUP:-${QUICK:+500}}
WARMUP=${WARMUP:-1000}
DRAWS=${DRAWS:-${QUICK:+500}}
DRAWS=${DRAWS:-1000}
BUILD_DIR=${BUILD_DIR:-build-nuts-bench}
NUTS_VENV=${NUTS_VENV:-$RESULTS/.venv-nuts}
export POCL_DEVICES=${POCL_DEVICES:-pthread}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" tests/nuts/nuts_bench >/dev/null
BENCH="$BUILD_DIR/tests/nuts/nuts_bench"

if [ "${SKIP_JAX:-0}" != 1 ] && [ ! -x "$NUTS_VENV/bin/python" ]; then
    python3 -m venv "$NUTS_VENV"
    "$NUTS_VENV/bin/pip" install -q "jax[cpu]" blackjax numpyro arviz
fi
PY="$NUTS_VENV/bin/python"

COMMON="--chains $CHAINS --warmup $WARMUP --draws $DRAWS"

if [ "${COOP:-0}" = 1 ]; then
    RT=pocl
    case "${OCL_ICD_VENDORS:-}" in *intel*) RT=intel ;; esac
    RAW=$RESULTS/nuts_coop_raw_$RT.txt
    # X by columns with interleaved rows is the form for lanes that all run
    # side by side: 16 on Intel's CPU runtime (one vector of its code; at
    # 64 it runs 4 vectors in turn and each reads a quarter of every line,
    # 0.44x the plain form at 10^5 x 20). PoCL runs every lane in turn (one
    # pass over X per lane), so not there.
    DEFAULT_FORMS="logistic_plain logistic_vec logistic_coop"
    if [ "$RT" != pocl ]; then DEFAULT_FORMS="$DEFAULT_FORMS logistic_coop_cols:16"; fi
    SUMMARY=$RESULTS/nuts_coop_summary_$RT.txt
    LOAD0=$(uptime | sed 's/.*load average: //')
    if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
        : > "$RAW"
        for n in ${OBS:-10000}; do
            for d in ${DIMS:-20 100}; do
                tag="n${n}_d${d}"
                for spec in ${FORMS:-$DEFAULT_FORMS}; do
                    form=${spec%%:*}                      # FORM or FORM:LANES
                    lanes=${LOCAL:-0}
                    case "$spec" in *:*) lanes=${spec#*:} ;; esac
                    echo "== $form $tag ($RT, local size $lanes)" >&2
                    "$BENCH" --model "$form" --obs "$n" --dim "$d" --local "$lanes" $COMMON --runs "$RUNS" \
                        --dump-data "$TMP/$tag.txt" | sed "s/model=$form /model=${form}_$tag /" | tee -a "$RAW"
                done
                if [ "${SKIP_JAX:-0}" != 1 ]; then
                    "$PY" tests/bench/nuts_ref.py --lib blackjax --data "$TMP/$tag.txt" $COMMON --runs "$RUNS" |
                        sed "s/model=logistic /model=blackjax_$tag /" | tee -a "$RAW"
                fi
            done
        done
    fi
    {
        echo "# NUTS logistic regression, $CHAINS chains x $DRAWS draws after $WARMUP warmup, median of $RUNS runs"
        echo "# $(date -u '+%Y-%m-%d %H:%M') runtime=$RT POCL_DEVICES=$POCL_DEVICES LOCAL=${LOCAL:-0} $(nproc) cores"
        if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
            echo "# summarised again from $RAW (SUMMARY_ONLY=1): the runs' date and load are not in it"
        else
            echo "# load average at start: $LOAD0; at end: $(uptime | sed 's/.*load average: //')"
        fi
        awk '
        function field(name,   i, kv) { for (i = 1; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] } return "" }
        function median(list,   n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        ($1 == "clvmap" || $1 == "blackjax") && field("compile") != "1" {
            key = field("model"); n = split(key, p, "_"); tag = p[n - 1] "_" p[n]
            form = substr(key, 1, length(key) - length(tag) - 1)
            wall[key] = wall[key] " " field("wall_s"); ess[key] = ess[key] " " field("min_ess_bulk")
            eps[key] = eps[key] " " field("ess_per_s"); tags[tag] = 1; forms[form] = 1
        }
        END {
            printf "%-13s %-18s %9s %12s %10s %11s %10s\n", "size", "form", "wall_s", "min_ess_bulk", "ess_per_s",
                   "x_blackjax", "x_plain"
            for (t in tags) {
                bj = ("blackjax_" t) in eps ? median(eps["blackjax_" t]) : 0
                pl = ("logistic_plain_" t) in eps ? median(eps["logistic_plain_" t]) : 0
                split("logistic_plain logistic_vec logistic_coop logistic_coop_cols blackjax", fl, " ")
                for (i = 1; i <= 5; ++i) {
                    key = fl[i] "_" t
                    if (!(key in eps)) continue
                    r = median(eps[key])
                    # the conditionals in parentheses: a bare ">" in printf arguments is a redirection
                    printf "%-13s %-18s %9.2f %12.0f %10.1f %11s %10s\n", t, fl[i], median(wall[key]), median(ess[key]), r,
                           (bj > 0 ? sprintf("%.2f", r / bj) : "-"), (pl > 0 ? sprintf("%.2f", r / pl) : "-")
                }
            }
        }' "$RAW"
    } > "$SUMMARY"
    cat "$SUMMARY"
    exit 0
fi

RAW=$RESULTS/nuts_raw.txt
: > "$RAW"
for model in $MODELS; do
    echo "== $model" >&2
    for rt in $RUNTIMES; do
        rt_run "$rt" "$BENCH" --model "$model" $COMMON --runs "$RUNS" --dump-data "$TMP/$model.txt" \
            --csv "$TMP/${model}_$rt" 2>/dev/null | rt_tag "$rt" | sed "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" |
            tee -a "$RAW"
    done
    if [ "${SKIP_JAX:-0}" != 1 ]; then
        for rt in $RUNTIMES; do
            "$PY" tests/bench/nuts_ref.py --lib arviz-csv --csv-glob "$TMP/${model}_${rt}_*.csv" |
                sed "s/^/model=$model runtime=$rt /" | tee -a "$RAW"
        done
        for lib in blackjax numpyro; do
            "$PY" tests/bench/nuts_ref.py --lib $lib --data "$TMP/$model.txt" $COMMON --runs "$RUNS" |
                sed "s/\$/ load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$RAW"
        done
    fi
done

# medians per (library, runtime, model) over the runs without compilation
SUMMARY=$RESULTS/nuts_summary.txt
{
    echo "# NUTS: $CHAINS chains x $DRAWS draws after $WARMUP warmup, median of $RUNS runs, $(nproc) cores"
    echo "# $(date -u +%Y-%m-%d) POCL_DEVICES=$POCL_DEVICES runtimes: $RUNTIMES"
    python3 - "$RAW" "$RESULTS/nuts_table.md" <<'EOF'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] not in ("clvmap", "blackjax", "numpyro"):
        continue
    r = dict(kv.split("=", 1) for kv in f[1:] if "=" in kv)
    if r.get("compile") == "1":
        continue
    r["lib"] = f[0] + ("/" + r["runtime"] if "runtime" in r else "")
    rows.append(r)
loads = [float(r["load1"]) for r in rows if "load1" in r]
if loads:
    print("# load average (1 min) during the runs: %.1f-%.1f" % (min(loads), max(loads)))
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
models = []
for r in rows:
    if r["model"] not in models:
        models.append(r["model"])
libs = sorted({r["lib"] for r in rows}, key=lambda l: (not l.startswith("clvmap"), l != "clvmap/pocl", l))
clv = [l for l in libs if l.startswith("clvmap")]
print("%-14s %-12s %10s %12s %12s %s" % ("model", "library", "wall_s", "min_ess_bulk", "ess_per_s",
      " ".join("%s_x" % l.replace("clvmap/", "") for l in clv)))
ratio = {}
for m in models:
    for l in libs:
        rs = [r for r in rows if r["model"] == m and r["lib"] == l]
        if not rs:
            continue
        xs = []
        for c in clv:
            cs = [r for r in rows if r["model"] == m and r["lib"] == c]
            x = med(cs, "ess_per_s") / med(rs, "ess_per_s") if cs else float("nan")
            ratio[m, c, l] = x
            xs.append("%8.2f" % x)
        print("%-14s %-12s %10.3f %12.0f %12.0f %s" % (m, l, med(rs, "wall_s"), med(rs, "min_ess_bulk"),
              med(rs, "ess_per_s"), " ".join(xs)))
with open(sys.argv[2], "w") as md:
    for ref in ("blackjax", "numpyro"):
        cells = []
        for c in clv:
            cells.append(", ".join("%s **%.1f×**" % (m.replace("_", " "), ratio[m, c, ref]) for m in models
                                   if (m, c, ref) in ratio) or "–")
        md.write("| NUTS min bulk ESS/s, clvmap / %s (%s; 4 chains) | %s | %s after its compilation | ≥ 3× |\n" % (
            {"blackjax": "BlackJAX", "numpyro": "NumPyro"}[ref], ", ".join(m.replace("_", " ") for m in models),
            " | ".join(cells), {"blackjax": "BlackJAX", "numpyro": "NumPyro"}[ref]))
EOF
} > "$SUMMARY"
cat "$SUMMARY"
