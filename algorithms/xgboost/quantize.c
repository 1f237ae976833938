/* Quantile cuts per feature as XGBoost 1.7's hist sketch makes them, and the compact bin matrix.
 *
 * Each column's non-missing values are sorted with their weights into an exact weighted
 * quantile summary (WQSummary entries rmin, rmax, wmin, value with float ranks, as XGBoost's
 * MakeSummary builds them), pruned to max_bin * 8 entries and then to max_bin + 1 entries with
 * WQSummary::SetPrune, and turned into cut values as HistogramCuts::AddCutPoint does: the first
 * entry is the minimum (only used for the min_vals split point), entries 1 .. max_bin - 1 are
 * cuts, and the last cut is max + |max| + 1e-5. For columns small enough for XGBoost's sketch to
 * be exact (about 4000 values at max_bin 256) the cuts are the same; larger columns differ only
 * in which near-equal quantiles are chosen.
 */
#include <math.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

struct wq_entry {
    float rmin, rmax, wmin, value;
};

struct vw {
    uint32_t key; /* order-preserving encoding of the float value */
    uint32_t row; /* the value's row (for its weight and its bin code) */
};

static inline uint32_t float_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* LSD radix sort of n pairs by key (11-bit digits, 3 passes; the counts of all three digits
 * come from one sweep, and a digit every key shares is skipped), using tmp of n pairs. Stable;
 * the result ends in a. */
static void radix_sort(struct vw *a, struct vw *tmp, size_t n)
{
    static const int shifts[3] = {0, 11, 22};
    size_t count[3][2048];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        const uint32_t k = a[i].key;
        count[0][k & 2047u]++;
        count[1][(k >> 11) & 2047u]++;
        count[2][(k >> 22) & 2047u]++;
    }
    struct vw *src = a, *dst = tmp;
    for (int pass = 0; pass < 3; pass++) {
        const int shift = shifts[pass];
        size_t *cnt = count[pass];
        if (n == 0 || cnt[(src[0].key >> shift) & 2047u] == n)
            continue;
        size_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i].key >> shift) & 2047u]++] = src[i];
        struct vw *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* WQSummary::SetPrune with float ranks. dst has room for maxsize entries. */
static size_t set_prune(const struct wq_entry *src, size_t n, size_t maxsize, struct wq_entry *dst)
{
    if (n <= maxsize) {
        memmove(dst, src, n * sizeof *src);
        return n;
    }
    const float begin = src[0].rmax;
    const float range = src[n - 1].rmin - src[0].rmax;
    const size_t nn = maxsize - 1;
    size_t size = 0;
    dst[size++] = src[0];
    size_t i = 1, lastidx = 0;
    for (size_t k = 1; k < nn; ++k) {
        float dx2 = 2.0f * (((float)k * range) / (float)nn + begin);
        while (i < n - 1 && dx2 >= src[i + 1].rmax + src[i + 1].rmin)
            ++i;
        if (i == n - 1)
            break;
        if (dx2 < (src[i].rmin + src[i].wmin) + (src[i + 1].rmax - src[i + 1].wmin)) {
            if (i != lastidx) {
                dst[size++] = src[i];
                lastidx = i;
            }
        } else if (i + 1 != lastidx) {
            dst[size++] = src[i + 1];
            lastidx = i + 1;
        }
    }
    if (lastidx != n - 1)
        dst[size++] = src[n - 1];
    return size;
}

/* Cuts of one column from its sorted (value, weight) pairs. Writes at most max_bin cuts into
 * cut_out; returns their count and sets *min_val. `sum` (2 * n entries) is scratch. */
