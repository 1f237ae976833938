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

static int use_fused = 1;

int ar_km_kernel_fused(int on)
{
    int before = use_fused;
    use_fused = on;
    return before;
}

static bool fused_available(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return use_fused && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

/* Width of the padded centre range: full panels, then the rest rounded up to lanes. */
static size_t panel_cols(size_t k)
{
    return (k + AR_KM_LANES - 1) / AR_KM_LANES * AR_KM_LANES;
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
    const bool fused = fused_available();
    size_t kp = panel_cols(k);
    size_t off_panels = off_norm2_s + align_up(k * sizeof(float));
    size_t off_panel_n2 = off_panels + (fused ? align_up(kp * dim * sizeof(float)) : 0);
    size_t total = off_panel_n2 + (fused ? kp * sizeof(float) : 0);
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
    cs->panels = fused ? (float *)(void *)(block + off_panels) : NULL;
    cs->panel_n2 = fused ? (float *)(void *)(block + off_panel_n2) : NULL;
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
    if (fused) {
        /* Centre j0 + jj of the panel starting at j0 (width w) is column jj of a dim x w
         * block; padding columns are zero with norm +inf, so they never win. */
        for (size_t j0 = 0; j0 < kp; j0 += AR_KM_PANEL) {
            size_t w = kp - j0 < AR_KM_PANEL ? kp - j0 : AR_KM_PANEL;
            float *pan = cs->panels + j0 * dim;
            for (size_t jj = 0; jj < w; jj++) {
                size_t j = j0 + jj;
                for (size_t t = 0; t < dim; t++)
                    pan[t * w + jj] = j < k ? cs->cs[j * dim + t] : 0.0f;
                cs->panel_n2[j] = j < k ? cs->norm2_s[j] : INFINITY;
            }
        }
    }
    return AR_OK;
}

void ar_km_centres_release(struct ar_km_centres *cs)
{
    ar_free(cs->block);
    memset(cs, 0, sizeof *cs);
}

/* Squared distance in double; vectorised (partial sums per lane, so the last bits depend on
 * the instruction set chosen at run time, never on the thread count). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static double
dense_dist2(const float *restrict x, const float *restrict c, size_t dim)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t t = 0; t < dim; t++) {
        double a = (double)x[t] - (double)c[t];
        s += a * a;
    }
    return s;
}

/* One dense row: o = x - shift in float; returns ||x||^2 (non-finite when x has a NaN or an
 * infinity) and stores ||o||^2 in *shifted, both in double. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static double
shift_row(const float *restrict x, const float *restrict shift, size_t dim, float *restrict o,
          double *shifted)
{
    double s = 0, ss = 0;
#pragma omp simd reduction(+ : s, ss)
    for (size_t t = 0; t < dim; t++) {
        float v = x[t] - shift[t];
        o[t] = v;
        s += (double)x[t] * (double)x[t];
        ss += (double)v * (double)v;
    }
    *shifted = ss;
    return s;
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define FUSED_ROWS 6 /* rows per micro-tile: 6 x 4 accumulators + 4 centre vectors in zmm */

/* One panel of J x 16 centres for FUSED_ROWS rows: the dot products accumulate in registers
 * over the dim coordinates, then v = ||c||^2 - 2 x.c updates each row's per-lane best,
 * second-best and best index (m1, m2, ix). */
__attribute__((target("avx512f"), always_inline)) static inline void
fused_panel(const float *const *xr, const float *restrict pan, size_t dim, const float *restrict n2,
            uint32_t j0, int J, __m512 *m1, __m512 *m2, __m512i *ix)
{
    __m512 acc[FUSED_ROWS][4];
#pragma GCC unroll 6
    for (int r = 0; r < FUSED_ROWS; r++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            acc[r][q] = _mm512_setzero_ps();
    const size_t w = (size_t)J * AR_KM_LANES;
    for (size_t t = 0; t < dim; t++) {
        __m512 c[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            if (q < J)
                c[q] = _mm512_loadu_ps(pan + t * w + (size_t)q * AR_KM_LANES);
#pragma GCC unroll 6
        for (int r = 0; r < FUSED_ROWS; r++) {
            __m512 xb = _mm512_set1_ps(xr[r][t]);
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                if (q < J)
                    acc[r][q] = _mm512_fmadd_ps(xb, c[q], acc[r][q]);
        }
    }
    const __m512 two = _mm512_set1_ps(2.0f);
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        if (q >= J)
            continue;
        __m512 nv = _mm512_loadu_ps(n2 + (size_t)q * AR_KM_LANES);
        __m512i jv = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(j0 + (uint32_t)q * 16)));
#pragma GCC unroll 6
        for (int r = 0; r < FUSED_ROWS; r++) {
            __m512 v = _mm512_fnmadd_ps(two, acc[r][q], nv);
            __mmask16 lt = _mm512_cmp_ps_mask(v, m1[r], _CMP_LT_OQ);
            m2[r] = _mm512_min_ps(m2[r], _mm512_max_ps(v, m1[r]));
            m1[r] = _mm512_mask_mov_ps(m1[r], lt, v);
            ix[r] = _mm512_mask_mov_epi32(ix[r], lt, jv);
        }
    }
}

