#!/bin/sh
# check_cmdstan.sh — clvmap's NUTS CSV files as the Stan tools read them:
# examples/nuts samples eight_schools (with its generated quantities tau and
# theta[1..8]) and writes one CmdStan-layout CSV per chain; cmdstanpy's
# from_csv (no CmdStan install needed) and ArviZ's from_cmdstan read them.
# Checked: the number of chains and draws, the column names (parameters and
# generated quantities), the adaptation block (step size, inverse metric),
# the elapsed times, that tau = exp(log_tau) and theta = mu + tau
# theta_tilde in what both readers return, that both readers agree with each
# other and that their means agree with the summary examples/nuts printed.
# Not a test of the library (which never needs Python): a benchmark-side
# check, run by hand or by CI's consumer phase.
#
#   tests/bench/check_cmdstan.sh          from the repository root
#
# Environment:
#   BUILD_DIR=build                  meson build directory (examples/nuts is built there if needed)
#   CMDSTAN_VENV=$BUILD_DIR/venv-cmdstan   venv with cmdstanpy and arviz (created if needed)
#   CHAINS=4 WARMUP=300 DRAWS=200    the run
#   POCL_DEVICES="pthread pthread"   two devices (the chains are split between them)
# Output: BUILD_DIR/check_cmdstan/ (the CSV files and examples/nuts's output);
# exits 0 when every check passed.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}
VENV=${CMDSTAN_VENV:-$BUILD_DIR/venv-cmdstan}
CHAINS=${CHAINS:-4}
WARMUP=${WARMUP:-300}
DRAWS=${DRAWS:-200}
POCL_DEVICES=${POCL_DEVICES:-"pthread pthread"}
export POCL_DEVICES
OUT=$BUILD_DIR/check_cmdstan

[ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR"
ninja -C "$BUILD_DIR" examples/nuts >/dev/null
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q cmdstanpy arviz
fi
rm -rf "$OUT"
mkdir -p "$OUT"
"$BUILD_DIR/examples/nuts" --model eight_schools --chains "$CHAINS" --warmup "$WARMUP" --draws "$DRAWS" \
    --quiet --csv "$OUT/schools" >"$OUT/nuts.txt"
cat "$OUT/nuts.txt"

"$VENV/bin/python" - "$OUT" "$CHAINS" "$DRAWS" <<'EOF'
import glob, sys
import numpy as np
import cmdstanpy, arviz as az

out, chains, draws = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sorted(glob.glob(f"{out}/schools_*.csv"))
failed = []

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)

print(f"cmdstanpy {cmdstanpy.__version__}, arviz {az.__version__}, {len(files)} files")
check(len(files) == chains, f"{chains} CSV files")

# cmdstanpy: from_csv validates the layout (config block, adaptation block,
# draws between the header and the closing Elapsed Time block)
fit = cmdstanpy.from_csv(path=files, method="sample")
check(fit.chains == chains and fit.num_draws_sampling == draws,
      f"cmdstanpy: {fit.chains} chains x {fit.num_draws_sampling} draws")
names = list(fit.column_names)
want = ["lp__", "mu", "log_tau"] + [f"theta_tilde[{j}]" for j in range(1, 9)] + ["tau"] + \
       [f"theta[{j}]" for j in range(1, 9)]
check(all(n in names for n in want) and names.index("tau") > names.index("theta_tilde[8]"),
      "cmdstanpy: columns mu, log_tau, theta_tilde[1..8], then tau, theta[1..8]")
check(sorted(fit.metadata.stan_vars.keys()) == ["log_tau", "mu", "tau", "theta", "theta_tilde"],
      f"cmdstanpy: variables {sorted(fit.metadata.stan_vars.keys())}")
mu, log_tau, tt = fit.stan_variable("mu"), fit.stan_variable("log_tau"), fit.stan_variable("theta_tilde")
tau, theta = fit.stan_variable("tau"), fit.stan_variable("theta")
check(theta.shape == (chains * draws, 8) and tau.shape == (chains * draws,),
      f"cmdstanpy: theta {theta.shape}, tau {tau.shape}")
check(np.allclose(tau, np.exp(log_tau), rtol=1e-14, atol=0), "cmdstanpy: tau = exp(log_tau)")
check(np.allclose(theta, mu[:, None] + tau[:, None] * tt, rtol=1e-12, atol=1e-12),
      "cmdstanpy: theta = mu + tau theta_tilde")
check(fit.step_size is not None and len(fit.step_size) == chains and np.all(fit.step_size > 0),
      f"cmdstanpy: step sizes {fit.step_size}")
metric = fit.inv_metric if hasattr(fit, "inv_metric") else fit.metric
check(metric is not None and metric.shape == (chains, 10) and np.all(metric > 0),
      f"cmdstanpy: inverse metric {None if metric is None else metric.shape}")
check(int(np.sum(fit.divergences)) >= 0 and fit.max_treedepths is not None, "cmdstanpy: divergences, tree depths")
t = list(fit.time.values()) if isinstance(fit.time, dict) else list(fit.time)
check(len(t) == chains and all(v["total"] > 0 and abs(v["warmup"] + v["sampling"] - v["total"]) < 0.0021
                               for v in t), f"cmdstanpy: elapsed times of chain 1 {t[0]}")

# ArviZ
idata = az.from_cmdstan(posterior=files)
post = idata.posterior
check(post.sizes["chain"] == chains and post.sizes["draw"] == draws,
      f"arviz: {post.sizes['chain']} chains x {post.sizes['draw']} draws")
check(set(post.data_vars) == {"mu", "log_tau", "theta_tilde", "tau", "theta"}, f"arviz: {sorted(post.data_vars)}")
check(post["theta"].shape == (chains, draws, 8), f"arviz: theta {post['theta'].shape}")
check(np.array_equal(post["theta"].values.reshape(-1, 8), theta) and
      np.array_equal(post["tau"].values.reshape(-1), tau), "arviz: the same values as cmdstanpy")
check("diverging" in idata.sample_stats and "lp" in idata.sample_stats, "arviz: sample_stats diverging, lp")
ess = az.ess(idata, var_names=["tau", "theta"])
print(f"arviz: bulk ESS tau {float(ess['tau']):.0f}, theta min {float(ess['theta'].min()):.0f}")

# the means examples/nuts printed (4 significant digits) against the readers'
printed = {}
for line in open(f"{out}/nuts.txt"):
    parts = line.split()
    if len(parts) == 9 and parts[0] in ("tau", "theta[1]", "theta[8]", "mu"):
        printed[parts[0]] = float(parts[1])
mine = {"tau": tau.mean(), "theta[1]": theta[:, 0].mean(), "theta[8]": theta[:, 7].mean(), "mu": mu.mean()}
check(len(printed) == 4 and all(abs(printed[k] - mine[k]) <= 5e-4 * max(1, abs(mine[k])) for k in printed),
      "means: the summary of examples/nuts = cmdstanpy's " +
      ", ".join(f"{k} {printed.get(k, float('nan')):.4g}/{mine[k]:.4g}" for k in mine))
print(f"{len(failed)} failed")
sys.exit(1 if failed else 0)
EOF
