/* The k-means distance kernel: nearest centre of every row, for training, evaluation and
 * inference alike.
 *
 * d(x, c_j) = ||x||^2 - 2 x.c_j + ||c_j||^2. Rows are taken in blocks of `rb` rows and centres
 * in blocks of `kb`, so one rb x kb block of dot products stays in cache; the dot products come
 * from one sgemm per block (dense rows; called outside our OpenMP regions so OpenBLAS threads
 * it) or a sparse x dense product against the transposed centres (CSR rows). A parallel pass
 * over row ranges then turns the block into ||c_j||^2 - 2 x.c_j and keeps, per row, the best
 * and second-best value. ||x||^2 is the same for every centre, so it never enters the argmin.
 *
 * Accuracy: the float expansion has an absolute error of about tau * (||x|| + ||c||)^2. When
 * the two best candidates are further apart than twice that bound the float winner is the
 * exact winner; otherwise the row is re-scanned against every centre in double (exact ties go
 * to the lowest index). The winning distance itself is always recomputed in double, so the
 * reported distances and losses do not carry the cancellation error.
 */
#include <math.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/blas.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

/* Dot-product block per thread, in floats (1 MiB; measured faster than 256 KiB blocks,
 * since larger sgemm calls thread better). */
#define BLOCK_FLOATS_PER_THREAD (256 * 1024)
/* Centres per block: the k of the streaming phase (k x 10) fits in one block up to 1024. */
#define CENTRE_BLOCK  1024
#define MIN_ROW_BLOCK 32

static size_t align_up(size_t n)
{
    return (n + AR_ALIGN - 1) / AR_ALIGN * AR_ALIGN;
}

