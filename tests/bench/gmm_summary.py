"""Summary of tests/bench/run_gmm_bench.sh: medians per runtime and variant,
the ratios the targets name, and the fraction of the machine's measured
limits (tests/bench/limits.py).

  python3 tests/bench/gmm_summary.py RAW LIMITS TABLE_MD
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import limits as L  # noqa: E402

# Work per point, counted in the kernels of examples/gmm_model.h (D = 16, K = 8);
# the same in every form (block8's item is 8 points: B counts points there too):
#   flops: per (d, k) one sub, two muls, one add = 4 -> 512; per k logc - 0.5 q
#   (2) and t - top (1) -> 24; 7 fmax, 7 adds, + top, 8 exp and 1 log counted
#   as one each -> 24. Total 560 per point (an FMA counts 2; the exps and the
#   log really cost ~15-20 flops each, so this undercounts).
#   bytes: x (D reals) read, out (1 real) written: (D + 1) reals = 68 B (f32),
#   136 B (f64); the scratch form also writes the K terms to a scratch row and
#   reads them back: (D + 1 + 2K) reals = 132 B, 264 B.
FLOPS = 560
BYTES = {"f32": 68, "f64": 136}
BYTES_SCRATCH = {"f32": 132, "f64": 264}
# clvmap one-launch variants: the kernel form each runs (bench_gmm --form)
FORMS = {"launch": "vec8 (gmm_kernel_source)", "scratch": "scratch (gmm_kernel_source_scratch)",
         "items": "items (gmm_kernel_source_items)", "block8": "block8 (gmm_kernel_source_block8)"}


def bytes_per_point(variant, dtype):
    return (BYTES_SCRATCH if variant == "scratch" else BYTES)[dtype]


def main(raw, limits_file, table_md):
    rows = []
    for line in open(raw):
        tool, *fields = line.split()
        row = dict(f.split("=", 1) for f in fields if "=" in f)
        row["tool"] = tool
        row.setdefault("runtime", "-")
        rows.append(row)
    lim = L.read(limits_file)

    def pick(tool, runtime, variant, dtype):
        return [r for r in rows if r["tool"] == tool and r["runtime"] == runtime and r["variant"] == variant
                and r["dtype"] == dtype]

    def med(rs, key):
        return statistics.median(float(r[key]) for r in rs)

    runtimes = sorted({r["runtime"] for r in rows if r["tool"] == "clvmap"}, key=lambda x: (x != "pocl", x))
    loads = [float(r["load1"]) for r in rows if "load1" in r]
    print("\nmachine: %s, %d cores; load average (1 min) during the runs: %s" %
          (lim.cpu, lim.cores, "%.1f-%.1f" % (min(loads), max(loads)) if loads else "?"))
    print("limits (measured): FMA peak %s; triad %.1f GB/s" %
          (", ".join("%s %.0f GFLOP/s" % (d, lim.peak(d)) for d in ("f32", "f64")), lim.triad()))
    print("\n%-7s %-6s %-10s %-4s %9s %9s %6s %9s %20s %7s %6s %6s" %
          ("tool", "rt", "variant", "type", "median s", "min s", "cpu/s", "peak RSS", "checksum", "GFLOP/s",
           "%peak", "GB/s"))
    table, fastest, busy = {}, {}, []
    variants = [("clvmap", rt, v) for rt in runtimes for v in ("launch", "scratch", "items", "block8", "chunk4096", "2dev")] + \
               [("jax", "-", "vmap"), ("jax", "-", "map4096")]
    for tool, rt, variant in variants:
        for dtype in ("f32", "f64"):
            rs = pick(tool, rt, variant, dtype)
            if not rs:
                continue
            t = med(rs, "seconds")
            b = int(rs[0]["B"])
            table[tool, rt, variant, dtype] = t
            fastest[tool, rt, variant, dtype] = min(float(r["min_seconds"]) for r in rs)
            if med(rs, "cpu_seconds") / t < 1.5:
                busy.append("%s %s %s %s" % (tool, rt, variant, dtype))
            sums = sorted({r["checksum"] for r in rs})
            gf = b * FLOPS / t / 1e9
            print("%-7s %-6s %-10s %-4s %9.4f %9.4f %6.2f %7.0f MB %20s %7.2f %5.1f%% %6.2f%s" %
                  (tool, rt, variant, dtype, t, fastest[tool, rt, variant, dtype], med(rs, "cpu_seconds") / t,
                   med(rs, "rss_kb") / 1024, sums[0], gf, 100 * gf / lim.peak(dtype), b * bytes_per_point(variant, dtype) / t / 1e9,
                   "" if len(sums) == 1 else "  (checksums differ between runs!)"))
    if busy:
        print("\nthese variants used < 1.5 of the %d cores (cpu/s column): the machine was busy\n"
              "(other processes took CPU from them; their medians are inflated) or the variant\n"
              "does not use every core:\n  %s" % (os.cpu_count(), "\n  ".join(busy)))

    print("\nratios of medians, and of the fastest calls (target in brackets)")

    def ratio(name, a, b, target):
        out = {}
        for dtype in ("f32", "f64"):
            if a + (dtype,) in table and b + (dtype,) in table:
                r = table[a + (dtype,)] / table[b + (dtype,)]
                r_min = fastest[a + (dtype,)] / fastest[b + (dtype,)]
                out[dtype] = r
                verdict = "" if target is None else ("  met" if r <= target else "  MISSED")
                print("  %-46s %s %5.2f  (fastest %5.2f)%s%s" % (name, dtype, r, r_min,
                      "" if target is None else " (<= %.2f)" % target, verdict))
        return out

    R = {}
    for rt in runtimes:
        R[rt, "jax"] = ratio("%s: clvmap one launch / JAX jit(vmap)" % rt, ("clvmap", rt, "launch"),
                             ("jax", "-", "vmap"), 1 / 3)
        R[rt, "items"] = ratio("%s: per-scalar form / float8 form (one launch)" % rt, ("clvmap", rt, "items"),
                               ("clvmap", rt, "launch"), None)
        R[rt, "scratch"] = ratio("%s: scratch-row form / float8 form (one launch)" % rt, ("clvmap", rt, "scratch"),
                                 ("clvmap", rt, "launch"), None)
        R[rt, "block8"] = ratio("%s: 8 points per item / float8 form (one launch)" % rt, ("clvmap", rt, "block8"),
                                ("clvmap", rt, "launch"), None)
        R[rt, "block8_jax"] = ratio("%s: clvmap 8 points per item / JAX jit(vmap)" % rt, ("clvmap", rt, "block8"),
                                    ("jax", "-", "vmap"), 1 / 3)
        R[rt, "chunk"] = ratio("%s: clvmap chunk 4096 / one launch" % rt, ("clvmap", rt, "chunk4096"),
                               ("clvmap", rt, "launch"), 1.05)
        R[rt, "2dev"] = ratio("%s: clvmap 2 devices / 1 device" % rt, ("clvmap", rt, "2dev"),
                              ("clvmap", rt, "launch"), 1.10)
        ratio("%s: clvmap chunk 4096 / JAX lax.map 4096" % rt, ("clvmap", rt, "chunk4096"), ("jax", "-", "map4096"),
              None)
    ratio("JAX lax.map 4096 / JAX jit(vmap)", ("jax", "-", "map4096"), ("jax", "-", "vmap"), None)

    print("\nfraction of the machine's limits (clvmap one launch; %s)" % lim.cpu)
    for rt in runtimes:
        for variant in ("launch", "block8"):
            for dtype in ("f32", "f64"):
                if ("clvmap", rt, variant, dtype) in table:
                    t = table["clvmap", rt, variant, dtype]
                    b = int(pick("clvmap", rt, variant, dtype)[0]["B"])
                    print("  %s %-6s %s: %4.1f%% of the FMA peak %.0f GFLOP/s, %4.1f%% of triad %.0f GB/s" %
                          (rt, variant, dtype, 100 * b * FLOPS / t / 1e9 / lim.peak(dtype), lim.peak(dtype),
                           100 * b * bytes_per_point(variant, dtype) / t / 1e9 / lim.triad(), lim.triad()))

    sweep = [r for r in rows if r["variant"].startswith("sweep_")]
    if sweep:
        print("\nB sweep (f32): device bytes counted by clvmap, and the process's peak RSS")
        print("%8s %6s %9s %12s %12s %12s %10s %12s" % ("B", "chunk", "launches", "scratch_hw", "bytes_hw",
              "hw - arrays", "peak RSS", "RSS - 2x arr"))
    for r in sorted(sweep, key=lambda r: (r["chunk"], int(r["B"]))):
        b = int(r["B"])
        arrays = b * (16 + 1) * 4  # x and out on the device (the host holds a copy of each too)
        print("%8d %6s %9s %12s %12d %12d %7.0f MB %9.0f MB" %
              (b, r["chunk"], r["launches"], r["scratch_hw"], int(r["bytes_hw"]), int(r["bytes_hw"]) - arrays,
               int(r["rss_kb"]) / 1024, (int(r["rss_kb"]) * 1024 - 2 * arrays) / 2**20))

    # Rows of the README's table: | what | one column per runtime | reference | target |
    with open(table_md, "w") as md:
        for dtype in ("f32", "f64"):
            rs = [r for r in rows if r["tool"] == "clvmap" and r["variant"] == "launch" and r["dtype"] == dtype]
            if not rs:
                continue
            b = int(rs[0]["B"])
            cells = []
            for rt in runtimes:
                t = table.get(("clvmap", rt, "launch", dtype))
                j = R[rt, "jax"].get(dtype)
                rs = pick("clvmap", rt, "launch", dtype)
                # by CPU time: the flops per CPU-second of the process, times the cores (what the
                # run would reach with the machine to itself; less sensitive to other jobs' load)
                cpu_pct = 100 * b * FLOPS / (med(rs, "cpu_seconds") / lim.cores) / 1e9 / lim.peak(dtype) if rs else 0
                cells.append("–" if t is None else "%.1f ms = %.1f %% of FMA peak (%.1f %% by CPU time)%s" %
                             (1e3 * t, 100 * b * FLOPS / t / 1e9 / lim.peak(dtype), cpu_pct,
                              "" if j is None else "; **%.2f×** JAX's speed" % (1 / j)))
            jt = table.get(("jax", "-", "vmap", dtype))
            md.write("| GMM log density (d = 16, K = 8), B = %d, %s, one launch | %s | JAX `jit(vmap)` %s | "
                     "≥ 3× JAX; ≥ 25 %% of peak |\n" %
                     (b, dtype, " | ".join(cells), "–" if jt is None else "%.1f ms" % (1e3 * jt)))
        for variant, what, target in (
                ("block8", "same, 8 points per item (`gmm_kernel_source_block8`, `--form block8`)",
                 "≥ 3× JAX; ≥ 25 % of peak"),
                ("scratch", "same, terms through a scratch row (`gmm_kernel_source_scratch`)", ""),
                ("items", "same, per-scalar kernel (`gmm_kernel_source_items`)", "")):
            for dtype in ("f32", "f64"):
                cells = []
                for rt in runtimes:
                    t = table.get(("clvmap", rt, variant, dtype))
                    rs = pick("clvmap", rt, variant, dtype)
                    if t is None:
                        cells.append("–")
                        continue
                    b = int(rs[0]["B"])
                    cpu_pct = 100 * b * FLOPS / (med(rs, "cpu_seconds") / lim.cores) / 1e9 / lim.peak(dtype)
                    j = R[rt, "block8_jax"].get(dtype) if variant == "block8" else None
                    cells.append("%.1f ms = %.1f %% of FMA peak (%.1f %% by CPU time); %.2f× the float8 form's time%s" % (
                        1e3 * t, 100 * b * FLOPS / t / 1e9 / lim.peak(dtype), cpu_pct, R[rt, variant].get(dtype, 0),
                        "" if j is None else "; **%.2f×** JAX's speed" % (1 / j)))
                if any(c != "–" for c in cells):
                    md.write("| %s, %s | %s | | %s |\n" % (what, dtype, " | ".join(cells), target))
        for key, what, target in (("chunk", "same, chunk 4096 / one launch", "≤ 1.05×"),
                                  ("2dev", "same, 2 devices / 1 (PoCL: 2 pthread devices; Intel: 2 sub-devices)",
                                   "≤ 1.10×")):
            for dtype in ("f32", "f64"):
                cells = ["%.2f×" % R[rt, key][dtype] if R[rt, key].get(dtype) else "–" for rt in runtimes]
                if any(c != "–" for c in cells):
                    md.write("| %s, %s | %s | | %s |\n" % (what, dtype, " | ".join(cells), target))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