static size_t column_cuts(struct vw *pairs, size_t n, int max_bin, const float *weights,
                          struct wq_entry *sum, float *cut_out, float *min_val)
{
    if (n == 0) {
        *min_val = 1e-5f;
        cut_out[0] = *min_val + (fabsf(*min_val) + 1e-5f);
        return 1;
    }
    /* exact summary: one entry per distinct value */
    size_t m = 0;
    float wsum = 0.0f;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        float w = weights ? weights[pairs[i].row] : 1.0f;
        while (j < n && pairs[j].key == pairs[i].key) {
            w += weights ? weights[pairs[j].row] : 1.0f;
            j++;
        }
        sum[m].rmin = wsum;
        sum[m].rmax = wsum + w;
        sum[m].wmin = w;
        sum[m].value = key_float(pairs[i].key);
        m++;
        wsum += w;
        i = j;
    }
    size_t intermediate = (size_t)max_bin * 8;
    if (n < intermediate)
        intermediate = n;
    struct wq_entry *red = sum + n;
    size_t r = set_prune(sum, m, intermediate, red);
    size_t max_num_bins = intermediate < (size_t)max_bin ? intermediate : (size_t)max_bin;
    size_t a = set_prune(red, r, max_num_bins + 1, sum);
    float mval = sum[0].value;
    *min_val = mval - fabsf(mval) - 1e-5f;
    size_t required = a < max_num_bins ? a : max_num_bins;
    size_t nc = 0;
    for (size_t i = 1; i < required; ++i) {
        float cpt = sum[i].value;
        if (i == 1 || cpt > cut_out[nc - 1])
            cut_out[nc++] = cpt;
    }
    float cpt = sum[a - 1].value;
    cut_out[nc++] = cpt + (fabsf(cpt) + 1e-5f);
    return nc;
}

void ar_gbt_cuts_release(struct ar_gbt_cuts *c)
{
    ar_free(c->ptr);
    ar_free(c->values);
    ar_free(c->min_vals);
    ar_free(c->has_missing);
    memset(c, 0, sizeof *c);
}

/* upper_bound over vals[0..n) (first index with vals[idx] > v), clamped to n - 1, without
 * data-dependent branches: the candidate range [base, base + len] halves each step by a
 * conditional move. v is not NaN. */
static inline uint32_t cut_search(const float *vals, uint32_t n, float v)
{
    const float *base = vals;
    uint32_t len = n;
    while (len > 1) {
        uint32_t half = len / 2;
        base = base[half] <= v ? base + half : base;
        len -= half;
    }
    uint32_t idx = (uint32_t)(base - vals) + (n > 0 && base[0] <= v);
    return idx == n ? n - 1 : idx;
}

uint32_t ar_gbt_cuts_search(const struct ar_gbt_cuts *c, size_t f, float v)
{
    return cut_search(c->values + c->ptr[f], c->ptr[f + 1] - c->ptr[f], v);
}

/* Asks for transparent huge pages over the 2 MiB-aligned interior of a large array before it
 * is first touched: the histogram kernel reads code rows of scattered rows, and with 4 KiB
 * pages most of those reads also miss the TLB. Advice only; failure changes nothing. */
