/* Batch helpers: release, row views, dense rows, opening a reader by format, and loading a
 * whole channel into memory. */
#include "io/batch.h"

#include <math.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

void ar_batch_release(struct ar_batch *b)
{
    ar_mat_release(&b->dense);
    ar_csr_release(&b->csr);
    ar_free(b->owner);
    memset(b, 0, sizeof *b);
}

struct ar_batch ar_batch_rows(const struct ar_batch *b, size_t begin, size_t end)
{
    AR_ASSERT(begin <= end && end <= b->n_rows);
    struct ar_batch v;
    memset(&v, 0, sizeof v);
    v.n_rows = end - begin;
    v.n_cols = b->n_cols;
    v.is_sparse = b->is_sparse;
    if (b->is_sparse)
        v.csr = ar_csr_rows(&b->csr, begin, end);
    else
        v.dense = ar_mat_rows(&b->dense, begin, end);
    v.labels = b->labels ? b->labels + begin : NULL;
    v.weights = b->weights ? b->weights + begin : NULL;
    return v;
}

void ar_batch_row_dense(const struct ar_batch *b, size_t i, float fill, float *out)
{
    if (!b->is_sparse) {
        memcpy(out, ar_mat_row(&b->dense, i), b->n_cols * sizeof *out);
        return;
    }
    for (size_t j = 0; j < b->n_cols; j++)
        out[j] = fill;
    for (uint64_t k = b->csr.indptr[i]; k < b->csr.indptr[i + 1]; k++)
        out[b->csr.indices[k]] = b->csr.values[k];
}

int ar_batch_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                         struct ar_batch_source **out)
{
    *out = NULL;
    switch (fmt->content) {
    case AR_CONTENT_CSV:
        return ar_csv_source_open(in, fmt, out);
    case AR_CONTENT_LIBSVM:
        return ar_libsvm_source_open(in, fmt, out);
    case AR_CONTENT_RECORDIO_PB:
        return ar_recordio_source_open(in, fmt, out);
    default:
        ar_input_close(in);
        return ar_err_set(AR_ERR_UNSUPPORTED, "%s cannot be read as a training data set",
                          ar_format_mime(fmt->content));
    }
}

void ar_batch_source_close(struct ar_batch_source *s)
{
    if (s)
        s->ops->close(s);
}

/* Growable arrays for load_all. */
struct grow {
    void *p;
    size_t used, cap; /* in bytes */
};

static int grow_append(struct grow *g, const void *src, size_t bytes)
{
    if (g->used + bytes > g->cap) {
        size_t nc = g->cap ? g->cap : 1 << 16;
        while (nc < g->used + bytes)
            nc *= 2;
        void *np = ar_reallocn(g->p, g->used, nc, 1);
        if (!np)
            return AR_ERR_NOMEM;
        g->p = np;
        g->cap = nc;
    }
    if (bytes)
        memcpy((char *)g->p + g->used, src, bytes);
    g->used += bytes;
    return AR_OK;
}

int ar_batch_source_load_all(struct ar_batch_source *s, struct ar_batch *out)
{
    memset(out, 0, sizeof *out);
    struct grow vals = {0}, idx = {0}, ptr = {0}, lab = {0}, wt = {0};
    size_t n_rows = 0, n_cols = 0, nnz = 0;
    int sparse = -1, has_labels = -1, has_weights = -1;
    int rc = AR_OK;
    uint64_t zero = 0;
    for (;;) {
        struct ar_batch b;
        rc = ar_batch_source_next(s, 1 << 16, &b);
        if (rc != AR_OK || b.n_rows == 0)
            break;
        if (sparse < 0) {
            sparse = b.is_sparse;
            has_labels = b.labels != NULL;
            has_weights = b.weights != NULL;
            if (sparse && (rc = grow_append(&ptr, &zero, sizeof zero)) != AR_OK)
                break;
        }
        if (b.n_cols > n_cols)
            n_cols = b.n_cols;
        if ((int)b.is_sparse != sparse || (int)(b.labels != NULL) != has_labels ||
            (int)(b.weights != NULL) != has_weights) {
            rc = ar_err_set(AR_ERR_FORMAT,
                            "rows %zu onwards change shape (dense/sparse, labels "
                            "or weights) within one channel",
                            n_rows + 1);
            break;
        }
        if (sparse) {
            size_t bnnz = ar_csr_nnz(&b.csr);
            uint64_t base = b.csr.indptr[0];
            for (size_t i = 0; i < b.n_rows && rc == AR_OK; i++) {
                uint64_t end = nnz + (b.csr.indptr[i + 1] - base);
                rc = grow_append(&ptr, &end, sizeof end);
            }
            if (rc == AR_OK)
                rc = grow_append(&vals, b.csr.values + base, bnnz * sizeof(float));
            if (rc == AR_OK)
                rc = grow_append(&idx, b.csr.indices + base, bnnz * sizeof(uint32_t));
            nnz += bnnz;
        } else {
            for (size_t i = 0; i < b.n_rows && rc == AR_OK; i++)
                rc = grow_append(&vals, ar_mat_row(&b.dense, i), b.n_cols * sizeof(float));
        }
        if (rc == AR_OK && has_labels)
            rc = grow_append(&lab, b.labels, b.n_rows * sizeof(float));
        if (rc == AR_OK && has_weights)
            rc = grow_append(&wt, b.weights, b.n_rows * sizeof(float));
        if (rc != AR_OK)
            break;
        n_rows += b.n_rows;
    }
    if (rc == AR_OK) {
        out->n_rows = n_rows;
        out->n_cols = n_cols ? n_cols : s->n_cols;
        out->is_sparse = sparse == 1;
        if (out->is_sparse) {
            rc = ar_csr_alloc(&out->csr, n_rows, out->n_cols, nnz);
            if (rc == AR_OK) {
                memcpy(out->csr.indptr, ptr.p, (n_rows + 1) * sizeof(uint64_t));
                if (nnz) {
                    memcpy(out->csr.values, vals.p, nnz * sizeof(float));
                    memcpy(out->csr.indices, idx.p, nnz * sizeof(uint32_t));
                }
            }
        } else {
            /* The growable buffer becomes the matrix: no copy. */
            if (!vals.p && (vals.p = ar_alloc(1)) == NULL)
                rc = AR_ERR_NOMEM;
            out->dense = ar_mat_view(vals.p, n_rows, out->n_cols, out->n_cols);
            out->dense.owner = vals.p;
            vals.p = NULL;
        }
    }
    if (rc == AR_OK && (has_labels == 1 || has_weights == 1)) {
        size_t per = (size_t)(has_labels == 1) + (size_t)(has_weights == 1);
        float *blk = ar_allocn(n_rows ? n_rows * per : 1, sizeof(float));
        if (!blk) {
            rc = AR_ERR_NOMEM;
        } else {
            out->owner = blk;
            if (has_labels == 1) {
                memcpy(blk, lab.p, n_rows * sizeof(float));
                out->labels = blk;
                blk += n_rows;
            }
            if (has_weights == 1) {
                memcpy(blk, wt.p, n_rows * sizeof(float));
                out->weights = blk;
            }
        }
    }
    ar_free(vals.p);
    ar_free(idx.p);
    ar_free(ptr.p);
    ar_free(lab.p);
    ar_free(wt.p);
    if (rc != AR_OK)
        ar_batch_release(out);
    return rc;
}
