/* RecordIO internals shared by io/recordio*.c: the matrix builder that turns decoded rows into
 * batches and enforces the stream-wide rules (same width as the first row, label in every row or
 * in none), and error formatting with file, byte offset and record number. */
#ifndef AR_IO_RECORDIO_IMPL_H
#define AR_IO_RECORDIO_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/batch.h"
#include "io/recordio.h"

/* Accumulates rows in CSR form (indices only once a sparse row appears: an all-dense batch's
 * values are its row-major matrix). Zero-initialise; release with ar_recordio_matrix_release. */
struct ar_recordio_matrix {
    /* stream-wide state, fixed by the first row */
    bool have_first;
    bool first_sparse;
    uint64_t width;
    bool has_label;
    bool first_elsewhere; /* the first row came from an earlier file of the input */
    /* the batch being built */
    size_t n_rows;
    bool sparse;
    size_t nnz;
    float *values;
    size_t values_cap;
    uint32_t *indices;
    size_t indices_cap;
    uint64_t *indptr;
    size_t indptr_cap;
    float *labels;
    size_t labels_cap;
    void *scratch; /* sort buffer for one sparse row */
    size_t scratch_cap;
};

/* Adds one row; errors are AR_ERR_FORMAT "<name>: byte <offset>: record <index>: ...". */
int ar_recordio_matrix_add(struct ar_recordio_matrix *m, const struct ar_recordio_row *row,
                           const char *name, uint64_t offset, uint64_t index);
/* Forgets the rows of the current batch (keeps the stream-wide state and the buffers). */
void ar_recordio_matrix_clear_rows(struct ar_recordio_matrix *m);
/* Forgets everything but the buffers (a new pass). */
void ar_recordio_matrix_reset(struct ar_recordio_matrix *m);
/* The current rows as a batch borrowing the builder's arrays (owner NULL). */
void ar_recordio_matrix_view(const struct ar_recordio_matrix *m, struct ar_batch *out);
/* The current rows as an owned batch (see ar_recordio_read_mem). AR_ERR_NOMEM. */
int ar_recordio_matrix_take(const struct ar_recordio_matrix *m, struct ar_batch *out);
void ar_recordio_matrix_release(struct ar_recordio_matrix *m);

/* Makes room for n more bytes in b (geometric growth). AR_ERR_NOMEM. */
int ar_recordio_buf_reserve(struct ar_recordio_buf *b, size_t n);

/* Sets AR_ERR_FORMAT (or `code`) "<name>: byte N: record K: <why>" and returns the code. */
int ar_recordio_err_at(int code, const char *name, uint64_t offset, uint64_t index, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

#endif
