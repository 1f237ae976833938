/* CSV text -> dense float32 rows: the buffer parser and the streaming batch source.
 *
 * Rules (tests/data/csv/README and MANIFEST): UTF-8, a BOM at the start of a file is skipped;
 * LF or CRLF line ends, the last line may lack one; blank and whitespace-only lines are
 * skipped but counted; comma-separated, no header, no quoting; spaces and tabs around a field
 * are ignored. With label_size 1 field 1 is the label (a finite number, never empty); with
 * weights field 2 is an instance weight (a finite number >= 0, never empty); the remaining
 * fields are features, where an empty field is missing (NaN). Numbers follow io/numparse.h.
 * The first data line fixes the field count; every later line must match it. Any NUL byte
 * rejects its line. Errors are AR_ERR_FORMAT naming the file, the 1-based physical line and
 * the 1-based column (field), e.g. "data.csv: line 3, column 2: 'abc' is not a number".
 *
 * Parsing is multi-threaded: the buffer is cut into chunks at line boundaries, a first pass
 * counts rows per chunk, a second parses every chunk straight into its place in the output.
 * The result (and the error reported: always the earliest failing line) does not depend on
 * the number of threads.
 */
#ifndef AR_IO_CSV_H
#define AR_IO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/batch.h"

struct ar_csv_opts {
    int label_size;        /* 1: field 1 is the label; 0: every field is a feature */
    bool weights;          /* field 2 is an instance weight (needs label_size 1) */
    int n_threads;         /* chunks / threads; 0 = ar_par_threads(), fewer for small input */
    const char *name;      /* file name for messages, or NULL */
    size_t first_line;     /* physical line number of buf[0]; 1 = start of a file (BOM skipped) */
    uint64_t first_offset; /* byte offset of buf[0] in its file, for NUL-byte messages */
};

/* Parsed rows. Zero-initialise before the first ar_csv_parse; the arrays are reused (grown
 * when needed) by later calls on the same struct and freed by ar_csv_rows_release.
 * n_fields is carried from call to call: 0 before the first data line was seen, then fixed. */
struct ar_csv_rows {
    size_t n_fields;      /* fields per line (label + weight + features) */
    size_t n_fields_line; /* the line that fixed n_fields (0 when it was in an earlier file) */
    size_t n_rows;        /* rows of the last parse */
    size_t n_cols;        /* features per row */
    size_t n_lines;       /* physical lines in the last buffer (a final unterminated one counts) */
    float *x;             /* n_rows x n_cols, row-major */
    float *labels;        /* n_rows, or NULL when label_size is 0 */
    float *weights;       /* n_rows, or NULL without weights */
    void *block;          /* the one allocation behind x / labels / weights */
    size_t cap_rows, cap_cols;
};

/* Parses [buf, buf + len): whole lines (the last may lack its line end) into r. On success
 * r->n_rows rows are in r->x / labels / weights. AR_ERR_FORMAT on bad input (see above),
 * AR_ERR_INVALID for bad options, AR_ERR_NOMEM. On failure r keeps its arrays (release it). */
int ar_csv_parse(const char *buf, size_t len, const struct ar_csv_opts *opts,
                 struct ar_csv_rows *r);
void ar_csv_rows_release(struct ar_csv_rows *r);

/* ar_csv_source_open (io/batch.h) with a chosen read-block size (bytes; 0 = the default,
 * 32 MiB). The source reads each stream of the input in blocks, carries a partial last line
 * over to the next block, and parses block by block; a line longer than the block grows it
 * up to 1 GiB (AR_ERR_LIMIT beyond). Memory: about the block, its parsed rows and one batch.
 * next() returns batches of exactly max_rows rows except the last of a pass; a batch is a
 * view valid until the next call. The field count is fixed across all files of the input.
 * reset() rewinds the input (AR_ERR_UNSUPPORTED for a FIFO). After an error every later
 * next() repeats it until reset(). */
int ar_csv_source_open_ex(struct ar_input *in, const struct ar_data_format *fmt, size_t block_size,
                          struct ar_batch_source **out);

#endif
