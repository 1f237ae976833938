/* Dense and CSR matrices: allocation, views, row slices, conversion. */
#include "core/mat.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"

int ar_mat_alloc(struct ar_mat *m, size_t n_rows, size_t n_cols)
{
    memset(m, 0, sizeof *m);
    size_t n;
    if (ar_mul_overflow(n_rows, n_cols, &n))
        return ar_err_set(AR_ERR_NOMEM, "matrix %zu x %zu is too large", n_rows, n_cols);
    float *d = ar_callocn(n, sizeof(float));
    if (!d)
        return AR_ERR_NOMEM;
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->stride = n_cols;
    m->data = d;
    m->owner = d;
    return AR_OK;
}

struct ar_mat ar_mat_view(float *data, size_t n_rows, size_t n_cols, size_t stride)
{
    AR_ASSERT(stride >= n_cols);
    struct ar_mat m = {n_rows, n_cols, stride, data, NULL};
    return m;
}

struct ar_mat ar_mat_rows(const struct ar_mat *m, size_t begin, size_t end)
{
    AR_ASSERT(begin <= end && end <= m->n_rows);
    struct ar_mat v = {end - begin, m->n_cols, m->stride,
                       m->data ? m->data + begin * m->stride : NULL, NULL};
    return v;
}

void ar_mat_release(struct ar_mat *m)
{
    if (m->owner)
        ar_free(m->owner);
    memset(m, 0, sizeof *m);
}

int ar_csr_alloc(struct ar_csr *c, size_t n_rows, size_t n_cols, size_t nnz)
{
    memset(c, 0, sizeof *c);
    /* One block: indptr, then values, then indices, each 64-byte aligned. */
    size_t a = (((n_rows + 1) * sizeof(uint64_t)) + 63) & ~(size_t)63;
    size_t b, cc;
    if (ar_mul_overflow(nnz, sizeof(float), &b) || ar_mul_overflow(nnz, sizeof(uint32_t), &cc))
        return ar_err_set(AR_ERR_NOMEM, "sparse matrix with %zu entries is too large", nnz);
    b = (b + 63) & ~(size_t)63;
    char *blk = ar_alloc(a + b + cc);
    if (!blk)
        return AR_ERR_NOMEM;
    memset(blk, 0, a);
    c->n_rows = n_rows;
    c->n_cols = n_cols;
    c->indptr = (uint64_t *)(void *)blk;
    c->values = (float *)(void *)(blk + a);
    c->indices = (uint32_t *)(void *)(blk + a + b);
    c->owner = blk;
    return AR_OK;
}

struct ar_csr ar_csr_rows(const struct ar_csr *c, size_t begin, size_t end)
{
    AR_ASSERT(begin <= end && end <= c->n_rows);
    struct ar_csr v = {end - begin, c->n_cols, c->indptr + begin, c->indices, c->values, NULL};
    return v;
}

void ar_csr_release(struct ar_csr *c)
{
    if (c->owner)
        ar_free(c->owner);
    memset(c, 0, sizeof *c);
}

int ar_csr_to_dense(const struct ar_csr *c, float fill, struct ar_mat *out)
{
    if (out->n_rows != c->n_rows || out->n_cols < c->n_cols)
        return ar_err_set(AR_ERR_INVALID, "dense target %zu x %zu cannot hold sparse %zu x %zu",
                          out->n_rows, out->n_cols, c->n_rows, c->n_cols);
    for (size_t i = 0; i < c->n_rows; i++) {
        float *row = ar_mat_row(out, i);
        for (size_t j = 0; j < out->n_cols; j++)
            row[j] = fill;
        for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++)
            row[c->indices[k]] = c->values[k];
    }
    return AR_OK;
}

int ar_csr_check(const struct ar_csr *c)
{
    for (size_t i = 0; i < c->n_rows; i++) {
        if (c->indptr[i + 1] < c->indptr[i])
            return ar_err_set(AR_ERR_FORMAT, "sparse row %zu: row pointer decreases", i);
        for (uint64_t k = c->indptr[i]; k < c->indptr[i + 1]; k++) {
            if (c->indices[k] >= c->n_cols)
                return ar_err_set(AR_ERR_FORMAT, "sparse row %zu: column %u >= width %zu", i,
                                  c->indices[k], c->n_cols);
            if (k > c->indptr[i] && c->indices[k] <= c->indices[k - 1])
                return ar_err_set(AR_ERR_FORMAT, "sparse row %zu: column %u not after column %u", i,
                                  c->indices[k], c->indices[k - 1]);
        }
    }
    return AR_OK;
}