void ar_gbt_advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1),
              hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* Dense columns gathered per sweep over the rows (a row's values share cache lines). */
#define COL_GROUP 4

/* Column f's codes from its sorted pairs (cuts vals[0..nb)): a merge walk instead of a search
 * per value. Rows without a value (NaN) get the missing code nb. */
static void column_codes(const struct vw *pairs, size_t n, size_t n_rows, const float *vals,
                         uint32_t nb, uint8_t *col)
{
    if (n < n_rows)
        memset(col, (int)nb, n_rows);
    uint32_t j = 0;
    for (size_t i = 0; i < n; i++) {
        const float v = key_float(pairs[i].key);
        while (j < nb && vals[j] <= v)
            j++;
        col[pairs[i].row] = (uint8_t)(j == nb ? nb - 1 : j);
    }
}

/* The cuts; with col8 (dense data only), also every feature's uint8 codes column-major
 * (col8[f * n_rows + row]) where they fit: bin_ok[f] says whether they did. */
static int cuts_build(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                      struct ar_gbt_cuts *out, uint8_t *col8, uint8_t *bin_ok)
{
    memset(out, 0, sizeof *out);
    const size_t nf = data->n_cols, nr = data->n_rows;
    const int nt = n_threads > 0 ? n_threads : 1;
    uint32_t *col_ptr = NULL, *col_rows = NULL, *entry_row = NULL;
    struct vw *pairs = NULL;
    struct wq_entry *sums = NULL;
    float *cut_tmp = NULL;
    uint32_t *n_cuts = NULL;
    int rc = AR_ERR_NOMEM;

    out->n_features = nf;
    out->ptr = ar_callocn(nf + 1, sizeof *out->ptr);
    out->min_vals = ar_callocn(nf ? nf : 1, sizeof *out->min_vals);
    out->has_missing = ar_callocn(nf ? nf : 1, 1);
    cut_tmp = ar_allocn((nf ? nf : 1) * (size_t)max_bin, sizeof *cut_tmp);
    n_cuts = ar_callocn(nf ? nf : 1, sizeof *n_cuts);
    if (!out->ptr || !out->min_vals || !out->has_missing || !cut_tmp || !n_cuts)
        goto fail;

    /* CSR: column lists (row indices, ascending) so each feature is gathered in one sweep. */
    if (data->is_sparse) {
        const struct ar_csr *c = &data->csr;
        size_t nnz = ar_csr_nnz(c);
        col_ptr = ar_callocn(nf + 1, sizeof *col_ptr);
        col_rows = ar_allocn(nnz ? nnz : 1, sizeof *col_rows);
        if (!col_ptr || !col_rows)
            goto fail;
        if (nnz > 0xffffffffu) {
            rc =
                ar_err_set(AR_ERR_LIMIT, "sparse training data with %zu entries is too large", nnz);
            goto fail;
        }
        for (size_t i = 0; i < nr; i++)
            for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++)
                col_ptr[c->indices[k] + 1]++;
        for (size_t f = 0; f < nf; f++)
            col_ptr[f + 1] += col_ptr[f];
        uint32_t *fill = ar_allocn(nf ? nf : 1, sizeof *fill);
        if (!fill)
            goto fail;
        memcpy(fill, col_ptr, nf * sizeof *fill);
        for (size_t i = 0; i < nr; i++)
            for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++)
                col_rows[fill[c->indices[k]]++] = (uint32_t)(k - c->indptr[0]);
        ar_free(fill);
        entry_row = ar_allocn(nnz ? nnz : 1, sizeof *entry_row);
        if (!entry_row)
            goto fail;
        for (size_t i = 0; i < nr; i++)
            for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++)
                entry_row[k - c->indptr[0]] = (uint32_t)i;
    }

    /* per thread: COL_GROUP gathered columns, radix scratch, and the summary (one entry per
     * distinct value plus the first pruning's max_bin * 8) */
    const size_t per = nr ? nr : 1, n_group = data->is_sparse ? 1 : COL_GROUP;
    const size_t per_pairs = (n_group + 1) * per, per_sums = per + (size_t)max_bin * 8 + 1;
    pairs = ar_allocn((size_t)nt * per_pairs, sizeof *pairs);
    sums = ar_allocn((size_t)nt * per_sums, sizeof *sums);
    if (!pairs || !sums)
        goto fail;
    ar_gbt_advise_huge(pairs, (size_t)nt * per_pairs * sizeof *pairs);
    ar_gbt_advise_huge(sums, (size_t)nt * per_sums * sizeof *sums);

