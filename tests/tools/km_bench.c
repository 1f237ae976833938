/* Quick timing of the k-means distance kernel against plain sgemm on the same shape:
 *   km_bench [n_rows=200000] [dim=50] [k=100] [reps=3] [offset=0]
 * Rows and centres are N(0, 1) plus `offset` in every coordinate (far from the origin when
 * large: the case where the float expansion needs the shift to the centres' mean). Prints GFLOP/s
 * counted as 2 n k dim for both (not a benchmark suite: no reference). */
#include <stdio.h>
#include <stdlib.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/blas.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"
#include "core/timer.h"

static size_t arg(int argc, char **argv, int i, size_t def)
{
    return argc > i ? (size_t)strtoull(argv[i], NULL, 10) : def;
}

int main(int argc, char **argv)
{
    size_t n = arg(argc, argv, 1, 200000), d = arg(argc, argv, 2, 50), k = arg(argc, argv, 3, 100);
    int reps = (int)arg(argc, argv, 4, 3);
    double offset = argc > 5 ? strtod(argv[5], NULL) : 0.0;
    float *x = ar_allocn(n * d, sizeof *x), *c = ar_allocn(k * d, sizeof *c);
    float *g = ar_allocn(n * k, sizeof *g);
    uint32_t *a = ar_allocn(n, sizeof *a);
    double *d2 = ar_allocn(n, sizeof *d2);
    if (!x || !c || !g || !a || !d2)
        return 1;
    struct ar_rng r;
    ar_rng_init(&r, 1, 0);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)(ar_rng_normal(&r) + offset);
    for (size_t i = 0; i < k * d; i++)
        c[i] = (float)(ar_rng_normal(&r) + offset);
    struct ar_batch b = {0};
    b.n_rows = n;
    b.n_cols = d;
    b.dense = ar_mat_view(x, n, d, d);
    double flop = 2.0 * (double)n * (double)k * (double)d;
    double t_gemm = 1e30, t_assign = 1e30, t_dist = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = ar_time_now();
        ar_blas_sgemm(false, true, n, k, d, 1.0f, x, d, c, d, 0.0f, g, k);
        double t1 = ar_time_now();
        struct ar_km_centres cs;
        if (ar_km_centres_init(&cs, c, k, d) != AR_OK || ar_km_assign(&cs, &b, a, NULL) != AR_OK)
            return 1;
        double t2 = ar_time_now();
        if (ar_km_assign(&cs, &b, a, d2) != AR_OK)
            return 1;
        double t3 = ar_time_now();
        ar_km_centres_release(&cs);
        t_gemm = t1 - t0 < t_gemm ? t1 - t0 : t_gemm;
        t_assign = t2 - t1 < t_assign ? t2 - t1 : t_assign;
        t_dist = t3 - t2 < t_dist ? t3 - t2 : t_dist;
    }
    printf("n=%zu dim=%zu k=%zu threads=%d blas=%s\n", n, d, k, ar_par_threads(),
           ar_blas_corename());
    printf("sgemm alone          %8.3f ms  %6.1f GFLOP/s\n", t_gemm * 1e3, flop / t_gemm * 1e-9);
    printf("assign               %8.3f ms  %6.1f GFLOP/s  (%.0f %% of sgemm)\n", t_assign * 1e3,
           flop / t_assign * 1e-9, 100 * t_gemm / t_assign);
    printf("assign + exact dist  %8.3f ms  %6.1f GFLOP/s  (%.0f %% of sgemm)\n", t_dist * 1e3,
           flop / t_dist * 1e-9, 100 * t_gemm / t_dist);
    ar_free(x);
    ar_free(c);
    ar_free(g);
    ar_free(a);
    ar_free(d2);
    return 0;
}
