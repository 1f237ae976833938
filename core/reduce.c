/* Single-process reductions: the seam MPI fills in later. */
#include "core/reduce.h"

#include "core/err.h"

int ar_reduce_sum_f64(double *buf, size_t n)
{
    (void)buf;
    (void)n;
    return AR_OK;
}

int ar_reduce_sum_i64(int64_t *buf, size_t n)
{
    (void)buf;
    (void)n;
    return AR_OK;
}

int ar_reduce_max_f64(double *buf, size_t n)
{
    (void)buf;
    (void)n;
    return AR_OK;
}

int ar_reduce_min_f64(double *buf, size_t n)
{
    (void)buf;
    (void)n;
    return AR_OK;
}

int ar_reduce_world_size(void)
{
    return 1;
}

int ar_reduce_rank(void)
{
    return 0;
}
