#!/usr/bin/env python3
"""gmm_jax.py - the Gaussian-mixture benchmark of bench_gmm.c, in JAX on the CPU.

Reads the model and the points that `bench_gmm --dump FILE` wrote (the same
bits clvmap uploads), evaluates the same formula as the OpenCL kernel in
examples/gmm_model.h, and prints ONE line of key=value fields like
bench_gmm's:

  jax variant=vmap dtype=f32 B=... repeats=5 seconds=<median> min_seconds=...
      cpu_seconds=<median process CPU time per call> rss_kb=<peak RSS>
      checksum=<sum of the B log densities, in double>

Variants: vmap    jax.jit(jax.vmap(logpdf))
          map4096 jax.jit(lambda xs: jax.lax.map(logpdf, xs, batch_size=4096))
The first call (trace + XLA compile) is a warm-up and is not timed; every
timed call ends with block_until_ready(). XLA uses all cores of the machine,
as PoCL does.
"""
import argparse
import resource
import sys
import time

import numpy as np


def load(path):
    """The arrays of a bench_gmm dump (see dump() in bench_gmm.c)."""
    head = np.fromfile(path, dtype=np.uint8, count=8)
    if bytes(head) != b"GMMBENCH":
        sys.exit(f"{path}: not a bench_gmm dump")
    d, k, real_bytes, _ = np.fromfile(path, dtype=np.uint32, count=4, offset=8)
    (b,) = np.fromfile(path, dtype=np.uint64, count=1, offset=24)
    d, k, b = int(d), int(k), int(b)
    real = np.float64 if real_bytes == 8 else np.float32
    offset = 32
    arrays = {}
    for name, count in (("mu", d * k), ("prec", d * k), ("logc", k), ("x", b * d)):
        arrays[name] = np.fromfile(path, dtype=real, count=count, offset=offset)
        offset += count * int(real_bytes)
    arrays["mu"] = arrays["mu"].reshape(d, k)      # D x K, as the kernel reads it
    arrays["prec"] = arrays["prec"].reshape(d, k)
    arrays["x"] = arrays["x"].reshape(b, d)
    return arrays, real


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="file written by bench_gmm --dump")
    ap.add_argument("--variant", choices=("vmap", "map4096"), default="vmap")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    arrays, real = load(args.data)
    import jax
    if real == np.float64:
        jax.config.update("jax_enable_x64", True)  # before any array is made
    import jax.numpy as jnp

    def logpdf(x, mu, prec, logc):
        """One point: the kernel's formula (examples/gmm_model.h), written as
        a JAX user would. The fastest of the forms tried here: mu and prec
        K x D (D x K is ~1.4x slower under XLA), and jax.nn.logsumexp (as
        fast in f32 as max/exp/sum/log written out, 2.5x faster in f64)."""
        diff = x[None, :] - mu                      # K x D
        q = jnp.sum(diff * diff * prec, axis=1)     # K
        return jax.nn.logsumexp(logc - 0.5 * q)     # stable: shifts by the max

    if args.variant == "vmap":
        f = jax.jit(jax.vmap(logpdf, in_axes=(0, None, None, None)))
    else:
        f = jax.jit(lambda xs, mu, prec, logc: jax.lax.map(
            lambda x: logpdf(x, mu, prec, logc), xs, batch_size=4096))

    arrays["mu"], arrays["prec"] = arrays["mu"].T.copy(), arrays["prec"].T.copy()  # K x D
    xs, mu, prec, logc = (jax.device_put(arrays[n]) for n in ("x", "mu", "prec", "logc"))
    n_items = arrays["x"].shape[0]
    del arrays
    y = f(xs, mu, prec, logc).block_until_ready()   # warm-up: trace and compile
    wall, cpu = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), cpu_seconds()
        y = f(xs, mu, prec, logc).block_until_ready()
        wall.append(time.perf_counter() - w0)
        cpu.append(cpu_seconds() - c0)
    if y.dtype != real:
        sys.exit(f"result is {y.dtype}, expected {np.dtype(real)}")
    checksum = float(np.sum(np.asarray(y, dtype=np.float64)))
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"jax variant={args.variant} dtype={'f64' if real == np.float64 else 'f32'} B={n_items} "
          f"repeats={args.repeats} seconds={np.median(wall):.6f} min_seconds={min(wall):.6f} "
          f"cpu_seconds={np.median(cpu):.6f} rss_kb={rss_kb} checksum={checksum:.12e} "
          f"jax_version={jax.__version__}")


if __name__ == "__main__":
    main()
