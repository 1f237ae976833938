/* Thread budget for OpenMP and OpenBLAS. */
#include "core/par.h"

#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/err.h"

static int par_threads;

int ar_par_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    return omp_get_num_procs();
}

int ar_par_init(int threads)
{
    if (threads < 0)
        return ar_err_set(AR_ERR_PARAM, "threads must be >= 0 (0 = automatic), got %d", threads);
    if (threads == 0) {
        const char *env = getenv("OMP_NUM_THREADS");
        if (env && *env) {
            char *end;
            long v = strtol(env, &end, 10);
            /* OMP_NUM_THREADS may be a list ("4,2"); its first entry is the outer level. */
            if (end == env || (*end != '\0' && *end != ',') || v < 1 || v > 4096)
                return ar_err_set(AR_ERR_PARAM, "OMP_NUM_THREADS='%s' is not a positive integer",
                                  env);
            threads = (int)v;
        } else {
            threads = ar_par_cores();
        }
    }
    if (threads > 4096)
        return ar_err_set(AR_ERR_PARAM, "threads must be <= 4096, got %d", threads);
    par_threads = threads;
    omp_set_num_threads(threads);
    /* Nested regions would multiply the budget. */
    omp_set_max_active_levels(1);
    ar_blas_set_threads(threads);
    return AR_OK;
}

int ar_par_threads(void)
{
    if (par_threads == 0 && ar_par_init(0) != AR_OK)
        ar_par_init(ar_par_cores());
    return par_threads;
}

int ar_par_tid(void)
{
    return omp_get_thread_num();
}

int ar_par_region_size(void)
{
    return omp_get_num_threads();
}

void ar_par_range(size_t n, int ith, int nth, size_t *lo, size_t *hi)
{
    AR_ASSERT(nth > 0 && ith >= 0 && ith < nth);
    size_t per = (n + (size_t)nth - 1) / (size_t)nth;
    size_t a = per * (size_t)ith;
    size_t b = a + per;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

int ar_par_os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0) {
            n = (int)strtol(line + 8, NULL, 10);
            break;
        }
    }
    fclose(f);
    return n;
}
