#!/bin/sh
# nss_inversion_bench.sh — a heavy likelihood: clvmap's NSS (plain and
# cooperative forms of examples/nss_inversion.c) against BlackJAX's
# (blackjax.nss) chunked as PyAutoFit does it (jax.lax.map(...,
# batch_size=chunk) through update_strategy, and over the init), on the
# same CPU, same problem, same n_live, num_delete, num_inner_steps.
#
# Problem: examples/nss_inversion.h, side S (n = S^2 source pixels): per
# evaluation an n x n Cholesky and two triangular solves; theta = (log10
# lambda, b). BlackJAX reads the very same data (nss_inversion --dump).
#
#   tests/bench/nss_inversion_bench.sh        from the repository root
#
# Environment:
#   SIDE=16            16: n = 256 (enough to measure on a loaded machine); 32: n = 1024
#   RUNS=3             timed runs per variant (medians; at least 3)
#   ITERS=6            NSS iterations per timed run (per-evaluation time and memory);
#                      CONVERGE=1 runs every variant to convergence instead (log Z)
#   CHUNKS="1 4 10"    chunk sizes besides none (none = every particle at once)
#   N_LIVE=50 NUM_DELETE=10 STEPS=5
#   LOCAL=16           lanes per particle of clvmap's cooperative form
#   FORMS=both         clvmap forms: both (plain, coop), all (also the batched host callback,
#                      examples/nss_inversion_callback.h: CLBlast GEMMs), plain, coop or callback
#   BUILD_DIR=build-nss-bench   meson build directory (set up and built if needed)
#   NSS_VENV=tests/bench/results/.venv-nss   venv with jax and blackjax (created if needed)
#   SKIP_JAX=1         clvmap only
#   RUNTIMES="pocl intel" INTEL_VENDORS=DIR   the OpenCL runtimes clvmap runs on
#                      (tests/bench/runtimes.sh; default pocl, and intel when
#                      build-intel/vendors exists)
#   XLA_FLAGS          passed to JAX as it is (JAX hangs on this problem here; see below)
#   JAX_UNCHUNKED=1    also run BlackJAX unchunked (chunk none; it hangs here, see below)
#   JAX_TIMEOUT=600 JAX_TRIES=3   seconds one BlackJAX process may take, and how
#                      many processes a variant gets: a hung one is stopped and the
#                      variant started again (its line says tries=K); after
#                      JAX_TRIES the variant is recorded as "no_result"
# Results: tests/bench/results/nss_inversion_raw.txt (every variant's line)
# and tests/bench/results/nss_inversion_summary.txt (the table).
#
# What is timed: clvmap: clv_nss_run, median of RUNS in one process (the
# first also compiles PoCL's launch shapes); BlackJAX: the sampling loop and
# the final log Z after jax.jit compiled init and step (compile_s apart),
# median of RUNS in one process. ms_per_eval = seconds / each side's own
# count of likelihood evaluations. Memory: clvmap's device counters (peak
# device bytes = shared data + chunk x per-particle state + small arrays)
# and the process's peak RSS for both.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
SIDE=${SIDE:-16}
RUNS=${RUNS:-3}
ITERS=${ITERS:-6}
CHUNKS=${CHUNKS:-"1 4 10"}
N_LIVE=${N_LIVE:-50}
NUM_DELETE=${NUM_DELETE:-10}
STEPS=${STEPS:-5}
LOCAL=${LOCAL:-16}
JAX_TIMEOUT=${JAX_TIMEOUT:-600}
JAX_TRIES=${JAX_TRIES:-3}
BUILD_DIR=${BUILD_DIR:-build-nss-bench}
NSS_VENV=${NSS_VENV:-$RESULTS/.venv-nss}
mkdir -p "$RESULTS"
. tests/bench/runtimes.sh

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" examples/nss_inversion >/dev/null
EXE="$BUILD_DIR/examples/nss_inversion"
DATA="$RESULTS/nss_inversion_side$SIDE.bin"
"$EXE" --side "$SIDE" --dump "$DATA" >/dev/null

