#!/usr/bin/env python3
"""plot_arviz.py — the NUTS example's CmdStan CSV files in ArviZ.

For users who plot in Python; the library and its tests never need it.

    build/examples/nuts --model eight_schools --chains 4 --csv out/schools
    python3 examples/plot_arviz.py out/schools            # reads out/schools_*.csv
    python3 examples/plot_arviz.py out/schools --var-names mu log_tau --out schools

Prints az.summary (mean, sd, HDI, MCSE, bulk/tail ESS, R-hat) and saves
PREFIX_trace.png (az.plot_trace: a density and a trace per parameter, one
line per chain). Needs arviz and matplotlib (pip install arviz matplotlib).
"""
import argparse
import glob
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prefix", help="the --csv PREFIX given to nuts (reads PREFIX_1.csv, PREFIX_2.csv, ...)")
    ap.add_argument("--var-names", nargs="+", help="the parameters to plot (default: the first 6)")
    ap.add_argument("--out", help="output prefix (default: PREFIX): writes OUT_trace.png")
    args = ap.parse_args()

    def chain(path):
        m = re.search(r"_(\d+)\.csv$", path)
        return int(m.group(1)) if m else 0

    files = sorted(glob.glob(args.prefix + "_*.csv"), key=chain)
    files = [f for f in files if re.search(r"_\d+\.csv$", f)]
    if not files:
        sys.exit(f"plot_arviz.py: no {args.prefix}_N.csv files")

    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import arviz as az

    idata = az.from_cmdstan(posterior=files)
    names = list(idata.posterior.data_vars)
    var_names = args.var_names or names[:6]
    print(f"{len(files)} chains from {files[0]} ..; parameters: {', '.join(names)}")
    print(az.summary(idata, var_names=var_names).to_string())

    out = args.out or args.prefix
    az.plot_trace(idata, var_names=var_names, compact=False)
    plt.tight_layout()
    plt.savefig(out + "_trace.png", dpi=80)
    print(f"wrote {out}_trace.png")


if __name__ == "__main__":
    main()
