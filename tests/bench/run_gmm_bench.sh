#!/bin/sh
# run_gmm_bench.sh — clvmap against JAX on the Gaussian-mixture map
# (examples/gmm_model.h, B = 2^20 points). See tests/bench/README.md.
#
#   tests/bench/run_gmm_bench.sh            from the repository root
#
# Environment:
#   RUNS=5          processes per variant (one process per run; medians over them)
#   REPEATS=5       timed maps per process (its median is the process's time)
#   BUILD_DIR=build-bench   meson build directory (set up and built if needed)
#   BENCH_VENV=tests/bench/results/.venv   venv with jax[cpu] (created if needed)
#   SKIP_JAX=1      clvmap only
#   SUMMARY_ONLY=1  no runs: summarise the existing results/raw.txt again
# Results: tests/bench/results/raw.txt (every line) and summary.txt.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RESULTS=tests/bench/results
RUNS=${RUNS:-5}
REPEATS=${REPEATS:-5}
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_VENV=${BENCH_VENV:-$RESULTS/.venv}
mkdir -p "$RESULTS"

RAW="$RESULTS/raw.txt"
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then

# ---- build ---------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" >/dev/null
fi
ninja -C "$BUILD_DIR" tests/bench/bench_gmm >/dev/null
BENCH="$BUILD_DIR/tests/bench/bench_gmm"

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
        "$BENCH" --dtype "$dtype" --dump "$RESULTS/gmm_$dtype.bin"
    done
fi

: > "$RAW"
one() { # one process, its line appended to raw.txt
    "$@" | tee -a "$RAW"
}

# ---- the comparison: variants interleaved, one process per run ------------
# Both sides use every core: PoCL's pthread device runs one worker per core,
# XLA's CPU client an intra-op pool of one thread per core. The 1-device
# variants run under PoCL's default configuration (one pthread device); only
# the 2-device one asks for two.
echo "== $RUNS runs per variant, $REPEATS timed calls per run (machine: $(nproc) cores)"
run=1
while [ "$run" -le "$RUNS" ]; do
    for dtype in f32 f64; do
        one "$BENCH" --dtype $dtype --repeats "$REPEATS" --chunk none --variant launch
        one "$BENCH" --dtype $dtype --repeats "$REPEATS" --chunk 4096 --variant chunk4096
        one env POCL_DEVICES="pthread pthread" "$BENCH" --dtype $dtype --repeats "$REPEATS" --chunk none --devices 0,1 --variant 2dev
        if [ "${SKIP_JAX:-0}" != 1 ]; then
            one "$PY" tests/bench/gmm_jax.py --data "$RESULTS/gmm_$dtype.bin" --repeats "$REPEATS" --variant vmap
            one "$PY" tests/bench/gmm_jax.py --data "$RESULTS/gmm_$dtype.bin" --repeats "$REPEATS" --variant map4096
        fi
    done
    run=$((run + 1))
done

# ---- the B sweep: memory of a chunked map against one launch ---------------
echo "== B sweep (f32, one run each)"
for log2 in 16 17 18 19 20; do
    for chunk in 4096 none; do
        one "$BENCH" --dtype f32 --items $((1 << log2)) --repeats 3 --chunk $chunk --variant sweep_$chunk
    done
done

fi # SUMMARY_ONLY

# ---- summary -------------------------------------------------------------
python3 - "$RAW" <<'EOF' | tee "$RESULTS/summary.txt"
import os, statistics, sys

rows = []
for line in open(sys.argv[1]):
    tool, *fields = line.split()
    row = dict(f.split("=", 1) for f in fields)
    row["tool"] = tool
    rows.append(row)

def pick(tool, variant, dtype):
    return [r for r in rows if r["tool"] == tool and r["variant"] == variant and r["dtype"] == dtype]

def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)

# Work per item, counted in the kernel of examples/gmm_model.h (D = 16, K = 8):
#   flops: per (d, k) one sub, two muls, one add = 4 -> 512; per k logc - 0.5 q
#   (2) and t - top (1) -> 24; 7 fmax, 7 adds, + top, 8 exp and 1 log counted
#   as one each -> 24. Total 560 per item (an FMA counts 2; the exps and the
#   log really cost ~15-20 flops each in SLEEF, so this undercounts).
#   bytes: x (D reals) read, out (1 real) written, the K terms written to and
#   read back from scratch: (D + 1 + 2K) reals = 132 B (f32), 264 B (f64).
#   With a chunk of 4096 the scratch (128 KiB) stays in L2, so DRAM sees
#   only (D + 1) reals; 132 B is the upper bound.
# Machine limits measured with clpeak on this 2-core VM: 45 GFLOP/s fp32
# (vectorised), 48 GB/s. fp64 was not measured; half of fp32 is assumed.
FLOPS, PEAK = 560, {"f32": 45e9, "f64": 22.5e9}
BYTES, BW = {"f32": 132, "f64": 264}, 48e9

