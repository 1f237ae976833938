/* Machine ceilings for the benchmark report, measured through algorun's own layers:
 *
 *   bench-ceiling [--threads N] sgemm [N_SIZE] [REPS]   square sgemm via core/blas.h
 *   bench-ceiling [--threads N] copy [MIB] [REPS]       parallel memcpy of a MIB buffer
 *
 * Prints one JSON object: best and median GFLOP/s (2 n^3 per product) or GB/s (bytes read
 * plus bytes written, as numpy copyto is counted in the reference baselines). Buffers are
 * first touched by the threads that later use them, outside the timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/timer.h"

#define MAX_REPS 64

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, const char *unit, double *v, int reps, size_t size)
{
    qsort(v, (size_t)reps, sizeof *v, cmp_double);
    printf("{\"what\": \"%s\", \"size\": %zu, \"threads\": %d, \"best_%s\": %.2f, "
           "\"median_%s\": %.2f, \"blas_kernel\": \"%s\", \"blas_threading\": \"%s\"}\n",
           what, size, ar_par_threads(), unit, v[reps - 1], unit, v[reps / 2], ar_blas_corename(),
           ar_blas_threading());
}

static long arg_long(int argc, char **argv, int i, long def)
{
    if (i >= argc)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    return (end == argv[i] || *end || v <= 0) ? -1 : v;
}

static int run_sgemm(size_t n, int reps)
{
    float *a = ar_allocn(n * n, sizeof *a), *b = ar_allocn(n * n, sizeof *b),
          *c = ar_callocn(n * n, sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 13) * 0.25f - 1.0f;
        b[i] = (float)(i % 7) * 0.5f - 1.5f;
    }
    double v[MAX_REPS];
    ar_blas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = ar_time_now();
        ar_blas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        v[r] = 2.0 * (double)n * (double)n * (double)n / (ar_time_now() - t0) / 1e9;
    }
    report("sgemm", "gflops", v, reps, n);
    ar_free(a);
    ar_free(b);
    ar_free(c);
    return 0;
}

/* Each thread copies its own contiguous range, which it also first-touched. */
static void copy_par(char *dst, const char *src, size_t bytes)
{
    int nt = ar_par_threads();
#pragma omp parallel num_threads(ar_par_threads())
    {
        size_t lo, hi;
        ar_par_range(bytes, ar_par_tid(), nt, &lo, &hi);
        memcpy(dst + lo, src + lo, hi - lo);
    }
}

static int run_copy(size_t mib, int reps)
{
    size_t bytes = mib << 20;
    char *src = ar_alloc(bytes), *dst = ar_alloc(bytes);
    if (!src || !dst)
        return 1;
    int nt = ar_par_threads();
#pragma omp parallel num_threads(ar_par_threads())
    {
        size_t lo, hi;
        ar_par_range(bytes, ar_par_tid(), nt, &lo, &hi);
        memset(src + lo, 1, hi - lo);
        memset(dst + lo, 0, hi - lo);
    }
    double v[MAX_REPS];
    copy_par(dst, src, bytes); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = ar_time_now();
        copy_par(dst, src, bytes);
        v[r] = 2.0 * (double)bytes / (ar_time_now() - t0) / 1e9;
    }
    report("copy", "gbps", v, reps, bytes);
    ar_free(src);
    ar_free(dst);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0, i = 1;
    if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
        threads = (int)arg_long(argc, argv, 2, 0);
        i = 3;
    }
    if (threads < 0 || ar_par_init(threads) != 0 || i >= argc) {
        fprintf(stderr, "usage: bench-ceiling [--threads N] sgemm|copy [SIZE] [REPS]\n");
        return 2;
    }
    const char *what = argv[i];
    long reps = arg_long(argc, argv, i + 2, 5);
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "bench-ceiling: REPS must be 1..%d\n", MAX_REPS);
        return 2;
    }
    if (strcmp(what, "sgemm") == 0) {
        long n = arg_long(argc, argv, i + 1, 4096);
        return n > 0 ? run_sgemm((size_t)n, (int)reps) : 2;
    }
    if (strcmp(what, "copy") == 0) {
        long mib = arg_long(argc, argv, i + 1, 1024);
        return mib > 0 ? run_copy((size_t)mib, (int)reps) : 2;
    }
    fprintf(stderr, "bench-ceiling: unknown measurement '%s'\n", what);
    return 2;
}
