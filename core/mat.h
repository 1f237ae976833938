/* Dense float32 matrices with a row stride, and CSR sparse matrices.
 *
 * Both are plain views: `owner` is non-NULL when the struct owns its arrays (made by *_alloc),
 * and NULL for views (made by *_view or *_rows, which borrow the parent's memory and must not
 * outlive it). ar_mat_release / ar_csr_release free owned arrays and zero the struct; on a view
 * they only zero it. Missing values are NaN.
 */
#ifndef AR_CORE_MAT_H
#define AR_CORE_MAT_H

#include <stddef.h>
#include <stdint.h>

/* Row-major dense matrix: element (i, j) is data[i * stride + j], stride >= n_cols. */
struct ar_mat {
    size_t n_rows;
    size_t n_cols;
    size_t stride;
    float *data;
    void *owner;
};

/* Compressed sparse rows: row i holds entries indptr[i] .. indptr[i+1]-1, with column indices
 * in `indices` (sorted ascending within a row unless a producer says otherwise) and values in
 * `values`. indptr has n_rows + 1 entries; indptr[0] may be non-zero in a row slice. */
struct ar_csr {
    size_t n_rows;
    size_t n_cols;
    uint64_t *indptr;
    uint32_t *indices;
    float *values;
    void *owner;
};

/* Allocates an owned n_rows x n_cols matrix (stride = n_cols), zero-filled. AR_ERR_NOMEM. */
int ar_mat_alloc(struct ar_mat *m, size_t n_rows, size_t n_cols);
/* Makes a view of caller memory. */
struct ar_mat ar_mat_view(float *data, size_t n_rows, size_t n_cols, size_t stride);
/* A view of rows [begin, end) of `m` (asserts the range is valid). */
struct ar_mat ar_mat_rows(const struct ar_mat *m, size_t begin, size_t end);
void ar_mat_release(struct ar_mat *m);

static inline float *ar_mat_row(const struct ar_mat *m, size_t i)
{
    return m->data + i * m->stride;
}

/* Allocates an owned CSR with room for nnz entries; indptr zero-filled. AR_ERR_NOMEM. */
int ar_csr_alloc(struct ar_csr *c, size_t n_rows, size_t n_cols, size_t nnz);
/* A view of rows [begin, end) of `c` sharing its arrays (indptr offsets are kept). */
struct ar_csr ar_csr_rows(const struct ar_csr *c, size_t begin, size_t end);
void ar_csr_release(struct ar_csr *c);

static inline size_t ar_csr_nnz(const struct ar_csr *c)
{
    return (size_t)(c->indptr[c->n_rows] - c->indptr[0]);
}

/* Writes `c` as dense rows into `out` (out->n_rows == c->n_rows, out->n_cols >= c->n_cols);
 * absent entries become `fill` (0 for sparse data, NaN for "missing" semantics). */
int ar_csr_to_dense(const struct ar_csr *c, float fill, struct ar_mat *out);

/* Checks the CSR invariants (monotone indptr, indices < n_cols, strictly increasing within a
 * row). AR_ERR_FORMAT naming the first bad row. */
int ar_csr_check(const struct ar_csr *c);

#endif
