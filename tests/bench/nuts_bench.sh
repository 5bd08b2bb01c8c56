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
#   tests/bench/nuts_bench.sh          from the repository root
#
# Environment:
#   RUNS=3              timed runs per variant (medians; at least 3)
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
#   OBS="10000" DIMS="20 100" LOCAL=0 FORMS="logistic_plain logistic_vec logistic_coop"
#   OCL_ICD_VENDORS=/work/intel-rt/vendors   Intel's CPU runtime instead of PoCL
#                       (results then go to nuts_coop_*_intel.txt)
# Results: tests/bench/results/nuts_raw.txt (every run's line) and
# tests/bench/results/nuts_summary.txt (medians and ratios).
#
# What is timed: clvmap's wall_s is clv_nuts_run (warmup and sampling) after
# clv_nuts_new built the program; BlackJAX's is its jitted warmup + sampling
# function after a first call compiled it (run 0, compile=1, reported but not
# in the medians); NumPyro's is MCMC.run on an MCMC object whose first run
# compiled. ESS: ArviZ (az.ess, method "bulk") on every side; for clvmap,
# ArviZ reads its CmdStan-layout CSV files (from_cmdstan) and the script
# checks that it agrees with clvmap's own diagnostics.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
RUNS=${RUNS:-3}
MODELS=${MODELS:-"normal gauss eight_schools logistic"}
CHAINS=${CHAINS:-4}
WARMUP=${WARMUP:-1000}
DRAWS=${DRAWS:-1000}
BUILD_DIR=${BUILD_DIR:-build-nuts-bench}
NUTS_VENV=${NUTS_VENV:-$RESULTS/.venv-nuts}
export POCL_DEVICES=${POCL_DEVICES:-pthread}
mkdir -p "$RESULTS"
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
    SUMMARY=$RESULTS/nuts_coop_summary_$RT.txt
    LOAD0=$(uptime | sed 's/.*load average: //')
    : > "$RAW"
    for n in ${OBS:-10000}; do
        for d in ${DIMS:-20 100}; do
            tag="n${n}_d${d}"
            for form in ${FORMS:-logistic_plain logistic_vec logistic_coop}; do
                echo "== $form $tag ($RT)" >&2
                "$BENCH" --model "$form" --obs "$n" --dim "$d" --local "${LOCAL:-0}" $COMMON --runs "$RUNS" \
                    --dump-data "$TMP/$tag.txt" | sed "s/model=$form /model=${form}_$tag /" | tee -a "$RAW"
            done
            if [ "${SKIP_JAX:-0}" != 1 ]; then
                "$PY" tests/bench/nuts_ref.py --lib blackjax --data "$TMP/$tag.txt" $COMMON --runs "$RUNS" |
                    sed "s/model=logistic /model=blackjax_$tag /" | tee -a "$RAW"
            fi
        done
    done
    {
        echo "# NUTS logistic regression, $CHAINS chains x $DRAWS draws after $WARMUP warmup, median of $RUNS runs"
        echo "# $(date -u '+%Y-%m-%d %H:%M') runtime=$RT POCL_DEVICES=$POCL_DEVICES LOCAL=${LOCAL:-0} $(nproc) cores"
        echo "# load average at start: $LOAD0; at end: $(uptime | sed 's/.*load average: //')"
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
            printf "%-13s %-15s %9s %12s %10s %11s %10s\n", "size", "form", "wall_s", "min_ess_bulk", "ess_per_s",
                   "x_blackjax", "x_plain"
            for (t in tags) {
                bj = ("blackjax_" t) in eps ? median(eps["blackjax_" t]) : 0
                pl = ("logistic_plain_" t) in eps ? median(eps["logistic_plain_" t]) : 0
                split("logistic_plain logistic_vec logistic_coop blackjax", fl, " ")
                for (i = 1; i <= 4; ++i) {
                    key = fl[i] "_" t
                    if (!(key in eps)) continue
                    r = median(eps[key])
                    printf "%-13s %-15s %9.2f %12.0f %10.1f %11s %10s\n", t, fl[i], median(wall[key]), median(ess[key]), r,
                           bj > 0 ? sprintf("%.2f", r / bj) : "-", pl > 0 ? sprintf("%.2f", r / pl) : "-"
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
    "$BENCH" --model "$model" $COMMON --runs "$RUNS" --dump-data "$TMP/$model.txt" --csv "$TMP/$model" | tee -a "$RAW"
    if [ "${SKIP_JAX:-0}" != 1 ]; then
        "$PY" tests/bench/nuts_ref.py --lib arviz-csv --csv-glob "$TMP/${model}_*.csv" |
            sed "s/^/model=$model /" | tee -a "$RAW"
        for lib in blackjax numpyro; do
            "$PY" tests/bench/nuts_ref.py --lib $lib --data "$TMP/$model.txt" $COMMON --runs "$RUNS" | tee -a "$RAW"
        done
    fi
done

# medians per (library, model) over the runs without compilation
SUMMARY=$RESULTS/nuts_summary.txt
{
    echo "# NUTS: $CHAINS chains x $DRAWS draws after $WARMUP warmup, median of $RUNS runs, $(nproc) cores"
    echo "# $(date -u +%Y-%m-%d) POCL_DEVICES=$POCL_DEVICES"
    awk '
    function field(name,   i, kv) { for (i = 1; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] } return "" }
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == "clvmap" || $1 == "blackjax" || $1 == "numpyro" {
        if (field("compile") == "1") next
        key = $1 " " field("model")
        wall[key] = wall[key] " " field("wall_s"); ess[key] = ess[key] " " field("min_ess_bulk")
        eps[key] = eps[key] " " field("ess_per_s"); models[field("model")] = 1
    }
    END {
        printf "%-14s %-9s %10s %12s %12s %10s\n", "model", "library", "wall_s", "min_ess_bulk", "ess_per_s", "clvmap_x"
        for (m in models) {
            base = median(eps["clvmap " m])
            split("clvmap blackjax numpyro", libs, " ")
            for (l = 1; l <= 3; ++l) {
                key = libs[l] " " m
                if (!(key in eps)) continue
                r = median(eps[key])
                printf "%-14s %-9s %10.3f %12.0f %12.0f %10.2f\n", m, libs[l], median(wall[key]), median(ess[key]), r, base / r
            }
        }
    }' "$RAW"
} > "$SUMMARY"
cat "$SUMMARY"