print("\n%-7s %-10s %-4s %9s %9s %6s %9s %20s %7s %6s" %
      ("tool", "variant", "type", "median s", "min s", "cpu/s", "peak RSS", "checksum", "GFLOP/s", "GB/s"))
table, fastest, busy = {}, {}, []
for tool, variant in (("clvmap", "launch"), ("clvmap", "chunk4096"), ("clvmap", "2dev"),
                      ("jax", "vmap"), ("jax", "map4096")):
    for dtype in ("f32", "f64"):
        rs = pick(tool, variant, dtype)
        if not rs:
            continue
        t = med(rs, "seconds")
        b = int(rs[0]["B"])
        table[tool, variant, dtype] = t
        fastest[tool, variant, dtype] = min(float(r["min_seconds"]) for r in rs)
        if med(rs, "cpu_seconds") / t < 1.5:
            busy.append("%s %s %s" % (tool, variant, dtype))
        sums = sorted({r["checksum"] for r in rs})
        print("%-7s %-10s %-4s %9.4f %9.4f %6.2f %7.0f MB %20s %7.2f %6.2f%s" %
              (tool, variant, dtype, t, min(float(r["min_seconds"]) for r in rs),
               med(rs, "cpu_seconds") / t, med(rs, "rss_kb") / 1024, sums[0],
               b * FLOPS / t / 1e9, b * BYTES[dtype] / t / 1e9,
               "" if len(sums) == 1 else "  (checksums differ between runs!)"))

if busy:
    print("\nthese variants used < 1.5 of the %d cores (cpu/s column): the machine was busy\n"
          "(other processes took CPU from them; their medians are inflated) or the variant\n"
          "does not use every core (JAX lax.map f32 stays at ~1.2 on an idle machine):\n  %s"
          % (os.cpu_count(), "\n  ".join(busy)))

print("\nratios of medians, and of the fastest calls (target in brackets)")
def ratio(name, a, b, target):
    for dtype in ("f32", "f64"):
        if a + (dtype,) in table and b + (dtype,) in table:
            r = table[a + (dtype,)] / table[b + (dtype,)]
            r_min = fastest[a + (dtype,)] / fastest[b + (dtype,)]
            verdict = "" if target is None else ("  met" if r <= target else "  MISSED")
            print("  %-36s %s %5.2f  (fastest %5.2f)%s%s" % (name, dtype, r, r_min,
                  "" if target is None else " (<= %.2f)" % target, verdict))
ratio("clvmap one launch / JAX jit(vmap)", ("clvmap", "launch"), ("jax", "vmap"), 0.67)
ratio("clvmap chunk 4096 / one launch", ("clvmap", "chunk4096"), ("clvmap", "launch"), 1.10)
ratio("clvmap 2 devices / 1 device", ("clvmap", "2dev"), ("clvmap", "launch"), 1.10)
ratio("clvmap chunk 4096 / JAX lax.map 4096", ("clvmap", "chunk4096"), ("jax", "map4096"), None)
ratio("JAX lax.map 4096 / JAX jit(vmap)", ("jax", "map4096"), ("jax", "vmap"), None)

print("\nfraction of the machine's limits (clvmap one launch; f64 peak assumed fp32/2)")
for dtype in ("f32", "f64"):
    if ("clvmap", "launch", dtype) in table:
        t = table["clvmap", "launch", dtype]
        b = 1 << 20
        print("  %s: %4.1f%% of %.1f GFLOP/s, %4.1f%% of %.0f GB/s" %
              (dtype, 100 * b * FLOPS / t / PEAK[dtype], PEAK[dtype] / 1e9, 100 * b * BYTES[dtype] / t / BW,
               BW / 1e9))

print("\nB sweep (f32): device bytes counted by clvmap, and the process's peak RSS")
print("%8s %6s %9s %12s %12s %12s %10s %12s" % ("B", "chunk", "launches", "scratch_hw", "bytes_hw",
      "hw - arrays", "peak RSS", "RSS - 2x arr"))
for r in sorted((r for r in rows if r["variant"].startswith("sweep_")),
                key=lambda r: (r["chunk"], int(r["B"]))):
    b = int(r["B"])
    arrays = b * (16 + 1) * 4 # x and out on the device (the host holds a copy of each too)
    print("%8d %6s %9s %12s %12d %12d %7.0f MB %9.0f MB" %
          (b, r["chunk"], r["launches"], r["scratch_hw"], int(r["bytes_hw"]), int(r["bytes_hw"]) - arrays,
           int(r["rss_kb"]) / 1024, (int(r["rss_kb"]) * 1024 - 2 * arrays) / 2**20))
EOF
