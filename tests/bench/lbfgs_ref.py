"""lbfgs_ref.py -- the references of tests/bench/lbfgs_bench.sh: one timed run
of B L-BFGS problems (the bits tests/bench/lbfgs_bench.c --dump wrote) by

  optax   optax.lbfgs, the whole batch as jax.jit(jax.vmap(solve)) where solve
          is a lax.while_loop over optax's update (float64). --linesearch
          zoom: optax.lbfgs's default scale_by_zoom_linesearch (15 steps as
          in optax's docs... here max_linesearch_steps=40 like liblbfgs);
          backtracking: scale_by_backtracking_linesearch (max 40 steps,
          c1 1e-4, decrease 0.8, increase 1.5, max step 1: its defaults).
          Timed after one warm-up call (compilation excluded, reported as
          build_s).
  scipy   scipy.optimize.minimize(method="L-BFGS-B") in a Python loop over
          the items, maxcor 10, gtol 1e-5 (max-norm of the gradient), ftol
          1e-15 (so that the gradient test decides), numpy objectives.

Stopping as clvmap/liblbfgs: |g| <= 1e-5 max(1, |x|) (optax), at most
10000 iterations. Prints one line of key=value fields like lbfgs_bench.c.
"""
import argparse
import resource
import sys
import time

import numpy as np

EPS = 1e-5
MAX_ITER = 10000


def load(path):
    with open(path, "rb") as f:
        items, n, samples, features = np.frombuffer(f.read(16), dtype=np.int32)
        rest = np.frombuffer(f.read(), dtype=np.float64)
    at = 0

    def take(k):
        nonlocal at
        v = rest[at:at + k]
        at += k
        return v

    x0 = take(items * n).reshape(items, n)
    X = take(samples * features).reshape(samples, features)
    y = take(samples)
    lam = take(items)
    return x0, X, y, lam


# ---- objectives (numpy, for scipy) ----------------------------------------

def rosen_np(x):
    x0, x1 = x[0::2], x[1::2]
    t1, t2 = 1 - x0, 10 * (x1 - x0 * x0)
    g = np.empty_like(x)
    g[1::2] = 20 * t2
    g[0::2] = -2 * (x0 * g[1::2] + t1)
    return float(np.sum(t1 * t1 + t2 * t2)), g


def logistic_np(w, X, y, lam):
    z = X @ w
    f = np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z) + 0.5 * lam * w @ w
    p = 1 / (1 + np.exp(-z))
    return float(f), X.T @ (p - y) + lam * w


def run_scipy(problem, x0, X, y, lam):
    from scipy.optimize import minimize
    items = x0.shape[0]
    xs, fs, its, evs, ok = np.empty_like(x0), np.empty(items), np.empty(items, int), np.empty(items, int), 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(items):
        fun = rosen_np if problem == "rosenbrock" else (lambda w, i=i: logistic_np(w, X, y, lam[i]))
        r = minimize(fun, x0[i], jac=True, method="L-BFGS-B",
                     options=dict(maxcor=10, gtol=EPS, ftol=1e-15, maxiter=MAX_ITER))
        xs[i], fs[i], its[i], evs[i] = r.x, r.fun, r.nit, r.nfev
        ok += bool(r.success)
    return xs, fs, its, evs, ok, time.perf_counter() - t0, time.process_time() - c0, 0.0


# ---- optax, vmapped ---------------------------------------------------------

def run_optax(problem, linesearch, x0, X, y, lam):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def rosen(x):
        x0_, x1_ = x[0::2], x[1::2]
        return jnp.sum((1 - x0_) ** 2 + (10 * (x1_ - x0_ * x0_)) ** 2)

    def logistic(w, l):
        z = Xj @ w
        return jnp.sum(jnp.maximum(z, 0) + jnp.log1p(jnp.exp(-jnp.abs(z))) - yj * z) + 0.5 * l * w @ w

    if linesearch == "backtracking":
        ls = optax.scale_by_backtracking_linesearch(max_backtracking_steps=40, store_grad=True)
    else:
        ls = optax.scale_by_zoom_linesearch(max_linesearch_steps=40, initial_guess_strategy="one")
    opt = optax.lbfgs(memory_size=10, linesearch=ls)

    def solve(x, l):
        f = rosen if problem == "rosenbrock" else (lambda w: logistic(w, l))
        value_and_grad = optax.value_and_grad_from_state(f)

        def step(carry):
            params, state, k, evals = carry
            value, grad = value_and_grad(params, state=state)
            updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=f)
            info = optax.tree.get(state, "info")
            return optax.apply_updates(params, updates), state, k + 1, evals + info.num_linesearch_steps

        def cond(carry):
            params, state, k, _ = carry
            grad = optax.tree.get(state, "grad")
            err = optax.tree.norm(grad) / jnp.maximum(1.0, optax.tree.norm(params))
            return (k == 0) | ((k < MAX_ITER) & (err > EPS))

        params, state, k, evals = jax.lax.while_loop(cond, step, (x, opt.init(x), 0, 0))
        grad = optax.tree.get(state, "grad")
        ok = optax.tree.norm(grad) / jnp.maximum(1.0, optax.tree.norm(params)) <= EPS
        return params, optax.tree.get(state, "value"), k, evals, ok

    batched = jax.jit(jax.vmap(solve))
    xj, lj = jnp.asarray(x0), jnp.asarray(lam)
    t0 = time.perf_counter()
    jax.block_until_ready(batched(xj, lj))  # compile + one run
    build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    xs, fs, its, evs, ok = jax.block_until_ready(batched(xj, lj))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # the state's value is f at the point before the last update: recompute
    fs = np.array([rosen_np(v)[0] if problem == "rosenbrock" else logistic_np(v, X, y, lam[i])[0]
                   for i, v in enumerate(np.asarray(xs))])
    return np.asarray(xs), fs, np.asarray(its), np.asarray(evs), int(np.sum(ok)), seconds, cpu, build - seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", choices=["optax", "scipy"], required=True)
    ap.add_argument("--problem", choices=["rosenbrock", "logistic"], required=True)
    ap.add_argument("--linesearch", default="zoom", choices=["zoom", "backtracking"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--stride", type=int, default=1,
                    help="solve every stride-th item only (scipy: its time per item does not depend on B); "
                         "seconds are then scaled by stride to the whole batch, and scale=stride is printed")
    a = ap.parse_args()
    x0, X, y, lam = load(a.data)
    x0, lam = x0[::a.stride], lam[::a.stride]
    if a.tool == "scipy":
        xs, fs, its, evs, ok, sec, cpu, build = run_scipy(a.problem, x0, X, y, lam)
        sec, cpu = sec * a.stride, cpu * a.stride
        a.linesearch = "scipy"
    else:
        xs, fs, its, evs, ok, sec, cpu, build = run_optax(a.problem, a.linesearch, x0, X, y, lam)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("lbfgs tool=%s problem=%s linesearch=%s variant=%s items=%d n=%d seconds=%.6f cpu_seconds=%.4f "
          "build_s=%.3f iters_median=%d iters_mean=%.2f evals_mean=%.2f converged=%d fsum=%.10e rss_kb=%d scale=%d"
          % (a.tool, a.problem, a.linesearch, a.variant, x0.shape[0] * a.stride, x0.shape[1], sec, cpu, build,
             int(np.sort(its)[len(its) // 2]), float(np.mean(its)), float(np.mean(evs)), ok, float(np.sum(fs)),
             rss, a.stride))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
