/* Batches of rows and the sources that deliver them.
 *
 * Every reader (CSV, libsvm, RecordIO-protobuf) is an ar_batch_source: next() fills a batch of
 * at most max_rows rows, dense float32 row-major or CSR, with labels and weights when the data
 * has them. Streaming algorithms call next() epoch by epoch and never hold the whole channel;
 * ar_batch_source_load_all() gathers a whole channel into one dataset for learners that need
 * it (the tree learner). Column count is fixed by the first row and checked for every later
 * row (AR_ERR_FORMAT naming file and line or byte offset).
 */
#ifndef AR_IO_BATCH_H
#define AR_IO_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/mat.h"
#include "io/format.h"
#include "io/stream.h"

/* One batch: exactly one of dense / csr is used (is_sparse says which). labels and weights
 * have n_rows entries or are NULL. The batch owns its arrays when produced by a source;
 * ar_batch_release frees them. */
struct ar_batch {
    size_t n_rows;
    size_t n_cols;
    bool is_sparse;
    struct ar_mat dense;
    struct ar_csr csr;
    float *labels;
    float *weights;
    void *owner; /* a single block holding labels/weights when owned, or NULL */
};

void ar_batch_release(struct ar_batch *b);
/* Rows [begin, end) of b as a view (no copy). */
struct ar_batch ar_batch_rows(const struct ar_batch *b, size_t begin, size_t end);
/* Row i as dense floats into out[0..n_cols) with `fill` for absent sparse entries. */
void ar_batch_row_dense(const struct ar_batch *b, size_t i, float fill, float *out);

struct ar_batch_source;

struct ar_batch_source_ops {
    /* Fills *out with up to max_rows rows; out->n_rows == 0 at the end of the pass. The batch
     * is valid until the next call; the source owns it. */
    int (*next)(struct ar_batch_source *src, size_t max_rows, struct ar_batch *out);
    /* Starts a new pass (epoch). */
    int (*reset)(struct ar_batch_source *src);
    void (*close)(struct ar_batch_source *src);
};

struct ar_batch_source {
    const struct ar_batch_source_ops *ops;
    size_t n_cols;   /* known after the first non-empty batch; 0 before */
    bool has_labels; /* known after the first non-empty batch */
};

/* Opens a reader for `fmt` over `in`, taking ownership of `in`. */
int ar_batch_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                         struct ar_batch_source **out);
static inline int ar_batch_source_next(struct ar_batch_source *s, size_t max_rows,
                                       struct ar_batch *out)
{
    return s->ops->next(s, max_rows, out);
}
static inline int ar_batch_source_reset(struct ar_batch_source *s)
{
    return s->ops->reset(s);
}
void ar_batch_source_close(struct ar_batch_source *s); /* NULL is a no-op */

/* A whole channel in memory: one owned batch (dense unless the data was sparse). */
int ar_batch_source_load_all(struct ar_batch_source *s, struct ar_batch *out);

/* Reader constructors (used by ar_batch_source_open). Each takes ownership of `in`. */
int ar_csv_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                       struct ar_batch_source **out);
int ar_libsvm_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                          struct ar_batch_source **out);
int ar_recordio_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                            struct ar_batch_source **out);

#endif
