"""BlackJAX and NumPyro on the NUTS benchmark models (tests/bench/nuts_bench.sh).

Same models, data (from nuts_bench --dump-data), chains, warmup and draws as
tests/bench/nuts_bench.c; float64 like clvmap. BlackJAX: window_adaptation
vmapped over chains, then the NUTS kernel vmapped over chains inside one
jitted lax.scan (the BlackJAX multiple-chains how-to). NumPyro: NUTS with
chain_method="vectorized", written with numpyro.infer.hmc.hmc inside one
jitted function so that it compiles once. Every run is timed; run 0
includes JIT compilation and is reported apart (compile=1), later runs
reuse the compiled code (a warm-up run in the same process). ESS: ArviZ's bulk ESS, min over parameters.

  python nuts_ref.py --lib blackjax|numpyro|arviz-csv --data FILE [--chains 4]
                     [--warmup 1000] [--draws 1000] [--runs 3] [--csv-glob G]
"""
import argparse
import glob
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np


def load(path):
    with open(path) as f:
        name, dim, n = f.readline().split()
        data = np.array([float(line) for line in f])
    return name, int(dim), data


def logdensity_fn(name, dim, data):
    """The same log densities as examples/nuts_models.h."""
    d = jnp.asarray(data)
    if name == "normal":
        def f(x):
            loc, log_scale = x[0], x[1]
            return (-0.5 * jnp.sum((d - loc) ** 2) * jnp.exp(-2 * log_scale)
                    - d.shape[0] * log_scale + log_scale)
    elif name == "gauss":
        p = d.reshape(dim, dim)
        def f(x):
            return -0.5 * x @ (p @ x)
    elif name == "eight_schools":
        y, s = d[:8], d[8:]
        def f(x):
            mu, log_tau, tt = x[0], x[1], x[2:]
            tau = jnp.exp(log_tau)
            theta = mu + tau * tt
            return (-mu * mu / 50 - jnp.log1p(tau * tau / 25) + log_tau
                    - 0.5 * jnp.sum(tt * tt) - 0.5 * jnp.sum(((y - theta) / s) ** 2))
    elif name == "logistic":
        n = data.shape[0] // (dim + 1)
        X, y = d[: n * dim].reshape(n, dim), d[n * dim:]
        def f(b):
            eta = X @ b
            return -0.5 * jnp.sum(b * b) + jnp.sum(y * eta - jnp.logaddexp(0.0, eta))
    else:
        raise SystemExit("unknown model " + name)
    return f


def min_ess(samples):
    import arviz as az
    return min(float(az.ess(np.asarray(samples[:, :, k]), method="bulk")) for k in range(samples.shape[2]))


def make_blackjax(f, dim, a):
    """The jitted program, built once: later runs with new keys reuse it."""
    import blackjax
    warmup = blackjax.window_adaptation(blackjax.nuts, f)

    @jax.jit
    def go(init, k_warm, k_sample):
        def adapt(k, x):
            (state, params), _ = warmup.run(k, x, num_steps=a.warmup)
            return state, params["step_size"], params["inverse_mass_matrix"]
        states, eps, imm = jax.vmap(adapt)(jax.random.split(k_warm, a.chains), init)

        def one(state, key, e, m):
            return blackjax.nuts(f, e, m).step(key, state)

        def body(states, key):
            states, _ = jax.vmap(one)(states, jax.random.split(key, a.chains), eps, imm)
            return states, states.position
        _, draws = jax.lax.scan(body, states, jax.random.split(k_sample, a.draws))
        return jnp.swapaxes(draws, 0, 1)
    return go


def run_blackjax(go, dim, a, seed):
    key = jax.random.PRNGKey(seed)
    k_init, k_warm, k_sample = jax.random.split(key, 3)
    init = jax.random.uniform(k_init, (a.chains, dim), minval=-2, maxval=2)
    t0 = time.perf_counter()
    draws = np.asarray(go(init, k_warm, k_sample).block_until_ready())
    return time.perf_counter() - t0, draws


def make_numpyro(f, dim, a):
    """NumPyro's NUTS (numpyro.infer.hmc.hmc, the kernel behind MCMC(NUTS(...)),
    same defaults: target 0.8, diagonal mass matrix, windowed warmup, max depth
    10), warmup and sampling of every chain in one jitted function, vmapped
    over chains (what chain_method="vectorized" does). Built once: later runs
    with new keys reuse the compiled code. (MCMC.run compiled again on every
    call, so the old timings measured compilation, 3-5 s even in 2-d.)"""
    from numpyro.infer.hmc import hmc
    init_kernel, sample_kernel = hmc(potential_fn=lambda x: -f(x), algo="NUTS")

    @jax.jit
    def go(init, key):
        def chain(x0, k):
            k_init, _ = jax.random.split(k)
            state = init_kernel(x0, num_warmup=a.warmup, max_tree_depth=10, target_accept_prob=0.8, rng_key=k_init)

            def body(s, _):
                s = sample_kernel(s)
                return s, s.z
            _, zs = jax.lax.scan(body, state, None, length=a.warmup + a.draws)
            return zs[a.warmup:]
        return jax.vmap(chain)(init, jax.random.split(key, a.chains))
    return go


def run_numpyro(go, dim, a, seed):
    key = jax.random.PRNGKey(seed)
    k_init, k_run = jax.random.split(key)
    init = jax.random.uniform(k_init, (a.chains, dim), minval=-2, maxval=2)
    t0 = time.perf_counter()
    draws = np.asarray(go(init, k_run).block_until_ready())
    return time.perf_counter() - t0, draws


def arviz_csv(pattern):
    """clvmap's CmdStan-layout CSV files, read by ArviZ's from_cmdstan."""
    import arviz as az
    files = sorted(glob.glob(pattern))
    idata = az.from_cmdstan(posterior=files)
    ess = az.ess(idata)
    return min(float(ess[v].min()) for v in ess.data_vars), len(files)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", required=True)
    p.add_argument("--data")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--csv-glob")
    a = p.parse_args()
    if a.lib == "arviz-csv":
        ess, n = arviz_csv(a.csv_glob)
        print(f"arviz-csv files={n} min_ess_bulk={ess:.1f}")
        return
    name, dim, data = load(a.data)
    f = logdensity_fn(name, dim, data)
    make, run = (make_blackjax, run_blackjax) if a.lib == "blackjax" else (make_numpyro, run_numpyro)
    program = make(f, dim, a)
    for r in range(a.runs + 1):  # run 0 compiles
        wall, draws = run(program, dim, a, seed=r + 1)
        ess = min_ess(draws)
        print(f"{a.lib} model={name} run={r} compile={int(r == 0)} chains={a.chains} draws={a.draws} "
              f"wall_s={wall:.4f} min_ess_bulk={ess:.1f} ess_per_s={ess / wall:.1f}", flush=True)


if __name__ == "__main__":
    main()
