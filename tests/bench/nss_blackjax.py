"""nss_blackjax.py - BlackJAX's nested slice sampler on the clvmap NSS
benchmark problem, for tests/bench/nss_bench.sh.

The problem is the one tests/bench/nss_bench.c runs: a d-dimensional unit
Gaussian (normalised) on the uniform prior [-5, 5]^d, log Z = -d log 10;
n_live 500, num_delete 50, num_inner_steps 20, max_steps 10,
max_shrinkage 100, float64 (clvmap's default), stop at
logZ_live - logZ < -3. The loop is the one in BlackJAX's NSS docs.

Prints one key=value line like nss_bench:
  wall_s   the sampling loop (after the step was jit-compiled: compile_s,
           not counted) plus the final log Z (blackjax.ns.utils finalise +
           log_weights) timed on its second call, since its first call
           compiles each of its operations (seconds, not counted either);
           loop_s: the loop alone
  evals    likelihood evaluations as BlackJAX's slice sampler makes them:
           n_live at init, then per slice step 2 (the initial bracket ends)
           + num_expansions + num_shrink, from its SliceInfo
  logZ, logZ_err  mean and std over 100 simulated-shrinkage draws
"""

import argparse
import math
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import blackjax  # noqa: E402
from blackjax.ns import utils as ns_utils  # noqa: E402

HALF_WIDTH = 5.0


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dim", type=int, default=10)
    p.add_argument("--n-live", type=int, default=500)
    p.add_argument("--num-delete", type=int, default=50)
    p.add_argument("--num-inner-steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--variant", default="blackjax")
    return p.parse_args()


def problem(dim):
    def loglikelihood(x):
        return -0.5 * jnp.sum(x * x) - 0.5 * dim * math.log(2 * math.pi)

    def logprior(x):
        inside = jnp.all(jnp.abs(x) <= HALF_WIDTH)
        return jnp.where(inside, -dim * math.log(2 * HALF_WIDTH), -jnp.inf)

    return loglikelihood, logprior


def count_evals(dead, n_live):
    """Likelihood evaluations from the inner kernels' SliceInfo."""
    total = n_live
    for d in dead:
        info = d.update_info
        while hasattr(info, "info") and not hasattr(info, "num_shrink"):
            info = info.info
        total += int(jnp.sum(2 + info.num_expansions + info.num_shrink))
    return total


def evidence(state, dead, key):
    """Mean and std of log Z over 100 simulated-shrinkage draws."""
    final = ns_utils.finalise(state, dead)
    logzs = jax.scipy.special.logsumexp(ns_utils.log_weights(key, final), axis=0)
    return float(jnp.mean(logzs)), float(jnp.std(logzs))


def main():
    a = parse()
    loglikelihood, logprior = problem(a.dim)
    algo = blackjax.nss(
        logprior_fn=logprior,
        loglikelihood_fn=loglikelihood,
        num_delete=a.num_delete,
        num_inner_steps=a.num_inner_steps,
    )
    key = jax.random.PRNGKey(a.seed)
    key, init_key, prior_key = jax.random.split(key, 3)
    particles = jax.random.uniform(prior_key, (a.n_live, a.dim), minval=-HALF_WIDTH, maxval=HALF_WIDTH)
    step = jax.jit(algo.step)

    t0 = time.perf_counter()
    state0 = algo.init(particles, rng_key=init_key)
    jax.block_until_ready(step(key, state0))  # compile (not timed in wall_s)
    compile_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    state = algo.init(particles, rng_key=init_key)
    dead = []
    while not (state.integrator.logZ_live - state.integrator.logZ < -3):
        key, subkey = jax.random.split(key)
        state, info = step(subkey, state)
        dead.append(info)
    jax.block_until_ready(state)
    loop = time.perf_counter() - t1
    key, w_key = jax.random.split(key)
    evidence(state, dead, w_key)  # compiles the op-by-op post-processing
    t2 = time.perf_counter()
    logz, logz_err = evidence(state, dead, w_key)
    wall = loop + time.perf_counter() - t2

    evals = count_evals(dead, a.n_live)
    truth = -a.dim * math.log(2 * HALF_WIDTH)
    print(
        f"variant={a.variant} chunk=none devices=1 dim={a.dim} n_live={a.n_live} num_delete={a.num_delete} "
        f"num_inner_steps={a.num_inner_steps} seed={a.seed} wall_s={wall:.4f} loop_s={loop:.4f} "
        f"compile_s={compile_s:.4f} "
        f"iterations={len(dead)} evals={evals} evals_per_s={evals / wall:.0f} logZ={logz:.5f} "
        f"logZ_err={logz_err:.5f} truth={truth:.5f} abs_err={abs(logz - truth):.5f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
