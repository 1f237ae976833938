/* The RecordIO-protobuf batch source: frames every stream (file) of an input in turn, decodes
 * each record's matrix row and delivers batches of up to max_rows rows. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "io/batch.h"
#include "io/recordio.h"
#include "io/recordio_impl.h"

struct rio_source {
    struct ar_batch_source base;
    struct ar_input *in;
    struct ar_stream *stream; /* current file, or NULL */
    struct ar_recordio_reader *reader;
    struct ar_recordio_row_decoder dec;
    struct ar_recordio_matrix m;
    bool done;
};

static void close_stream(struct rio_source *s)
{
    ar_recordio_reader_free(s->reader);
    s->reader = NULL;
    ar_stream_close(s->stream);
    s->stream = NULL;
}

/* Decodes the next row into the matrix; *end when the input has no more records. */
static int read_row(struct rio_source *s, bool *end)
{
    for (;;) {
        if (!s->reader) {
            AR_TRY(ar_input_next(s->in, &s->stream));
            if (!s->stream) {
                *end = true;
                return AR_OK;
            }
            AR_TRY(ar_recordio_reader_new_stream(s->stream, &s->reader));
            s->m.first_elsewhere = s->m.have_first;
        }
        struct ar_recordio_frame f;
        bool eof;
        AR_TRY(ar_recordio_reader_next(s->reader, &f, &eof));
        if (eof) {
            close_stream(s);
            continue;
        }
        struct ar_recordio_row row;
        const char *name = ar_recordio_reader_name(s->reader);
        int rc = ar_recordio_row_decode(&s->dec, f.data, f.len, &row);
        if (rc != AR_OK) {
            char why[AR_ERR_MSG_SIZE];
            snprintf(why, sizeof why, "%s", ar_err_msg());
            return ar_recordio_err_at(rc, name, f.offset, f.index, "%s", why);
        }
        *end = false;
        return ar_recordio_matrix_add(&s->m, &row, name, f.offset, f.index);
    }
}

static int rio_next(struct ar_batch_source *src, size_t max_rows, struct ar_batch *out)
{
    struct rio_source *s = (struct rio_source *)src;
    ar_recordio_matrix_clear_rows(&s->m);
    memset(out, 0, sizeof *out);
    if (max_rows == 0)
        return ar_err_set(AR_ERR_INVALID, "batch size must be at least 1");
    while (!s->done && s->m.n_rows < max_rows) {
        bool end;
        int rc = read_row(s, &end);
        if (rc != AR_OK) {
            ar_recordio_matrix_clear_rows(&s->m);
            return rc;
        }
        if (end)
            s->done = true;
    }
    ar_recordio_matrix_view(&s->m, out);
    if (s->m.have_first) {
        src->n_cols = (size_t)s->m.width;
        src->has_labels = s->m.has_label;
    }
    return AR_OK;
}

static int rio_reset(struct ar_batch_source *src)
{
    struct rio_source *s = (struct rio_source *)src;
    close_stream(s);
    ar_recordio_matrix_reset(&s->m);
    s->done = false;
    return ar_input_rewind(s->in);
}

static void rio_close(struct ar_batch_source *src)
{
    struct rio_source *s = (struct rio_source *)src;
    close_stream(s);
    ar_recordio_row_decoder_release(&s->dec);
    ar_recordio_matrix_release(&s->m);
    ar_input_close(s->in);
    ar_free(s);
}

static const struct ar_batch_source_ops rio_ops = {rio_next, rio_reset, rio_close};

int ar_recordio_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                            struct ar_batch_source **out)
{
    if (fmt && fmt->content != AR_CONTENT_RECORDIO_PB) {
        ar_input_close(in);
        return ar_err_set(AR_ERR_INVALID, "RecordIO reader opened for another content type (%d)",
                          (int)fmt->content);
    }
    struct rio_source *s = ar_alloc(sizeof *s);
    if (!s) {
        ar_input_close(in);
        return AR_ERR_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->base.ops = &rio_ops;
    s->in = in;
    *out = &s->base;
    return AR_OK;
}
