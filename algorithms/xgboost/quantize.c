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

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

struct wq_entry {
    float rmin, rmax, wmin, value;
};

struct vw {
    uint32_t key; /* order-preserving encoding of the float value */
    float w;
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

/* LSD radix sort of n pairs by key (11-bit digits, 3 passes), using tmp of n pairs. The result
 * ends in a (three passes: a -> tmp -> a -> tmp, then copied back). */
static void radix_sort(struct vw *a, struct vw *tmp, size_t n)
{
    size_t count[2048];
    struct vw *src = a, *dst = tmp;
    for (int pass = 0; pass < 3; pass++) {
        int shift = pass * 11;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 2047u]++;
        size_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 2047u]++] = src[i];
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
static size_t column_cuts(struct vw *pairs, size_t n, int max_bin, struct wq_entry *sum,
                          float *cut_out, float *min_val)
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
        float w = pairs[i].w;
        while (j < n && pairs[j].key == pairs[i].key)
            w += pairs[j++].w;
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

int ar_gbt_cuts_build(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                      struct ar_gbt_cuts *out)
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
        if (weights) {
            entry_row = ar_allocn(nnz ? nnz : 1, sizeof *entry_row);
            if (!entry_row)
                goto fail;
            for (size_t i = 0; i < nr; i++)
                for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++)
                    entry_row[k - c->indptr[0]] = (uint32_t)i;
        }
    }

    size_t per = nr ? nr : 1;
    pairs = ar_allocn((size_t)nt * 2 * per, sizeof *pairs);
    sums = ar_allocn((size_t)nt * 2 * per, sizeof *sums);
    if (!pairs || !sums)
        goto fail;

#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid(), nth = ar_par_region_size();
        size_t f0, f1;
        ar_par_range(nf, tid, nth, &f0, &f1);
        struct vw *pv = pairs + (size_t)tid * 2 * per, *tmp = pv + per;
        struct wq_entry *sv = sums + (size_t)tid * 2 * per;
        for (size_t f = f0; f < f1; f++) {
            size_t n = 0;
            if (!data->is_sparse) {
                const struct ar_mat *m = &data->dense;
                for (size_t i = 0; i < nr; i++) {
                    float v = m->data[i * m->stride + f];
                    if (!isnan(v)) {
                        pv[n].key = float_key(v == 0.0f ? 0.0f : v);
                        pv[n].w = weights ? weights[i] : 1.0f;
                        n++;
                    }
                }
            } else {
                const struct ar_csr *c = &data->csr;
                for (uint32_t k = col_ptr[f]; k < col_ptr[f + 1]; k++) {
                    uint64_t e = c->indptr[0] + col_rows[k];
                    float v = c->values[e];
                    if (!isnan(v)) {
                        pv[n].key = float_key(v == 0.0f ? 0.0f : v);
                        pv[n].w = weights ? weights[entry_row[col_rows[k]]] : 1.0f;
                        n++;
                    }
                }
            }
            out->has_missing[f] = n < nr;
            radix_sort(pv, tmp, n);
            n_cuts[f] = (uint32_t)column_cuts(pv, n, max_bin, sv, cut_tmp + f * (size_t)max_bin,
                                              &out->min_vals[f]);
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
    uint32_t max_code = 0;
    out->hist_off[0] = 0;
    for (size_t f = 0; f < nf; f++) {
        uint32_t nb = cuts->ptr[f + 1] - cuts->ptr[f];
        uint32_t top = nb - 1 + (cuts->has_missing[f] ? 1u : 0u);
        if (top > max_code)
            max_code = top;
        out->hist_off[f + 1] = out->hist_off[f] + nb + 1;
    }
    out->width = max_code <= 255 ? 1 : 2;
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
