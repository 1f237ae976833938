/* libsvm text -> CSR rows with labels, weights and query ids.
 *
 * A line is `label[:weight] [qid:N] index:value ...`, tokens separated by runs of spaces and
 * tabs (leading and trailing ones ignored); BOM, LF/CRLF and blank-line handling as for CSV
 * (io/csv.h). The label is a finite number; the weight a finite number >= 0 (a row without
 * one has weight 1); qid a decimal integer 0..4294967295 (only right after the label). An
 * index is decimal digits, at most 2147483647, used as written (0-based columns, so a file
 * written 1-based has an empty column 0); n_cols = largest index + 1 over everything read (0
 * without entries). A value is a number as in io/numparse.h (nan / inf allowed), never empty.
 * Unsorted indices are sorted; a repeated index in a row is an error; stored zeros are kept; a
 * line with only a label is a row without entries. Errors are AR_ERR_FORMAT naming the file,
 * the 1-based physical line and the token, e.g. "a.libsvm: line 2, token 3: index 5 repeats".
 *
 * Parsing is multi-threaded like CSV (chunks at line boundaries, counted, then parsed in
 * place and compacted); results and errors do not depend on the thread count.
 */
#ifndef AR_IO_LIBSVM_H
#define AR_IO_LIBSVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mat.h"
#include "io/stream.h"

struct ar_libsvm_opts {
    int n_threads;         /* chunks / threads; 0 = ar_par_threads(), fewer for small input */
    const char *name;      /* file name for messages, or NULL */
    size_t first_line;     /* physical line number of buf[0]; 1 = start of a file (BOM skipped) */
    uint64_t first_offset; /* byte offset of buf[0] in its file, for NUL-byte messages */
};

/* A parsed data set; everything owned (release with ar_libsvm_data_release). */
struct ar_libsvm_data {
    struct ar_csr csr; /* rows sorted by index; csr.n_cols = largest index + 1 */
    float *labels;     /* n_rows */
    float *weights;    /* n_rows (1 where a row has none), or NULL when no row has a weight */
    int64_t *qids;     /* n_rows (-1 where a row has none), or NULL when no row has a qid */
    void *owner;       /* the block behind labels / weights / qids */
};

/* Parses [buf, buf + len) into *out (zeroed first; set only on success). AR_ERR_FORMAT,
 * AR_ERR_NOMEM. */
int ar_libsvm_parse(const char *buf, size_t len, const struct ar_libsvm_opts *opts,
                    struct ar_libsvm_data *out);

/* Reads every stream of `in` (borrowed) and parses them into one data set: rows in file
 * order, n_cols the largest over all files. Each file is read whole into memory first (at
 * most 64 GiB, AR_ERR_LIMIT beyond). */
int ar_libsvm_load(struct ar_input *in, struct ar_libsvm_data *out);

void ar_libsvm_data_release(struct ar_libsvm_data *d); /* NULL is a no-op */

/* ar_libsvm_source_open (io/batch.h) reads the whole input on open (n_cols is only known at
 * the end of the data), closes it, and then hands out CSR batch views of the in-memory rows;
 * reset() starts over without reading again. Query ids are not part of struct ar_batch and
 * are dropped by the source (use ar_libsvm_load to get them). */

#endif
