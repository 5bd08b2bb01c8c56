"""nss_inversion_jax.py - BlackJAX's nested slice sampler on the inversion
likelihood of examples/nss_inversion.c, chunked the way PyAutoFit does it,
for tests/bench/nss_inversion_bench.sh.

The problem's data come from the C example (`nss_inversion --side S --dump
FILE`: float64, laid out as examples/nss_inversion.h says), so both sides
sample the same posterior: theta = (log10 lambda, b) on [-2, 4] x [-1, 1],
log L = -1/2 (|d - b1|^2/sigma^2 - D^T M^-1 D + log det M - n log lambda
- log det H + m log 2 pi sigma^2), M = F + lambda H (n x n), by
jnp.linalg.cholesky and jax.scipy.linalg.cho_solve (LAPACK potrf/potrs on
the CPU).

Chunking as PyAutoFit's NSS (autofit/non_linear/search/nest/nss,
PRs #1303 and its follow-up in shared/seeds/): the update's
jax.vmap(mcmc_kernel) over num_delete becomes
jax.lax.map(mcmc_kernel, ..., batch_size=chunk) through blackjax.nss's
update_strategy, and the init's jax.vmap(init_state_fn) over n_live
becomes jax.lax.map(..., batch_size=chunk). chunk 0 is BlackJAX's own
(unchunked) vmap.

Prints one "result" line with key=value fields, like the C example:
  seconds       the sampling loop after jit compiled the step (compile_s
                apart), plus the final log Z
  evaluations   likelihood evaluations as the slice sampler made them (n_live
                at init, then per slice step 2 + expansions + shrinkages)
  peak_rss_bytes  the process's peak resident memory (ru_maxrss)
"""

import argparse
import math
import resource
import time
from functools import partial

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import blackjax  # noqa: E402
from jax import random  # noqa: E402
from blackjax.ns import utils as ns_utils  # noqa: E402
from blackjax.ns.adaptive import init as ns_init  # noqa: E402
from blackjax.ns.base import init_state_strategy  # noqa: E402
from blackjax.ns.nss import build_kernel, _resolve_inner_kernel_params, covariance_proposal  # noqa: E402

HEADER = 8


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="file written by nss_inversion --dump")
    p.add_argument("--n-live", type=int, default=50)
    p.add_argument("--num-delete", type=int, default=10)
    p.add_argument("--num-inner-steps", type=int, default=5)
    p.add_argument("--chunk", type=int, default=0, help="0: unchunked vmap (BlackJAX's default)")
    p.add_argument("--max-iterations", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=1, help="timed runs after one compile; the median is printed")
    return p.parse_args()


def problem(path):
    raw = np.fromfile(path, dtype=np.float64)
    h = raw[:HEADER]
    n = int(h[0])
    F = jnp.asarray(raw[HEADER:HEADER + n * n].reshape(n, n))
    H = jnp.asarray(raw[HEADER + n * n:HEADER + 2 * n * n].reshape(n, n))
    D0 = jnp.asarray(raw[HEADER + 2 * n * n:HEADER + 2 * n * n + n])
    a1 = jnp.asarray(raw[HEADER + 2 * n * n + n:HEADER + 2 * n * n + 2 * n])
    lo, hi = float(h[6]), float(h[7])

    def loglikelihood(x):
        lam = 10.0 ** x[0]
        b = x[1]
        M = F + lam * H
        L = jnp.linalg.cholesky(M)
        D = D0 - b * a1
        s = jax.scipy.linalg.cho_solve((L, True), D)
        logdet = 2 * jnp.sum(jnp.log(jnp.diag(L)))
        dd = h[2] - 2 * b * h[3] + b * b * h[4]
        v = -0.5 * (dd - D @ s + logdet - n * jnp.log(lam) - h[1] + h[5])
        return jnp.where(jnp.isfinite(v), v, -jnp.inf)

    def logprior(x):
        inside = (x[0] >= lo) & (x[0] <= hi) & (jnp.abs(x[1]) <= 1)
        return jnp.where(inside, -math.log((hi - lo) * 2), -jnp.inf)

    return n, lo, hi, loglikelihood, logprior


def chunked_update_strategy(chunk):
    """blackjax.ns.from_mcmc.update_with_mcmc_take_last with the vmap over
    num_delete replaced by jax.lax.map(batch_size=chunk), as PyAutoFit's
    make_chunked_update_strategy."""

    def strategy(constrained_mcmc_step_fn, num_mcmc_steps, num_delete):
        def update_function(rng_key, state, loglikelihood_0, **step_parameters):
            choice_key, sample_key = random.split(rng_key)
            particles = state.particles
            weights = (particles.loglikelihood > loglikelihood_0).astype(jnp.float32)
            weights = jnp.where(weights.sum() > 0.0, weights, jnp.ones_like(weights))
            start_idx = random.choice(choice_key, len(weights), shape=(num_delete,), p=weights / weights.sum(),
                                      replace=True)
            start_state = jax.tree.map(lambda x: x[start_idx], particles)
            step = partial(constrained_mcmc_step_fn, loglikelihood_0=loglikelihood_0, **step_parameters)

            def mcmc_kernel(args):
                key, s = args
                return jax.lax.scan(lambda st, k: step(k, st), s, random.split(key, num_mcmc_steps))

            keys = random.split(sample_key, num_delete)
            new_particles, infos = jax.lax.map(mcmc_kernel, (keys, start_state), batch_size=chunk)
            new_particles = new_particles._replace(
                loglikelihood_birth=jnp.full_like(new_particles.loglikelihood_birth, loglikelihood_0))
            return new_particles, infos

        return update_function

    return strategy