/* Best centre, best value and second-best value of rows [lo, hi) of xs (shifted rows, dim
 * floats each) against every panel. Rows are taken FUSED_ROWS at a time (the last tile
 * repeats its last row; only real rows are stored). */
__attribute__((target("avx512f"))) static void fused_assign(const struct ar_km_centres *cs,
                                                            const float *xs, size_t lo, size_t hi,
                                                            float *best_v, float *second_v,
                                                            uint32_t *best_j)
{
    const size_t dim = cs->dim, kp = panel_cols(cs->k);
    for (size_t i0 = lo; i0 < hi; i0 += FUSED_ROWS) {
        const float *xr[FUSED_ROWS];
        __m512 m1[FUSED_ROWS], m2[FUSED_ROWS];
        __m512i ix[FUSED_ROWS];
        for (int r = 0; r < FUSED_ROWS; r++) {
            size_t i = i0 + (size_t)r < hi ? i0 + (size_t)r : hi - 1;
            xr[r] = xs + i * dim;
            m1[r] = _mm512_set1_ps(INFINITY);
            m2[r] = m1[r];
            ix[r] = _mm512_setzero_si512();
        }
        for (size_t j0 = 0; j0 < kp; j0 += AR_KM_PANEL) {
            size_t w = kp - j0 < AR_KM_PANEL ? kp - j0 : AR_KM_PANEL;
            const float *pan = cs->panels + j0 * dim;
            const float *n2 = cs->panel_n2 + j0;
            switch (w / AR_KM_LANES) {
            case 4:
                fused_panel(xr, pan, dim, n2, (uint32_t)j0, 4, m1, m2, ix);
                break;
            case 3:
                fused_panel(xr, pan, dim, n2, (uint32_t)j0, 3, m1, m2, ix);
                break;
            case 2:
                fused_panel(xr, pan, dim, n2, (uint32_t)j0, 2, m1, m2, ix);
                break;
            default:
                fused_panel(xr, pan, dim, n2, (uint32_t)j0, 1, m1, m2, ix);
                break;
            }
        }
        for (int r = 0; r < FUSED_ROWS && i0 + (size_t)r < hi; r++) {
            float b = _mm512_reduce_min_ps(m1[r]);
            __mmask16 eq = _mm512_cmp_ps_mask(m1[r], _mm512_set1_ps(b), _CMP_EQ_OQ);
            /* The second-best value: the best again when two lanes share it, else the
             * smaller of the other lanes' bests and every lane's second-best. */
            float s = _mm512_reduce_min_ps(m2[r]);
            float o = _mm512_mask_reduce_min_ps((__mmask16)~eq, m1[r]);
            if (__builtin_popcount((unsigned)eq) > 1)
                o = b;
            size_t i = i0 + (size_t)r;
            best_v[i] = b;
            second_v[i] = o < s ? o : s;
            best_j[i] = eq ? (uint32_t)_mm512_mask_reduce_min_epi32(eq, ix[r]) : 0;
        }
    }
}
#endif

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
    double *xn2s = xn2;                                           /* dense rows: ||x - shift||^2 */
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
                /* dense: ||x - shift||^2 replaces ||x||^2 once the row is checked */
                double raw = dense ? shift_row(ar_mat_row(&xb.dense, i), cs->shift, dim,
                                               xs + i * dim, &xn2s[i])
                                   : (xn2[i] = row_norm2(&xb, i));
                best_v[i] = INFINITY;
                second_v[i] = INFINITY;
                best_j[i] = 0;
                if (!isfinite(raw) && first_bad == SIZE_MAX)
                    first_bad = i;
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
#if defined(__x86_64__) && defined(__GNUC__)
        if (dense && cs->panels) {
#pragma omp parallel num_threads(nt)
            {
                size_t lo, hi;
                ar_par_range(m, ar_par_tid(), ar_par_region_size(), &lo, &hi);
                if (lo < hi)
                    fused_assign(cs, xs, lo, hi, best_v, second_v, best_j);
            }
        }
#endif
        for (size_t j0 = 0; j0 < k && !(dense && cs->panels); j0 += kb) {
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
