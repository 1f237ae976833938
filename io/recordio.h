/* RecordIO-protobuf (application/x-recordio-protobuf): framing, the aialgs.data.Record message,
 * its matrix view, and the writer.
 *
 * Framing (dmlc RecordIO, little-endian): u32 magic 0xCED7230A, u32 lrecord = (cflag << 29) |
 * length, `length` payload bytes, (-length) & 3 padding bytes (value ignored). cflag 0 is a
 * whole record; 1/2/3 are the first/middle/last parts of a split record, joined with the magic
 * word put back between parts. Frames are read by length, never by scanning for the magic.
 * Every error names the 0-based byte offset of the failing frame header (for a record that
 * fails to decode: of its first part) and the 1-based record number:
 *   "<name>: byte N: record K: <why>"      (AR_ERR_FORMAT, AR_ERR_LIMIT for size caps)
 *
 * Record view: a payload decoded with protobuf-c (duplicate map keys: the last entry wins;
 * protobuf-c 1.4.1 replaces a oneof tensor that occurs twice in one Value instead of merging).
 * Matrix view: features["values"] and label["values"] of each record as one row (dense when the
 * tensor has no keys and has values or no shape; otherwise sparse of width shape[0]); the rows
 * of a stream must agree on width and on having a label. A fast path decodes the SDK's dense
 * float32 records without allocating and falls back to protobuf-c for anything else.
 *
 * Writer: encodes Records exactly as the SageMaker Python SDK v2 does (field order features,
 * label; tensor fields values, keys, shape; packed; empty tensor kept as `12 00`; negative
 * int32 as 10-byte varints), appending frames to a growing buffer.
 */
#ifndef AR_IO_RECORDIO_H
#define AR_IO_RECORDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/batch.h"
#include "io/stream.h"

#define AR_RECORDIO_MAGIC      0xCED7230Au
#define AR_RECORDIO_MAX_LENGTH ((1u << 29) - 1) /* payload bytes of one frame */
/* Default cap on a joined (multi-part) record, AR_ERR_LIMIT beyond it. */
#define AR_RECORDIO_MAX_RECORD ((size_t)1 << 30)

/* ---- Framing ------------------------------------------------------------------------------ */

struct ar_recordio_reader;

/* One whole record: payload bytes (valid until the next call on the reader), the byte offset of
 * its (first) frame header and its 1-based number in the stream. */
struct ar_recordio_frame {
    const uint8_t *data;
    size_t len;
    uint64_t offset;
    uint64_t index;
};

/* A reader over caller memory (borrowed; must outlive the reader). `name` is copied; it starts
 * every error message (NULL: no name). AR_ERR_NOMEM. */
int ar_recordio_reader_new_mem(const void *data, size_t len, const char *name,
                               struct ar_recordio_reader **out);
/* A reader over a stream (borrowed; the caller closes it after freeing the reader), read in
 * blocks. The stream's name starts every error message. AR_ERR_NOMEM. */
int ar_recordio_reader_new_stream(struct ar_stream *s, struct ar_recordio_reader **out);
/* Next record into *out; at the end of input *end = true (and *out is zeroed). Framing errors
 * are AR_ERR_FORMAT (AR_ERR_LIMIT for a joined record above AR_RECORDIO_MAX_RECORD, stream
 * errors as the stream reports them) and stay: later calls return the same code. */
int ar_recordio_reader_next(struct ar_recordio_reader *r, struct ar_recordio_frame *out, bool *end);
/* Name used in messages (may be ""). */
const char *ar_recordio_reader_name(const struct ar_recordio_reader *r);
void ar_recordio_reader_free(struct ar_recordio_reader *r); /* NULL is a no-op */

/* ---- Record view -------------------------------------------------------------------------- */

enum ar_recordio_kind {
    AR_RECORDIO_NONE = 0, /* Value with no member set */
    AR_RECORDIO_F32,      /* Float32Tensor */
    AR_RECORDIO_F64,      /* Float64Tensor */
    AR_RECORDIO_I32,      /* Int32Tensor */
    AR_RECORDIO_BYTES     /* Bytes */
};

struct ar_recordio_blob {
    size_t len;
    const uint8_t *data;
};

/* One Value. For tensors, `values` holds n_values elements of the kind's C type (float,
 * double, int32_t), keys/shape are uint64. For Bytes, blobs and content_type (NULL: absent). */
struct ar_recordio_value {
    enum ar_recordio_kind kind;
    size_t n_values;
    const void *values;
    size_t n_keys;
    const uint64_t *keys;
    size_t n_shape;
    const uint64_t *shape;
    size_t n_blobs;
    const struct ar_recordio_blob *blobs;
    const char *content_type;
};

struct ar_recordio_entry {
    const char *key;
    struct ar_recordio_value value;
};

/* A decoded Record. Map entries keep wire order, with earlier entries of a repeated key
 * dropped. String fields are NULL when absent. Arrays point into `impl` (owned). */
struct ar_recordio_record {
    size_t n_features;
    const struct ar_recordio_entry *features;
    size_t n_label;
    const struct ar_recordio_entry *label;
    const char *uid;
    const char *metadata;
    const char *configuration;
    void *impl;
};