int ar_km_centres_init(struct ar_km_centres *cs, const float *c, size_t k, size_t dim)
{
    memset(cs, 0, sizeof *cs);
    size_t cells;
    if (ar_mul_overflow(k, dim, &cells) || cells > SIZE_MAX / 8)
        return ar_err_set(AR_ERR_LIMIT, "k-means: %zu x %zu centres are too many", k, dim);
    size_t off_norm2 = align_up(cells * sizeof(float));
    size_t off_norm2_d = off_norm2 + align_up(k * sizeof(float));
    size_t off_shift = off_norm2_d + align_up(k * sizeof(double));
    size_t off_cs = off_shift + align_up(dim * sizeof(float));
    size_t off_norm2_s = off_cs + align_up(cells * sizeof(float));
    size_t total = off_norm2_s + k * sizeof(float);
    char *block = ar_alloc(total);
    if (!block)
        return AR_ERR_NOMEM;
    cs->k = k;
    cs->dim = dim;
    cs->c = c;
    cs->block = block;
    cs->ct = (float *)(void *)block;
    cs->norm2 = (float *)(void *)(block + off_norm2);
    cs->norm2_d = (double *)(void *)(block + off_norm2_d);
    cs->shift = (float *)(void *)(block + off_shift);
    cs->cs = (float *)(void *)(block + off_cs);
    cs->norm2_s = (float *)(void *)(block + off_norm2_s);
    /* The shift: mean of the centres (per coordinate, in centre order). */
    for (size_t t = 0; t < dim; t++) {
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += (double)c[j * dim + t];
        cs->shift[t] = (float)(s / (double)k);
    }
    int nt = ar_par_threads();
#pragma omp parallel num_threads(nt)
    {
        size_t lo, hi;
        ar_par_range(k, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        for (size_t j = lo; j < hi; j++) {
            const float *cj = c + j * dim;
            double s = 0;
            for (size_t t = 0; t < dim; t++) {
                s += (double)cj[t] * (double)cj[t];
                cs->ct[t * k + j] = cj[t];
            }
            cs->norm2_d[j] = s;
            cs->norm2[j] = (float)s;
            float *csj = cs->cs + j * dim;
            double ss = 0;
            for (size_t t = 0; t < dim; t++) {
                csj[t] = cj[t] - cs->shift[t];
                ss += (double)csj[t] * (double)csj[t];
            }
            cs->norm2_s[j] = (float)ss;
        }
    }
    double mx = 0, mxs = 0;
    for (size_t j = 0; j < k; j++) {
        mx = fmax(mx, cs->norm2_d[j]);
        mxs = fmax(mxs, (double)cs->norm2_s[j]);
    }
    cs->norm_max = sqrt(mx);
    cs->norm_max_s = sqrt(mxs) * (1.0 + 0x1p-20); /* norm2_s was rounded to float */
    return AR_OK;
}

void ar_km_centres_release(struct ar_km_centres *cs)
{
    ar_free(cs->block);
    memset(cs, 0, sizeof *cs);
}

static double dense_dist2(const float *restrict x, const float *restrict c, size_t dim)
{
    double s0 = 0, s1 = 0;
    size_t t = 0;
    for (; t + 1 < dim; t += 2) {
        double a = (double)x[t] - (double)c[t];
        double b = (double)x[t + 1] - (double)c[t + 1];
        s0 += a * a;
        s1 += b * b;
    }
    if (t < dim) {
        double a = (double)x[t] - (double)c[t];
        s0 += a * a;
    }
    return s0 + s1;
}

static double sparse_dot(const struct ar_csr *m, size_t i, const float *c)
{
    double s = 0;
    for (uint64_t p = m->indptr[i]; p < m->indptr[i + 1]; p++)
        s += (double)m->values[p] * (double)c[m->indices[p]];
    return s;
}

static double row_norm2(const struct ar_batch *x, size_t i)
{
    double s = 0;
    if (x->is_sparse) {
        for (uint64_t p = x->csr.indptr[i]; p < x->csr.indptr[i + 1]; p++)
            s += (double)x->csr.values[p] * (double)x->csr.values[p];
    } else {
        const float *r = ar_mat_row(&x->dense, i);
        for (size_t t = 0; t < x->n_cols; t++)
            s += (double)r[t] * (double)r[t];
    }
    return s;
}

double ar_km_row_dist2(const struct ar_batch *x, size_t i, const float *c, size_t dim)
{
    if (!x->is_sparse)
        return dense_dist2(ar_mat_row(&x->dense, i), c, dim);
    double cn = 0;
    for (size_t t = 0; t < dim; t++)
        cn += (double)c[t] * (double)c[t];
    double d = row_norm2(x, i) - 2 * sparse_dot(&x->csr, i, c) + cn;
    return d > 0 ? d : 0;
}

/* Exact squared distance of row i to centre j, with ||x||^2 already known (sparse rows). */
static double exact_dist2(const struct ar_km_centres *cs, const struct ar_batch *x, size_t i,
                          size_t j, double xn2)
{
    const float *c = cs->c + j * cs->dim;
    if (!x->is_sparse)
        return dense_dist2(ar_mat_row(&x->dense, i), c, cs->dim);
    double d = xn2 - 2 * sparse_dot(&x->csr, i, c) + cs->norm2_d[j];
    return d > 0 ? d : 0;
}

/* clang 14 does not vectorise these min reductions and warns that it could not; gcc does. */
#if defined(__clang__)
#define GCC_SIMD(text)
#else
#define GCC_SIMD(text) _Pragma(text)
#endif

/* For one row of the dot-product block: gi[j] becomes ||c_j||^2 - 2 x.c_j; returns the first
 * index of the minimum, with the minimum in *best and the second-smallest value (the minimum
 * again when it occurs twice) in *second. Two vectorisable passes; AVX2 clone when the CPU has
 * it. */
__attribute__((target_clones("avx2", "default"))) static size_t
block_argmin(float *restrict gi, const float *restrict n2, size_t nb, float *best, float *second)
{
    float bv = INFINITY;
    GCC_SIMD("omp simd reduction(min : bv)")
    for (size_t j = 0; j < nb; j++) {
        float v = n2[j] - 2.0f * gi[j];
        gi[j] = v;
        bv = v < bv ? v : bv;
    }
    float sv = INFINITY;
    size_t bj = nb;
    unsigned count = 0;
    GCC_SIMD("omp simd reduction(min : sv, bj) reduction(+ : count)")
    for (size_t j = 0; j < nb; j++) {
        float v = gi[j];
        bool eq = v == bv;
        sv = (!eq && v < sv) ? v : sv;
        bj = (eq && j < bj) ? j : bj;
        count += eq;
    }
    *best = bv;
    *second = count > 1 ? bv : sv;
    return bj < nb ? bj : 0; /* nb: no finite value (rows with NaN are refused earlier) */
}

/* Relative error scale of the float expansion; see the file comment. The dot product of
 * length d accumulates about sqrt(d) roundings in practice (d in the worst case); the factor
 * 8 is a safety margin, and a wrong guess only costs a double re-scan of the row. */
static double float_tau(size_t dim)
{
    return 8.0 * (1.0 + sqrt((double)dim)) * 0x1p-24;
}

int ar_km_assign(const struct ar_km_centres *cs, const struct ar_batch *x, uint32_t *assign,
                 double *dist2)
{
    size_t n = x->n_rows, k = cs->k, dim = cs->dim;
    AR_ASSERT(k > 0 && k <= UINT32_MAX);
    if (x->is_sparse ? x->n_cols > dim : x->n_cols != dim)
        return ar_err_set(AR_ERR_INVALID, "k-means: rows have %zu features, the centres %zu",
                          x->n_cols, dim);
    if (n == 0)
        return AR_OK;
    int nt = ar_par_threads();
    size_t kb = k < CENTRE_BLOCK ? k : CENTRE_BLOCK;
    size_t rb = (size_t)nt * BLOCK_FLOATS_PER_THREAD / kb;
    if (rb < MIN_ROW_BLOCK)
        rb = MIN_ROW_BLOCK;
    if (rb > n)
        rb = n;
    size_t off_best = align_up(rb * kb * sizeof(float));
    size_t off_second = off_best + align_up(rb * sizeof(float));
    size_t off_j = off_second + align_up(rb * sizeof(float));
    size_t off_xn = off_j + align_up(rb * sizeof(uint32_t));
    size_t off_bad = off_xn + align_up(rb * sizeof(double));
    size_t off_xs = off_bad + (size_t)nt * AR_ALIGN;
    const bool dense = !x->is_sparse;
    char *block = ar_alloc(off_xs + (dense ? rb * dim * sizeof(float) : 0));
    if (!block)
        return AR_ERR_NOMEM;
    float *g = (float *)(void *)block;
    float *best_v = (float *)(void *)(block + off_best);
    float *second_v = (float *)(void *)(block + off_second);
    uint32_t *best_j = (uint32_t *)(void *)(block + off_j);
    double *xn2 = (double *)(void *)(block + off_xn);
    size_t *bad = (size_t *)(void *)(block + off_bad); /* per thread, padded to 64 bytes */
    float *xs = dense ? (float *)(void *)(block + off_xs) : NULL; /* rows - shift (dense) */
    double *xn2s = xn2; /* dense: ||x - shift||^2 replaces ||x||^2 once the row is checked */
    const size_t bad_stride = AR_ALIGN / sizeof(size_t);
    const double tau = float_tau(dim);
    int rc = AR_OK;

    for (size_t r0 = 0; r0 < n; r0 += rb) {
        size_t m = n - r0 < rb ? n - r0 : rb;
        struct ar_batch xb = ar_batch_rows(x, r0, r0 + m);
        for (int t = 0; t < nt; t++)
            bad[(size_t)t * bad_stride] = SIZE_MAX;
            /* Row norms; a non-finite norm means a NaN or infinite value in the row. */
#pragma omp parallel num_threads(nt)
        {
            int tid = ar_par_tid();
            size_t lo, hi;
            ar_par_range(m, tid, ar_par_region_size(), &lo, &hi);
            size_t first_bad = SIZE_MAX;
            for (size_t i = lo; i < hi; i++) {
                xn2[i] = row_norm2(&xb, i);
                best_v[i] = INFINITY;
                second_v[i] = INFINITY;
                best_j[i] = 0;
                if (!isfinite(xn2[i]) && first_bad == SIZE_MAX)
                    first_bad = i;
                if (dense) {
                    const float *restrict r = ar_mat_row(&xb.dense, i);
                    float *restrict o = xs + i * dim;
                    double s = 0;
                    for (size_t t = 0; t < dim; t++) {
                        o[t] = r[t] - cs->shift[t];
                        s += (double)o[t] * (double)o[t];
                    }
                    xn2s[i] = s;
                }
            }
            bad[(size_t)tid * bad_stride] = first_bad;
        }
        for (int t = 0; t < nt; t++) {
            size_t b = bad[(size_t)t * bad_stride];
            if (b != SIZE_MAX) {
                rc = ar_err_set(AR_ERR_INVALID,
                                "k-means: row %zu has a missing (NaN) or infinite value", r0 + b);
                goto done;
            }
        }
        for (size_t j0 = 0; j0 < k; j0 += kb) {
            size_t nb = k - j0 < kb ? k - j0 : kb;
            if (dense)
                ar_blas_sgemm(false, true, m, nb, dim, 1.0f, xs, dim, cs->cs + j0 * dim, dim, 0.0f,
                              g, nb);
#pragma omp parallel num_threads(nt)
            {
                size_t lo, hi;
                ar_par_range(m, ar_par_tid(), ar_par_region_size(), &lo, &hi);
                const float *restrict n2 = (dense ? cs->norm2_s : cs->norm2) + j0;
                for (size_t i = lo; i < hi; i++) {
                    float *restrict gi = g + i * nb;
                    if (xb.is_sparse) {
                        memset(gi, 0, nb * sizeof *gi);
                        const struct ar_csr *s = &xb.csr;
                        for (uint64_t p = s->indptr[i]; p < s->indptr[i + 1]; p++) {
                            const float v = s->values[p];
                            const float *restrict ct = cs->ct + (size_t)s->indices[p] * k + j0;
                            for (size_t jj = 0; jj < nb; jj++)
                                gi[jj] += v * ct[jj];
                        }
                    }
                    float bv, sv;
                    size_t bj = block_argmin(gi, n2, nb, &bv, &sv);
                    if (bv < best_v[i]) {
                        second_v[i] = best_v[i] < sv ? best_v[i] : sv;
                        best_v[i] = bv;
                        best_j[i] = (uint32_t)(j0 + bj);
                    } else if (bv < second_v[i]) {
                        second_v[i] = bv;
                    }
                }
            }
        }
        /* Winners: certain ones keep the float choice; near-ties are re-scanned in double. */
#pragma omp parallel num_threads(nt)
        {
            size_t lo, hi;
            ar_par_range(m, ar_par_tid(), ar_par_region_size(), &lo, &hi);
            for (size_t i = lo; i < hi; i++) {
                double xn = sqrt(xn2[i]) + (dense ? cs->norm_max_s : cs->norm_max);
                double margin = 2.0 * tau * xn * xn;
                size_t w = best_j[i];
                double d;
                if ((double)second_v[i] - (double)best_v[i] > margin) {
                    d = dist2 ? exact_dist2(cs, &xb, i, w, xn2[i]) : 0;
                } else {
                    d = HUGE_VAL;
                    for (size_t j = 0; j < k; j++) {
                        double dj = exact_dist2(cs, &xb, i, j, xn2[i]);
                        if (dj < d) {
                            d = dj;
                            w = j;
                        }
                    }
                }
                assign[r0 + i] = (uint32_t)w;
                if (dist2)
                    dist2[r0 + i] = d;
            }
        }
    }
done:
    ar_free(block);
    return rc;
}
