/* Choosing initial centres among rows: uniform / weighted sampling without replacement
 * ("random") and k-means++ (Arthur & Vassilvitskii 2007), both optionally weighted.
 *
 * The distance updates of k-means++ run in parallel over row ranges; the cumulative sums used
 * for sampling are formed serially in row order, so the choice depends only on the seed.
 */
#include <math.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"

static double weight(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

/* A uniformly random index among rows not chosen yet (there is at least one). */
static size_t pick_unchosen(struct ar_rng *r, const unsigned char *chosen, size_t n,
                            size_t n_chosen)
{
    uint64_t skip = ar_rng_below(r, n - n_chosen);
    for (size_t i = 0; i < n; i++) {
        if (chosen[i])
            continue;
        if (skip-- == 0)
            return i;
    }
    AR_ASSERT(!"unreachable: fewer unchosen rows than counted");
    return 0;
}

/* Samples an unchosen row with probability score[i] / total (total > 0, serial scan). */
static size_t pick_weighted(struct ar_rng *r, const double *score, const unsigned char *chosen,
                            size_t n, double total)
{
    double u = ar_rng_uniform(r) * total;
    double cum = 0;
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (chosen[i] || !(score[i] > 0))
            continue;
        cum += score[i];
        last = i;
        if (cum > u)
            return i;
    }
    return last; /* rounding: u fell at the very end */
}

/* Squared distance of dense rows to c in double, vectorised (partial sums per lane). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static double
dense_d2(const float *restrict r, const float *restrict c, size_t dim)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t t = 0; t < dim; t++) {
        double d = (double)r[t] - (double)c[t];
        s += d * d;
    }
    return s;
}

/* Squared distance of row i to dense centre c with ||c||^2 = cn (sparse rows use it). */
static double dist2_row(const struct ar_batch *x, size_t i, const float *c, size_t dim, double cn)
{
    if (!x->is_sparse)
        return dense_d2(ar_mat_row(&x->dense, i), c, dim);
    const struct ar_csr *m = &x->csr;
    double s = cn;
    for (uint64_t p = m->indptr[i]; p < m->indptr[i + 1]; p++) {
        double v = (double)m->values[p];
        s += v * v - 2.0 * v * (double)c[m->indices[p]];
    }
    return s > 0 ? s : 0;
}

int ar_km_init_centres(const struct ar_batch *x, const double *w, size_t k, size_t dim,
                       enum ar_km_init method, uint64_t seed, uint64_t stream, float *out)
{
    size_t n = x->n_rows;
    AR_ASSERT(k >= 1 && k <= n);
    unsigned char *chosen = ar_callocn(n, 1);
    double *score = ar_allocn(n, sizeof *score); /* w * D^2 (kmeans++) or w (random) */
    double *mind = ar_allocn(n, sizeof *mind);
    if (!chosen || !score || !mind) {
        ar_free(chosen);
        ar_free(score);
        ar_free(mind);
        return AR_ERR_NOMEM;
    }
    struct ar_rng r;
    ar_rng_init(&r, seed, stream);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        score[i] = weight(w, i) > 0 ? weight(w, i) : 0;
        total += score[i];
        mind[i] = HUGE_VAL;
    }
    int nt = ar_par_threads();
    for (size_t c = 0; c < k; c++) {
        size_t pick = total > 0 ? pick_weighted(&r, score, chosen, n, total)
                                : pick_unchosen(&r, chosen, n, c);
        chosen[pick] = 1;
        float *cen = out + c * dim;
        if (x->is_sparse) {
            memset(cen, 0, dim * sizeof *cen);
            for (uint64_t p = x->csr.indptr[pick]; p < x->csr.indptr[pick + 1]; p++)
                cen[x->csr.indices[p]] = x->csr.values[p];
        } else {
            memcpy(cen, ar_mat_row(&x->dense, pick), dim * sizeof *cen);
        }
        if (c + 1 == k)
            break;
        if (method == AR_KM_INIT_RANDOM) {
            total -= score[pick];
            score[pick] = 0;
            if (!(total > 0)) { /* recompute: guards against rounding drift */
                total = 0;
                for (size_t i = 0; i < n; i++)
                    total += chosen[i] ? 0 : score[i];
            }
            continue;
        }
        double cn = 0;
        for (size_t t = 0; t < dim; t++)
            cn += (double)cen[t] * (double)cen[t];
#pragma omp parallel num_threads(nt)
        {
            size_t lo, hi;
            ar_par_range(n, ar_par_tid(), ar_par_region_size(), &lo, &hi);
            for (size_t i = lo; i < hi; i++) {
                double d = chosen[i] ? 0 : dist2_row(x, i, cen, dim, cn);
                if (d < mind[i])
                    mind[i] = d;
                double wi = weight(w, i);
                score[i] = wi > 0 ? wi * mind[i] : 0;
            }
        }
        total = 0;
        for (size_t i = 0; i < n; i++)
            total += score[i];
    }
    ar_free(chosen);
    ar_free(score);
    ar_free(mind);
    return AR_OK;
}