/* Decodes one payload. AR_ERR_FORMAT "payload is not a valid aialgs.data.Record", AR_ERR_NOMEM.
 * On success release with ar_recordio_record_release. */
int ar_recordio_record_decode(const void *payload, size_t len, struct ar_recordio_record *out);
void ar_recordio_record_release(struct ar_recordio_record *rec);
/* The entry of `key` in a map (last one wins), or NULL. */
const struct ar_recordio_entry *ar_recordio_entry_find(const struct ar_recordio_entry *e, size_t n,
                                                       const char *key);

/* ---- Matrix view -------------------------------------------------------------------------- */

/* One record as a matrix row. `values` holds n_values elements of `kind`, little-endian, maybe
 * unaligned (read them with ar_recordio_row_value). Sparse rows have n_values keys (as
 * written: unsorted, not yet checked for repeats). Borrowed from the payload / decoder. */
struct ar_recordio_row {
    enum ar_recordio_kind kind;
    bool sparse;
    uint64_t width;
    size_t n_values;
    const void *values;
    const uint64_t *keys;
    bool has_label;
    enum ar_recordio_kind label_kind;
    double label; /* exact for all three kinds */
};

/* Element i of row->values as a float (float64 rounds to nearest, int32 converts). */
float ar_recordio_row_value(const struct ar_recordio_row *row, size_t i);

/* The row of a decoded record. AR_ERR_FORMAT (no location in the message) for: no "values"
 * feature, a non-tensor feature, keys without shape, keys/values count mismatch, a key >=
 * shape[0], a label "values" that is not one number. */
int ar_recordio_row_from_record(const struct ar_recordio_record *rec, struct ar_recordio_row *row);

/* Fast path: decodes a payload that is exactly the SDK's dense float32 shape (features
 * {"values": Float32Tensor{packed values}}, optionally label {"values": one-element float32,
 * float64 or int32 tensor}), allocating nothing. Returns false for anything else (the caller
 * then uses protobuf-c): it never rejects, and when it accepts it agrees with protobuf-c. */
bool ar_recordio_row_fast(const void *payload, size_t len, struct ar_recordio_row *row);

/* Decodes payloads into rows, fast path first. The row is valid until the next call. */
struct ar_recordio_row_decoder {
    struct ar_recordio_record rec;
    bool have_rec;
    bool no_fast; /* tests: force protobuf-c */
};
int ar_recordio_row_decode(struct ar_recordio_row_decoder *d, const void *payload, size_t len,
                           struct ar_recordio_row *row);
void ar_recordio_row_decoder_release(struct ar_recordio_row_decoder *d);

/* Reads a whole RecordIO buffer into one owned batch: dense float32 when every row is dense,
 * CSR (keys sorted) otherwise; labels when the records have them; weights NULL. Ownership:
 * dense.owner / csr.owner own the matrix, b->owner == b->labels owns the labels (free with
 * ar_batch_release). 0 records give an empty dense batch. Errors name `name`, byte and record. */
int ar_recordio_read_mem(const void *data, size_t len, const char *name, struct ar_batch *out);

/* ---- Writer ------------------------------------------------------------------------------- */

/* A growing output buffer (ar_alloc'd). Zero-initialise; free with ar_recordio_buf_release. */
struct ar_recordio_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};
void ar_recordio_buf_release(struct ar_recordio_buf *b);

/* Appends one frame (cflag 0, zero padding) holding `payload`. AR_ERR_LIMIT above
 * AR_RECORDIO_MAX_LENGTH, AR_ERR_NOMEM. */
int ar_recordio_frame_append(struct ar_recordio_buf *out, const void *payload, size_t len);
/* Appends one frame holding `rec` encoded the SDK's way (entries in the order given; Bytes
 * values and string fields supported). A Value of kind NONE is written as an empty Value. */
int ar_recordio_record_append(struct ar_recordio_buf *out, const struct ar_recordio_record *rec);

/* Appends one frame per row of `b` (dense or CSR): features {"values": tensor of feature_kind}
 * (sparse rows carry keys and shape [n_cols]), and when b->labels is set and label_kind is not
 * NONE, label {"values": one-element tensor of label_kind}. Kinds are F32, F64 or I32; I32
 * refuses non-integral or out-of-range values (AR_ERR_INVALID naming row and column). */
int ar_recordio_write_rows(const struct ar_batch *b, enum ar_recordio_kind feature_kind,
                           enum ar_recordio_kind label_kind, struct ar_recordio_buf *out);

/* Inference responses: one column of results per key, `width` floats per row. */
struct ar_recordio_label_col {
    const char *key;
    const float *values; /* row i: values[i * width .. (i + 1) * width) */
    size_t width;
};
/* Appends one Record per row: no features, label map with one float32 tensor per column, keys
 * in the order given. The agreed order (and that of tests/data/recordio/schema/response_*):
 * "score" then "predicted_label"; "closest_cluster" then "distance_to_cluster". */
int ar_recordio_write_labels(size_t n_rows, const struct ar_recordio_label_col *cols, size_t n_cols,
                             struct ar_recordio_buf *out);

#endif