#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid(), nth = ar_par_region_size();
        size_t f0, f1;
        ar_par_range(nf, tid, nth, &f0, &f1);
        struct vw *pv = pairs + (size_t)tid * per_pairs, *tmp = pv + n_group * per;
        struct wq_entry *sv = sums + (size_t)tid * per_sums;
        size_t cnt[COL_GROUP];
        for (size_t fg = f0; fg < f1; fg += n_group) {
            const size_t g = f1 - fg < n_group ? f1 - fg : n_group;
            /* gather columns fg .. fg + g in one sweep over the rows */
            memset(cnt, 0, sizeof cnt);
            if (!data->is_sparse) {
                const struct ar_mat *m = &data->dense;
                for (size_t i = 0; i < nr; i++) {
                    const float *row = m->data + i * m->stride + fg;
                    for (size_t k = 0; k < g; k++) {
                        float v = row[k];
                        if (!isnan(v)) {
                            struct vw *e = pv + k * per + cnt[k]++;
                            e->key = float_key(v == 0.0f ? 0.0f : v);
                            e->row = (uint32_t)i;
                        }
                    }
                }
            } else {
                const struct ar_csr *c = &data->csr;
                for (uint32_t k = col_ptr[fg]; k < col_ptr[fg + 1]; k++) {
                    uint64_t e = c->indptr[0] + col_rows[k];
                    float v = c->values[e];
                    if (!isnan(v)) {
                        pv[cnt[0]].key = float_key(v == 0.0f ? 0.0f : v);
                        pv[cnt[0]].row = entry_row[col_rows[k]];
                        cnt[0]++;
                    }
                }
            }
            for (size_t k = 0; k < g; k++) {
                const size_t f = fg + k, n = cnt[k];
                struct vw *col = pv + k * per;
                out->has_missing[f] = n < nr;
                radix_sort(col, tmp, n);
                float *cut = cut_tmp + f * (size_t)max_bin;
                n_cuts[f] =
                    (uint32_t)column_cuts(col, n, max_bin, weights, sv, cut, &out->min_vals[f]);
                if (col8) {
                    /* the largest code is n_cuts - 1, or n_cuts for missing values */
                    bin_ok[f] = n_cuts[f] - 1 + (n < nr ? 1u : 0u) <= 255;
                    if (bin_ok[f])
                        column_codes(col, n, nr, cut, n_cuts[f], col8 + f * nr);
                }
            }
        }
    }

    for (size_t f = 0; f < nf; f++)
        out->ptr[f + 1] = out->ptr[f] + n_cuts[f];
    out->values = ar_allocn(out->ptr[nf] ? out->ptr[nf] : 1, sizeof *out->values);
    if (!out->values)
        goto fail;
    for (size_t f = 0; f < nf; f++)
        memcpy(out->values + out->ptr[f], cut_tmp + f * (size_t)max_bin,
               n_cuts[f] * sizeof *out->values);
    rc = AR_OK;
fail:
    ar_free(col_ptr);
    ar_free(col_rows);
    ar_free(entry_row);
    ar_free(pairs);
    ar_free(sums);
    ar_free(cut_tmp);
    ar_free(n_cuts);
    if (rc != AR_OK)
        ar_gbt_cuts_release(out);
    return rc;
}

int ar_gbt_cuts_build(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                      struct ar_gbt_cuts *out)
{
    return cuts_build(data, weights, max_bin, n_threads, out, NULL, NULL);
}

void ar_gbt_binmat_release(struct ar_gbt_binmat *b)
{
    ar_free(b->codes);
    ar_free(b->col_codes);
    ar_free(b->hist_off);
    memset(b, 0, sizeof *b);
}

/* Rows binned together per feature: their searches advance in lockstep, so the dependent
 * loads of different rows overlap. */
#define BIN_BLOCK 16

/* Codes of feature f for dense rows [i0, i0 + n) (n <= BIN_BLOCK) into out. */
static void bin_dense_block(const struct ar_batch *data, const struct ar_gbt_cuts *cuts, size_t f,
                            size_t i0, size_t n, uint32_t *out)
{
    const float *vals = cuts->values + cuts->ptr[f];
    const uint32_t nb = cuts->ptr[f + 1] - cuts->ptr[f];
    const float *col = data->dense.data + i0 * data->dense.stride + f;
    const size_t stride = data->dense.stride;
    float v[BIN_BLOCK];
    uint32_t base[BIN_BLOCK];
    for (size_t j = 0; j < n; j++) {
        v[j] = col[j * stride];
        base[j] = 0;
    }
    /* the upper_bound of cut_search, n rows at a time (NaN rows give garbage, replaced) */
    uint32_t len = nb;
    while (len > 1) {
        const uint32_t half = len / 2;
        for (size_t j = 0; j < n; j++)
            base[j] = vals[base[j] + half] <= v[j] ? base[j] + half : base[j];
        len -= half;
    }
    for (size_t j = 0; j < n; j++) {
        uint32_t idx = base[j] + (nb > 0 && vals[base[j]] <= v[j]);
        idx = idx == nb ? nb - 1 : idx;
        out[j] = isnan(v[j]) ? nb : idx;
    }
}

