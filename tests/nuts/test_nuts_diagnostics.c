/* Host diagnostics against ArviZ 0.23.4 on fixed inputs (AR(1) chains made
 * from splitmix64 uniforms, exact in C and Python; values from
 * az.ess(x, method="bulk"/"tail") and az.rhat(x, method="rank")), and Stan's
 * warmup windows. No device needed. */
#include "test_util.h"
#include "clvmap_nuts.h"

#include <math.h>

static void ar1_chains(int m, int n, double *x)
{
    uint64_t s = 20261123;
    for (int c = 0; c < m; ++c) {
        double prev = 0;
        for (int i = 0; i < n; ++i) {
            uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            z ^= z >> 31;
            double u = ((double)(z >> 11) + 0.5) * 0x1.0p-53;
            prev = 0.7 * prev + (u - 0.5);
            x[c * n + i] = prev + (c == 3 ? 0.1 : 0.0); /* chain 4 offset: R-hat > 1 */
        }
    }
}

static void close_to(const char *what, double got, double want, double rel)
{
    TU_CHECK(fabs(got - want) <= rel * fabs(want), "%s: %.12g, ArviZ %.12g", what, got, want);
}

static void against_arviz(int m, int n, double bulk, double tail, double rhat, double mean, double q5)
{
    double x[4 * 101];
    ar1_chains(m, n, x);
    clv_nuts_summary sm;
    TU_CHECK(clv_nuts_summarize(x, m, n, &sm) == CLV_OK, "summarize");
    printf("%d x %d: ess_bulk %.6f (ArviZ %.6f), ess_tail %.6f (%.6f), rhat %.8f (%.8f)\n", m, n, sm.ess_bulk,
           bulk, sm.ess_tail, tail, sm.rhat, rhat);
    close_to("ess_bulk", sm.ess_bulk, bulk, 1e-6);
    close_to("ess_tail", sm.ess_tail, tail, 1e-6);
    close_to("rhat", sm.rhat, rhat, 1e-8);
    close_to("mean", sm.mean, mean, 1e-12);
    close_to("q5", sm.q5, q5, 1e-12);
}

/* Stan's windows for 1000 warmup iterations: buffer 75, windows ending at
 * 99, 149, 249, 449 and 949, term buffer 50. For 100: 15 / 75 / 10. */
static void schedule(void)
{
    int flags[1000], ends[8], n_ends = 0, first_add = -1, last_add = -1;
    clv_nuts__schedule(1000, flags);
    for (int t = 0; t < 1000; ++t) {
        if ((flags[t] & CLV_NUTS__END) && n_ends < 8) ends[n_ends++] = t;
        if (flags[t] & CLV_NUTS__ADD) {
            if (first_add < 0) first_add = t;
            last_add = t;
        }
    }
    TU_CHECK(n_ends == 5 && ends[0] == 99 && ends[1] == 149 && ends[2] == 249 && ends[3] == 449 && ends[4] == 949,
             "windows for 1000 warmup: %d ends, first %d", n_ends, n_ends ? ends[0] : -1);
    TU_CHECK(first_add == 75 && last_add == 949, "variance samples %d..%d, want 75..949", first_add, last_add);
    clv_nuts__schedule(100, flags);
    n_ends = 0;
    for (int t = 0; t < 100; ++t)
        if (flags[t] & CLV_NUTS__END) ends[n_ends++] = t;
    TU_CHECK(n_ends == 1 && ends[0] == 89 && (flags[15] & CLV_NUTS__ADD) && !(flags[14] & CLV_NUTS__ADD),
             "windows for 100 warmup: %d ends", n_ends);
    clv_nuts__schedule(19, flags);
    int any = 0;
    for (int t = 0; t < 19; ++t) any |= flags[t];
    TU_CHECK(any == 0, "no metric adaptation below 20 warmup iterations");
}

int main(void)
{
    against_arviz(4, 101, 46.38912203471049, 166.75244676717526, 1.071231944125975, 0.08133456765123334,
                  -0.5592828211995736);
    against_arviz(2, 40, 25.021582837617505, 43.07632170429003, 1.0680604860524519, -0.05684394846223795,
                  -0.6310013961928047);
    double constant[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    clv_nuts_summary sm;
    clv_nuts_summarize(constant, 2, 4, &sm);
    TU_CHECK(sm.mean == 1 && sm.sd == 0 && isnan(sm.rhat) && isnan(sm.ess_bulk), "constant draws: NaN diagnostics");
    schedule();
    return tu_summary();
}