PY="$NSS_VENV/bin/python"
# XLA on CPU hangs on this problem here: the process sits in futex waits
# at 0 % CPU after about 8 s of CPU time (chunk none, 2026-12-03; gdb: the
# main thread in tsl::BlockUntilReady materialising a result, every
# Eigen-pool and LLVM worker idle in WaitForWork). PyAutoFit hit a hang of
# the same look with its inversion likelihoods (PyAutoLabs/PyAutoFit#1528)
# and runs JAX with XLA_FLAGS=--xla_cpu_multi_thread_eigen=false; here
# neither that flag nor JAX_CPU_ENABLE_ASYNC_DISPATCH=false helped, so the
# script sets neither (the flag would only slow the reference). XLA_FLAGS
# from the environment reaches JAX as it is. On 2026-12-06 (a 2-vCPU AMD
# EPYC with AVX-512, JAX 0.10.2) every batch_size 1 process finished, 2 of
# 8 at batch_size 4 and 0 of 3 at 10, and the unchunked one hung again
# (9.4 s of CPU in 400 s of wall time); faulthandler puts the main thread
# in jax.Array._value (the NSS loop's while test), and the Eigen flag above
# did not help (3 of 3 hung). So BlackJAX runs unchunked only with
# JAX_UNCHUNKED=1, and a BlackJAX process is stopped after JAX_TIMEOUT
# seconds and started again, up to JAX_TRIES times.
if [ "${SKIP_JAX:-0}" != 1 ]; then
    [ -x "$PY" ] || python3 -m venv "$NSS_VENV"
    if ! "$PY" -c 'import jax, blackjax' 2>/dev/null; then
        "$NSS_VENV/bin/pip" install --quiet --upgrade pip
        "$NSS_VENV/bin/pip" install --quiet 'jax[cpu]' blackjax
    fi
fi

if [ "${CONVERGE:-0}" = 1 ]; then ITER_ARG=0; else ITER_ARG=$ITERS; fi
COMMON="--n-live $N_LIVE --num-delete $NUM_DELETE --max-iterations $ITER_ARG"
RAW="$RESULTS/nss_inversion_raw.txt"
: > "$RAW"
echo "== side $SIDE (n = $((SIDE * SIDE))), $RUNS runs per variant, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for chunk in none $CHUNKS; do
    for rt in $RUNTIMES; do
        rt_run "$rt" env POCL_DEVICES=pthread "$EXE" --side "$SIDE" $COMMON --steps "$STEPS" --chunk "$chunk" \
            --runs "$RUNS" --local "$LOCAL" --form "${FORMS:-both}" --quad 0 | grep '^result' | rt_tag "$rt" |
            tee -a "$RAW"
    done
    if [ "${SKIP_JAX:-0}" != 1 ]; then
        jchunk=$chunk
        [ "$chunk" = none ] && jchunk=0
        if [ "$chunk" = none ] && [ "${JAX_UNCHUNKED:-0}" != 1 ]; then
            echo "result form=jax chunk=none status=skipped why=hangs_here_(JAX_UNCHUNKED=1_tries_it)" | tee -a "$RAW"
            continue
        fi
        try=1
        while :; do
            out=$(timeout "$JAX_TIMEOUT" "$PY" tests/bench/nss_inversion_jax.py --data "$DATA" $COMMON \
                --num-inner-steps "$STEPS" --chunk "$jchunk" --runs "$RUNS" || true)
            if echo "$out" | grep -q '^result'; then
                echo "$out" | grep '^result' | sed "s/\$/ tries=$try/" | tee -a "$RAW"
                break
            fi
            if [ "$try" -ge "$JAX_TRIES" ]; then
                echo "result form=jax chunk=$chunk status=no_result why=${try}_processes_hung_or_failed_(${JAX_TIMEOUT}s_each)" |
                    tee -a "$RAW"
                break
            fi
            try=$((try + 1))
        done
    fi
done

python3 - "$RAW" <<'EOF' | tee "$RESULTS/nss_inversion_summary.txt"
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in open(sys.argv[1]) if line.startswith("result")]
def mb(v):
    return f"{int(v) / 2**20:8.1f}" if v else "       -"
print("form/runtime   chunk  ms/eval  evals  seconds   log Z +- error       device MB  scratch MB  RSS MB  load")
for r in [r for r in rows if "status" in r]:
    print(f"{r['form']:8} {r['chunk']:>5}  no figure: {r['status']} ({r['why'].replace('_', ' ')})")
rows = [r for r in rows if "status" not in r]
jax = {r["chunk"]: r for r in rows if r["form"] == "jax"}
for r in rows:
    if r["form"] != "jax" and "runtime" in r:
        r["form"] = r["form"] + "/" + r["runtime"]
for r in rows:
    print(f"{r['form']:14} {r['chunk']:>5} {float(r['ms_per_eval']):8.3f} {r['evaluations']:>6} {float(r['seconds']):8.2f}"
          f"  {float(r['logZ']):9.3f} +- {float(r['error']):.3f}  {mb(r.get('peak_device_bytes'))}  "
          f"{mb(r.get('peak_scratch_bytes'))}  {mb(r.get('peak_rss_bytes'))}  {r.get('loadavg', '-')}")
for r in rows:
    j = jax.get(r["chunk"])
    if r["form"] != "jax" and j:
        print(f"BlackJAX / clvmap {r['form']} per evaluation, chunk {r['chunk']}: "
              f"{float(j['ms_per_eval']) / float(r['ms_per_eval']):.2f}x")
EOF