/* Codes of CSR rows [i0, i0 + n) into the row-major codes (absent and NaN entries missing; a
 * repeated index keeps its last value). */
static void bin_sparse_rows(const struct ar_batch *data, const struct ar_gbt_cuts *cuts, size_t i0,
                            size_t n, struct ar_gbt_binmat *out)
{
    const struct ar_csr *c = &data->csr;
    const size_t nf = out->n_features;
    uint8_t *c8 = out->codes;
    uint16_t *c16 = out->codes;
    for (size_t i = i0; i < i0 + n; i++) {
        for (size_t f = 0; f < nf; f++) {
            uint32_t code = cuts->ptr[f + 1] - cuts->ptr[f];
            if (out->width == 1)
                c8[i * nf + f] = (uint8_t)code;
            else
                c16[i * nf + f] = (uint16_t)code;
        }
        for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++) {
            size_t f = c->indices[k];
            float v = c->values[k];
            if (f >= nf || isnan(v))
                continue;
            uint32_t code =
                cut_search(cuts->values + cuts->ptr[f], cuts->ptr[f + 1] - cuts->ptr[f], v);
            if (out->width == 1)
                c8[i * nf + f] = (uint8_t)code;
            else
                c16[i * nf + f] = (uint16_t)code;
        }
    }
}

/* hist_off and the code width of cuts into b (b->n_rows, b->n_features set). */
static void binmat_layout(const struct ar_gbt_cuts *cuts, struct ar_gbt_binmat *b)
{
    uint32_t max_code = 0;
    b->hist_off[0] = 0;
    for (size_t f = 0; f < b->n_features; f++) {
        uint32_t nb = cuts->ptr[f + 1] - cuts->ptr[f];
        uint32_t top = nb - 1 + (cuts->has_missing[f] ? 1u : 0u);
        if (top > max_code)
            max_code = top;
        b->hist_off[f + 1] = b->hist_off[f] + nb + 1;
    }
    b->width = max_code <= 255 ? 1 : 2;
}

int ar_gbt_binmat_build(const struct ar_batch *data, const struct ar_gbt_cuts *cuts, int n_threads,
                        struct ar_gbt_binmat *out)
{
    memset(out, 0, sizeof *out);
    const size_t nf = cuts->n_features, nr = data->n_rows;
    out->n_rows = nr;
    out->n_features = nf;
    out->hist_off = ar_allocn(nf + 1, sizeof *out->hist_off);
    if (!out->hist_off)
        return AR_ERR_NOMEM;
    binmat_layout(cuts, out);
    size_t cells;
    if (ar_mul_overflow(nr, nf, &cells)) {
        ar_gbt_binmat_release(out);
        return ar_err_set(AR_ERR_LIMIT, "bin matrix of %zu x %zu is too large", nr, nf);
    }
    out->codes = ar_allocn(cells ? cells : 1, (size_t)out->width);
    out->col_codes = ar_allocn(cells ? cells : 1, (size_t)out->width);
    if (!out->codes || !out->col_codes) {
        ar_gbt_binmat_release(out);
        return AR_ERR_NOMEM;
    }
    ar_gbt_advise_huge(out->codes, cells * (size_t)out->width);
    ar_gbt_advise_huge(out->col_codes, cells * (size_t)out->width);
    const int nt = n_threads > 0 ? n_threads : 1;
    const int width = out->width;
#pragma omp parallel num_threads(nt)
    {
        size_t r0, r1;
        ar_par_range(nr, ar_par_tid(), ar_par_region_size(), &r0, &r1);
        uint32_t blk[BIN_BLOCK];
        for (size_t i0 = r0; i0 < r1; i0 += BIN_BLOCK) {
            const size_t n = r1 - i0 < BIN_BLOCK ? r1 - i0 : BIN_BLOCK;
            if (data->is_sparse)
                bin_sparse_rows(data, cuts, i0, n, out);
            for (size_t f = 0; f < nf; f++) {
                if (width == 1) {
                    uint8_t *rm = (uint8_t *)out->codes + i0 * nf + f;
                    uint8_t *cm = (uint8_t *)out->col_codes + f * nr + i0;
                    if (!data->is_sparse) {
                        bin_dense_block(data, cuts, f, i0, n, blk);
                        for (size_t j = 0; j < n; j++)
                            rm[j * nf] = (uint8_t)blk[j];
                    }
                    for (size_t j = 0; j < n; j++)
                        cm[j] = rm[j * nf];
                } else {
                    uint16_t *rm = (uint16_t *)out->codes + i0 * nf + f;
                    uint16_t *cm = (uint16_t *)out->col_codes + f * nr + i0;
                    if (!data->is_sparse) {
                        bin_dense_block(data, cuts, f, i0, n, blk);
                        for (size_t j = 0; j < n; j++)
                            rm[j * nf] = (uint16_t)blk[j];
                    }
                    for (size_t j = 0; j < n; j++)
                        cm[j] = rm[j * nf];
                }
            }
        }
    }
    return AR_OK;
}