def algorithm(a, loglikelihood, logprior):
    """blackjax.nss, or its local replica with both batched sites chunked
    (PyAutoFit's build_chunked_nss_algorithm)."""
    if a.chunk <= 0:
        return blackjax.nss(logprior_fn=logprior, loglikelihood_fn=loglikelihood, num_delete=a.num_delete,
                            num_inner_steps=a.num_inner_steps)
    init_state_fn = partial(init_state_strategy, logprior_fn=logprior, loglikelihood_fn=loglikelihood)
    params = _resolve_inner_kernel_params(covariance_proposal, None)
    kernel = build_kernel(init_state_fn, a.num_inner_steps, a.num_delete, inner_kernel_params=params,
                          update_strategy=chunked_update_strategy(a.chunk))

    def init_fn(position, rng_key=None):
        chunked = lambda ps: jax.lax.map(init_state_fn, ps, batch_size=a.chunk)  # noqa: E731
        return ns_init(position, init_state_fn=chunked, update_inner_kernel_params_fn=params, rng_key=rng_key)

    return blackjax.base.SamplingAlgorithm(init_fn, kernel)


def count_evals(dead, n_live):
    total = n_live
    for d in dead:
        info = d.update_info
        while hasattr(info, "info") and not hasattr(info, "num_shrink"):
            info = info.info
        total += int(jnp.sum(2 + info.num_expansions + info.num_shrink))
    return total


def evidence(state, dead, key):
    final = ns_utils.finalise(state, dead)
    logzs = jax.scipy.special.logsumexp(ns_utils.log_weights(key, final), axis=0)
    return float(jnp.mean(logzs)), float(jnp.std(logzs))


def main():
    a = parse()
    n, lo, hi, loglikelihood, logprior = problem(a.data)
    algo = algorithm(a, loglikelihood, logprior)
    key = random.PRNGKey(a.seed)
    key, init_key, prior_key = random.split(key, 3)
    u = random.uniform(prior_key, (a.n_live, 2))
    particles = jnp.stack([lo + (hi - lo) * u[:, 0], 2 * u[:, 1] - 1], axis=1)
    init = jax.jit(algo.init)
    step = jax.jit(algo.step)

    t0 = time.perf_counter()
    state0 = init(particles, rng_key=init_key)
    jax.block_until_ready(step(key, state0))
    compile_s = time.perf_counter() - t0

    walls = []
    for run in range(a.runs):
        run_key = key
        t1 = time.perf_counter()
        state = init(particles, rng_key=init_key)
        dead = []
        while not (state.integrator.logZ_live - state.integrator.logZ < -3):
            if a.max_iterations and len(dead) >= a.max_iterations:
                break
            run_key, subkey = random.split(run_key)
            state, info = step(subkey, state)
            dead.append(info)
        jax.block_until_ready(state)
        loop = time.perf_counter() - t1
        w_key = random.fold_in(run_key, 1)
        if run == 0:
            evidence(state, dead, w_key)  # compiles the post-processing
        t2 = time.perf_counter()
        logz, logz_err = evidence(state, dead, w_key)
        walls.append(loop + time.perf_counter() - t2)
    wall = sorted(walls)[len(walls) // 2]
    evals = count_evals(dead, a.n_live)
    # where the time goes: the likelihood alone, vmapped over num_delete points
    batch = jax.jit(jax.vmap(loglikelihood))
    pts = particles[:a.num_delete]
    jax.block_until_ready(batch(pts))
    t3 = time.perf_counter()
    for _ in range(5):
        jax.block_until_ready(batch(pts))
    raw_ms = 1e3 * (time.perf_counter() - t3) / (5 * a.num_delete)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"result form=jax n={n} chunk={a.chunk if a.chunk > 0 else 'none'} logZ={logz:.6f} error={logz_err:.4f} "
          f"iterations={len(dead)} evaluations={evals} seconds={wall:.3f} ms_per_eval={1e3 * wall / evals:.4f} "
          f"likelihood_alone_ms={raw_ms:.4f} compile_s={compile_s:.2f} peak_rss_bytes={rss} seed={a.seed} jax={jax.__version__} "
          f"blackjax={blackjax.__version__} runs={a.runs} loadavg={open('/proc/loadavg').read().split()[0]}", flush=True)


if __name__ == "__main__":
    main()
