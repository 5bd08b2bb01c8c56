"""The machine's limits as measured by tests/bench/machine_limits.c.

Used by the benchmark summaries (gmm_summary.py, run_all.sh): every
percentage of a limit they print is taken against a figure read here,
never against a number written into a script.

  python3 tests/bench/limits.py FILE            prints the limits table (markdown)
  python3 tests/bench/limits.py --check FILE    exit 1 if FILE has no host FMA line

The FMA peak used for percentages is the nominal one of the whole CPU: one
thread's measured peak times the cores (on a machine shared with other work
the all-threads measurement is lower, and is printed next to it).
"""
import sys


def _fields(line):
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


class Limits:
    def __init__(self, lines):
        self.rows = [_fields(l) for l in lines if l.startswith("limits ")]
        head = [r for r in self.rows if r.get("where") == "host" and "cores" in r]
        self.cpu = head[0]["cpu"].replace("_", " ") if head else "unknown CPU"
        self.cores = int(head[0]["cores"]) if head else 1
        self.flags = ", ".join(f for f in ("avx512f", "avx2", "fma") if head and head[0].get(f) == "1")

    def host(self, kind, dtype=None, threads=None):
        for r in self.rows:
            if r.get("where") == "host" and r.get("kind") == kind and (dtype is None or r.get("dtype") == dtype) \
                    and (threads is None or int(r["threads"]) == threads):
                return r
        return None

    def peak(self, dtype):
        """Nominal FMA peak of the CPU, GFLOP/s: one thread's times the cores."""
        r = self.host("fma", dtype, 1)
        return float(r["gflops"]) * self.cores if r else float("nan")

    def peak_all_threads(self, dtype):
        r = self.host("fma", dtype, self.cores)
        return float(r["gflops"]) if r else float("nan")

    def triad(self):
        r = self.host("triad")
        return float(r["gbs"]) if r else float("nan")

    def opencl(self, runtime, kind, **match):
        out = []
        for r in self.rows:
            if r.get("where") == "opencl" and r.get("runtime") == runtime and r.get("kind") == kind and \
                    all(r.get(k) == str(v) for k, v in match.items()):
                out.append(r)
        return out

    def runtimes(self):
        seen = []
        for r in self.rows:
            if r.get("where") == "opencl" and r["runtime"] not in seen:
                seen.append(r["runtime"])
        return seen

    def loads(self):
        return [float(r["load1"]) for r in self.rows if "load1" in r]


def read(path):
    with open(path) as f:
        return Limits(f.readlines())


def markdown(lim):
    """The limits table: one column for the host's C loops, one per runtime."""
    rts = lim.runtimes()
    loads = lim.loads()
    out = ["Machine: %s, %d cores (%s); measured by `tests/bench/machine_limits` at load average %s." %
           (lim.cpu, lim.cores, lim.flags or "no AVX2", "%.1f-%.1f" % (min(loads), max(loads)) if loads else "?"),
           "",
           "| limit | host C loop (-O3 -march=native) | " + " | ".join("OpenCL, %s" % r for r in rts) + " |",
           "|---|---|" + "---|" * len(rts)]

    def best(rt, dtype):
        rs = lim.opencl(rt, "fma", dtype=dtype)
        if not rs:
            return "–"
        r = max(rs, key=lambda r: float(r["gflops"]))
        return "%.0f (%s kernel)" % (float(r["gflops"]), r["form"])

    for dtype in ("f32", "f64"):
        one = lim.host("fma", dtype, 1)
        cell = "–" if not one else "%.0f per core → **%.0f** for %d cores (%.0f measured with %d threads)" % (
            float(one["gflops"]), lim.peak(dtype), lim.cores, lim.peak_all_threads(dtype), lim.cores)
        out.append("| FMA peak %s, GFLOP/s | %s | %s |" % (dtype, cell, " | ".join(best(r, dtype) for r in rts)))
    copy, triad = lim.host("copy"), lim.host("triad")
    tri = []
    for r in rts:
        rs = lim.opencl(r, "triad")
        tri.append("%.1f (float triad kernel)" % float(rs[0]["gbs"]) if rs else "–")
    out.append("| bandwidth, GB/s | copy %s, triad **%s** | %s |" % (
        copy["gbs"] if copy else "–", triad["gbs"] if triad else "–", " | ".join(tri)))
    for items in ("1", "16", "256", "4096"):
        cells = []
        for r in rts:
            rs = lim.opencl(r, "launch", items=items)
            cells.append("%s µs; with arguments %s µs (driver alone %s µs)" % (
                rs[0]["map_us"], rs[0].get("args_map_us", "–"), rs[0]["raw_us"]) if rs else "–")
        out.append("| one `clv_map` call, B = %s (empty kernel) | | %s |" % (items, " | ".join(cells)))
    cells = []
    for r in rts:
        rs = lim.opencl(r, "chunked")
        cells.append("%s µs" % rs[0]["per_launch_us"] if rs else "–")
    out.append("| each extra launch of a chunked map (2^20 empty items, chunk 4096 vs one launch) | | %s |" %
               " | ".join(cells))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        lim = read(sys.argv[2])
        if lim.host("fma", "f32", 1) is None:
            sys.exit("limits.py: %s has no host FMA line (run tests/bench/machine_limits --host)" % sys.argv[2])
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.stdout.write(markdown(read(sys.argv[1])))