int ar_gbt_quantize(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                    struct ar_gbt_cuts *cuts, struct ar_gbt_binmat *out)
{
    memset(out, 0, sizeof *out);
    const size_t nf = data->n_cols, nr = data->n_rows;
    size_t cells;
    if (data->is_sparse || ar_mul_overflow(nr, nf, &cells) || cells == 0) {
        AR_TRY(ar_gbt_cuts_build(data, weights, max_bin, n_threads, cuts));
        int rc = ar_gbt_binmat_build(data, cuts, n_threads, out);
        if (rc != AR_OK)
            ar_gbt_cuts_release(cuts);
        return rc;
    }
    out->n_rows = nr;
    out->n_features = nf;
    out->width = 1;
    out->col_codes = ar_allocn(cells, 1);
    if (out->col_codes)
        ar_gbt_advise_huge(out->col_codes, cells);
    out->hist_off = ar_allocn(nf + 1, sizeof *out->hist_off);
    uint8_t *bin_ok = ar_allocn(nf, 1);
    if (!out->col_codes || !out->hist_off || !bin_ok) {
        ar_free(bin_ok);
        ar_gbt_binmat_release(out);
        return AR_ERR_NOMEM;
    }
    int rc = cuts_build(data, weights, max_bin, n_threads, cuts, out->col_codes, bin_ok);
    bool all_ok = true;
    for (size_t f = 0; f < nf; f++)
        all_ok = all_ok && bin_ok[f];
    ar_free(bin_ok);
    if (rc != AR_OK) {
        ar_gbt_binmat_release(out);
        return rc;
    }
    binmat_layout(cuts, out);
    if (!all_ok || out->width != 1) { /* some feature needs 16-bit codes: bin by search */
        ar_gbt_binmat_release(out);
        rc = ar_gbt_binmat_build(data, cuts, n_threads, out);
        if (rc != AR_OK)
            ar_gbt_cuts_release(cuts);
        return rc;
    }
    out->codes = ar_allocn(cells, 1);
    if (out->codes)
        ar_gbt_advise_huge(out->codes, cells);
    if (!out->codes) {
        ar_gbt_binmat_release(out);
        ar_gbt_cuts_release(cuts);
        return AR_ERR_NOMEM;
    }
    /* row-major from column-major, 64 rows at a time */
    const int nt = n_threads > 0 ? n_threads : 1;
    const uint8_t *col = out->col_codes;
    uint8_t *row = out->codes;
#pragma omp parallel num_threads(nt)
    {
        size_t r0, r1;
        ar_par_range(nr, ar_par_tid(), ar_par_region_size(), &r0, &r1);
        for (size_t i0 = r0; i0 < r1; i0 += 64) {
            const size_t i1 = i0 + 64 < r1 ? i0 + 64 : r1;
            for (size_t f = 0; f < nf; f++)
                for (size_t i = i0; i < i1; i++)
                    row[i * nf + f] = col[f * nr + i];
        }
    }
    return AR_OK;
}
