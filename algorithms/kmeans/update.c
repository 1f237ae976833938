/* Per-cluster sums and the streaming (mini-batch) centre update.
 *
 * Rows are bucketed by their cluster with a stable counting sort; each thread then owns a
 * contiguous range of clusters (split so the threads get about the same number of rows) and
 * adds that range's rows in row order. Every sum is therefore formed in the same order whatever
 * the thread count, and no per-thread k x dim partials are needed.
 */
#include <math.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

int ar_km_accumulate(const struct ar_batch *x, const double *w, const uint32_t *assign, size_t k,
                     size_t dim, double *sums, double *counts)
{
    size_t n = x->n_rows;
    if (n == 0)
        return AR_OK;
    int nt = ar_par_threads();
    size_t *offs = ar_allocn(k + 1 + (size_t)nt + 1, sizeof *offs);
    size_t *order = ar_allocn(n, sizeof *order);
    if (!offs || !order) {
        ar_free(offs);
        ar_free(order);
        return AR_ERR_NOMEM;
    }
    size_t *first = offs + k + 1; /* first cluster of each thread, nt + 1 entries */
    memset(offs, 0, (k + 1) * sizeof *offs);
    for (size_t i = 0; i < n; i++) {
        AR_ASSERT(assign[i] < k);
        offs[assign[i] + 1]++;
    }
    for (size_t j = 0; j < k; j++)
        offs[j + 1] += offs[j];
    /* Stable placement; offs[j] ends up as the end of bucket j, restored below. */
    for (size_t i = 0; i < n; i++)
        order[offs[assign[i]]++] = i;
    for (size_t j = k; j > 0; j--)
        offs[j] = offs[j - 1];
    offs[0] = 0;
    /* Thread t starts at the first cluster whose rows begin at or after t * n / nt. */
    size_t j = 0;
    for (int t = 0; t <= nt; t++) {
        size_t target = (size_t)((double)n * t / nt);
        while (j < k && offs[j] < target)
            j++;
        first[t] = t == nt ? k : j;
    }
    const bool sparse = x->is_sparse;
#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid();
        size_t jlo = first[tid], jhi = tid == ar_par_region_size() - 1 ? k : first[tid + 1];
        for (size_t c = jlo; c < jhi; c++) {
            double *restrict acc = sums + c * dim;
            double cnt = 0;
            for (size_t q = offs[c]; q < offs[c + 1]; q++) {
                size_t i = order[q];
                double wi = w ? w[i] : 1.0;
                cnt += wi;
                if (sparse) {
                    const struct ar_csr *s = &x->csr;
                    for (uint64_t p = s->indptr[i]; p < s->indptr[i + 1]; p++)
                        acc[s->indices[p]] += wi * (double)s->values[p];
                } else {
                    const float *restrict r = ar_mat_row(&x->dense, i);
                    for (size_t t = 0; t < dim; t++)
                        acc[t] += wi * (double)r[t];
                }
            }
            counts[c] += cnt;
        }
    }
    ar_free(offs);
    ar_free(order);
    return AR_OK;
}

void ar_km_stream_update(float *centres, double *n, const double *batch_sums,
                         const double *batch_counts, size_t k, size_t dim, int64_t half_life)
{
    for (size_t j = 0; j < k; j++) {
        double m = batch_counts[j];
        if (!(m > 0))
            continue;
        double nj = n[j];
        if (half_life > 0)
            nj *= exp2(-m / (double)half_life);
        double p = m / (nj + m);
        float *c = centres + j * dim;
        const double *s = batch_sums + j * dim;
        for (size_t t = 0; t < dim; t++)
            c[t] = (float)((1.0 - p) * (double)c[t] + p * (s[t] / m));
        n[j] = nj + m;
    }
}
