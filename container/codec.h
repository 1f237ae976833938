/* Request and response codecs shared by the inference server and batch transform: one decode
 * path from a request body to a batch of rows, one encode path from a prediction table to a
 * response body, for every content type the contract names. */
#ifndef AR_CONTAINER_CODEC_H
#define AR_CONTAINER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algorithms/algo.h"
#include "io/batch.h"
#include "io/format.h"

/* A growable output buffer. */
struct ar_buf {
    char *data;
    size_t len, cap;
};

int ar_buf_reserve(struct ar_buf *b, size_t extra);
int ar_buf_put(struct ar_buf *b, const char *s, size_t n);
int ar_buf_puts(struct ar_buf *b, const char *s);
void ar_buf_release(struct ar_buf *b);

/* Formats a double as Python's repr() does (shortest round-trip digits; "2.0", "1e-05",
 * "0.43861907720565796", "nan", "inf"). Returns the length; buf needs 32 bytes. */
int ar_fmt_pyrepr(double v, char *buf);
/* The definition ar_fmt_pyrepr follows: the smallest precision whose correctly rounded
 * printf("%.*e") digits strtod reads back to v, by binary search over 1..17 (slow: libc
 * calls). ar_fmt_pyrepr uses it for doubles that are not float32 values; tests compare. */
int ar_fmt_pyrepr_search(double v, char *buf);

/* Decodes a request body into an owned batch of feature rows (labels, if the format carries
 * them, are dropped). CSV has no label column; libsvm lines may start with a label (ignored)
 * or directly with idx:val; JSON is {"instances": [...]} with each instance {"features":
 * [..]} or {"data": {"features": {"values": [..], "keys": [..], "shape": [n]}}}; JSON Lines
 * is one instance per line. AR_ERR_FORMAT with the line/instance for a malformed body. */
int ar_codec_decode(const char *body, size_t len, const struct ar_data_format *fmt,
                    struct ar_batch *out);
/* As ar_codec_decode, naming the body `name` in messages and numbering its first line
 * `first_line` (batch transform passes the file and the mini-batch's line). */
int ar_codec_decode_at(const char *body, size_t len, const struct ar_data_format *fmt,
                       const char *name, uint64_t first_line, struct ar_batch *out);

/* How a prediction table becomes a response. */
struct ar_encode_opts {
    enum ar_content accept;
    bool csv_quote_lists; /* CSV: vector columns as "[a, b]" (XGBoost selectable output) */
    bool batch_lines;     /* SAGEMAKER_BATCH: one str(value) per line whatever the Accept */
};

/* Turns predict()'s table into the response columns, in place: the keys of `select_spec`
 * (SAGEMAKER_INFERENCE_OUTPUT; NULL or "" for none) when the algorithm supports it, else the
 * algorithm's default outputs. Sets opts->csv_quote_lists for selected output. */
int ar_codec_outputs(const struct ar_algo *algo, const struct ar_model *m, const char *select_spec,
                     struct ar_encode_opts *opts, struct ar_table *t);

/* Appends the encoding of every row of t to out. */
int ar_codec_encode(const struct ar_table *t, const struct ar_encode_opts *opts,
                    struct ar_buf *out);
/* The Content-Type header value for an encoding ("text/csv; charset=utf-8", ...). */
const char *ar_codec_mime(enum ar_content c);

#endif
