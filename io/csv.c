/* CSV reader: the two-pass, multi-threaded buffer parser and the block-streaming batch source.
 * The rules are in io/csv.h; numbers go through io/numparse.c. */
#include "io/csv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"
#include "io/numparse.h"
#include "io/text_impl.h"

/* ------------------------------------------------------------------------------------------ */
/* Buffer parser                                                                                */
/* ------------------------------------------------------------------------------------------ */

enum csv_err {
    CE_NONE = 0,
    CE_FIELDS,       /* wrong number of fields */
    CE_NUMBER,       /* a field that is not a number (or garbage after one) */
    CE_LABEL_EMPTY,  /* empty label field */
    CE_LABEL_FINITE, /* label nan / inf */
    CE_WEIGHT_EMPTY, /* empty weight field */
    CE_WEIGHT_BAD    /* weight not finite or negative */
};

/* One chunk of whole lines, one per thread slot (64-byte aligned: no false sharing). */
struct csv_chunk {
    _Alignas(64) const char *b;
    const char *e;
    size_t n_lines, n_rows; /* pass 1 */
    size_t line0, row0;     /* first line number and output row of the chunk */
    int err;                /* pass 2: first error in the chunk (enum csv_err) */
    size_t err_line;
    const char *err_line_start;
    const char *err_pos; /* start of the bad field */
    size_t err_field;    /* 1-based */
};

enum field_kind {
    F_OK,
    F_EMPTY,
    F_BAD
};

/* Reads one field at *pp: skips blanks, parses a number, skips blanks after it. */
static inline enum field_kind field(const char **pp, const char *e, float *v)
{
    const char *p = ar_text_skip_blanks(*pp, e);
    if (p == e || *p == ',' || ar_text_at_eol(p, e)) {
        *pp = p;
        return F_EMPTY;
    }
    const char *q = ar_numparse_f32(p, e, v);
    if (!q)
        return F_BAD;
    *pp = ar_text_skip_blanks(q, e);
    return F_OK;
}

/* Error exit of parse_row: the bad field's start (after blanks) and 1-based number. */
static int fail_at(int err, const char *start, const char *e, size_t f, const char **err_pos,
                   size_t *err_field)
{
    *err_pos = ar_text_skip_blanks(start, e);
    *err_field = f + 1;
    return err;
}

/* Parses the data line at *pp (known non-blank) into its row; on success *pp is past its
 * line end. On failure returns the error and the bad field's start and number. */
static int parse_row(const char **pp, const char *e, size_t n_fields, int label_size, bool weights,
                     float *restrict x, float *label, float *weight, const char **err_pos,
                     size_t *err_field)
{
    const char *p = *pp;
    size_t f = 0;
    size_t first_feature = (size_t)label_size + (weights ? 1 : 0);
    for (;; f++) {
        const char *start = p;
        float v;
        enum field_kind k = field(&p, e, &v);
        if (k == F_BAD)
            return fail_at(CE_NUMBER, start, e, f, err_pos, err_field);
        if (f >= first_feature) {
            x[f - first_feature] = k == F_OK ? v : NAN;
        } else if (f == 0 && label_size) {
            if (k == F_EMPTY)
                return fail_at(CE_LABEL_EMPTY, start, e, f, err_pos, err_field);
            if (!isfinite(v))
                return fail_at(CE_LABEL_FINITE, start, e, f, err_pos, err_field);
            *label = v;
        } else {
            if (k == F_EMPTY)
                return fail_at(CE_WEIGHT_EMPTY, start, e, f, err_pos, err_field);
            if (!isfinite(v) || v < 0.0f)
                return fail_at(CE_WEIGHT_BAD, start, e, f, err_pos, err_field);
            *weight = v;
        }
        if (f + 1 < n_fields) {
            if (p < e && *p == ',') {
                p++;
                continue;
            }
            return fail_at(ar_text_at_eol(p, e) ? CE_FIELDS : CE_NUMBER, start, e, f, err_pos,
                           err_field);
        }
        if (ar_text_at_eol(p, e)) {
            *pp = ar_text_next_line(p, e);
            return CE_NONE;
        }
        return fail_at(p < e && *p == ',' ? CE_FIELDS : CE_NUMBER, start, e, f, err_pos, err_field);
    }
}

/* Pass 1: lines and data rows of a chunk. */
static void count_chunk(struct csv_chunk *c)
{
    size_t n_lines = 0, n_rows = 0;
    const char *p = c->b, *e = c->e;
    while (p < e) {
        const char *q = ar_text_skip_space(p, e);
        n_rows += q < e && *q != '\n';
        n_lines++;
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        if (!nl)
            break;
        p = nl + 1;
    }
    c->n_lines = n_lines;
    c->n_rows = n_rows;
}

/* Pass 2: parse a chunk's rows into the output at row c->row0. */
static void parse_chunk(struct csv_chunk *c, const struct ar_csv_opts *o, struct ar_csv_rows *r)
{
    const char *p = c->b, *e = c->e;
    size_t line = c->line0, row = c->row0;
    size_t n_cols = r->n_cols;
    while (p < e) {
        const char *q = ar_text_skip_space(p, e);
        if (q == e || *q == '\n') {
            p = q < e ? q + 1 : e;
            line++;
            continue;
        }
        const char *start = p;
        float dummy;
        float *lab = r->labels ? r->labels + row : &dummy;
        float *wt = r->weights ? r->weights + row : &dummy;
        const char *err_pos;
        size_t err_field;
        int err = parse_row(&p, e, r->n_fields, o->label_size, o->weights, r->x + row * n_cols, lab,
                            wt, &err_pos, &err_field);
        if (err) {
            c->err = err;
            c->err_line = line;
            c->err_line_start = start;
            c->err_pos = err_pos;
            c->err_field = err_field;
            return;
        }
        row++;
        line++;
    }
}

/* Copies a token for a message: at most 40 bytes, control bytes as '?'. */
static void token_text(const char *p, const char *e, char *out, size_t cap)
{
    const char *t = p;
    while (t < e && *t != ',' && *t != '\n')
        t++;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
        t--;
    ar_text_quote(p, (size_t)(t - p), out, cap);
}

static const char *name_of(const struct ar_csv_opts *o)
{
    return o->name ? o->name : "csv";
}

/* Sets the message for the earliest error (serial, after the parallel region). */
static int report(const struct csv_chunk *c, const char *buf, const struct ar_csv_opts *o,
                  const struct ar_csv_rows *r)
{
    const char *ls = c->err_line_start;
    const char *le = memchr(ls, '\n', (size_t)(c->e - ls));
    if (!le)
        le = c->e;
    const char *nul = memchr(ls, '\0', (size_t)(le - ls));
    const char *nm = name_of(o);
    if (nul)
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: NUL byte at byte offset %llu", nm,
                          c->err_line,
                          (unsigned long long)(o->first_offset + (uint64_t)(nul - buf)));
    char tok[64];
    size_t col = c->err_field;
    switch (c->err) {
    case CE_FIELDS: {
        size_t n = 1;
        for (const char *t = ls; t < le; t++)
            n += *t == ',';
        if (r->n_fields_line)
            return ar_err_set(AR_ERR_FORMAT,
                              "%s: line %zu: %zu field%s, expected %zu (as on line %zu)", nm,
                              c->err_line, n, n == 1 ? "" : "s", r->n_fields, r->n_fields_line);
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: line %zu: %zu field%s, expected %zu (as in the first file)", nm,
                          c->err_line, n, n == 1 ? "" : "s", r->n_fields);
    }
    case CE_NUMBER:
        token_text(c->err_pos, le, tok, sizeof tok);
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, column %zu%s: '%s' is not a number", nm,
                          c->err_line, col, col == 1 && o->label_size ? " (label)" : "", tok);
    case CE_LABEL_EMPTY:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, column 1: the label is empty", nm,
                          c->err_line);
    case CE_LABEL_FINITE:
        token_text(c->err_pos, le, tok, sizeof tok);
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, column 1: label '%s' is not finite", nm,
                          c->err_line, tok);
    case CE_WEIGHT_EMPTY:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, column 2: the weight is empty", nm,
                          c->err_line);
    default:
        token_text(c->err_pos, le, tok, sizeof tok);
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: line %zu, column 2: weight '%s' is not a finite number >= 0", nm,
                          c->err_line, tok);
    }
}

/* Makes room for n_rows x n_cols (+ labels, weights); contents are not kept. */
static int ensure_capacity(struct ar_csv_rows *r, size_t n_rows, const struct ar_csv_opts *o)
{
    if (r->block && n_rows <= r->cap_rows && r->n_cols == r->cap_cols)
        return AR_OK;
    size_t cap = n_rows > r->cap_rows ? n_rows + n_rows / 4 : r->cap_rows;
    if (cap == 0)
        cap = 1;
    size_t nx, xb, vb;
    if (ar_mul_overflow(cap, r->n_cols, &nx) || ar_mul_overflow(nx, sizeof(float), &xb) ||
        ar_mul_overflow(cap, sizeof(float), &vb) || xb > SIZE_MAX / 2 || vb > SIZE_MAX / 8)
        return ar_err_set(AR_ERR_NOMEM, "%zu rows x %zu columns is too large", n_rows, r->n_cols);
    xb = (xb + 63) & ~(size_t)63;
    vb = (vb + 63) & ~(size_t)63;
    char *blk = ar_alloc(xb + 2 * vb);
    if (!blk)
        return AR_ERR_NOMEM;
    ar_free(r->block);
    r->block = blk;
    r->cap_rows = cap;
    r->cap_cols = r->n_cols;
    r->x = (float *)(void *)blk;
    r->labels = o->label_size ? (float *)(void *)(blk + xb) : NULL;
    r->weights = o->weights ? (float *)(void *)(blk + xb + vb) : NULL;
    return AR_OK;
}

/* Serial: fixes n_fields from the first data line at or after p (if not fixed yet). */
static int fix_fields(const char *p, const char *e, size_t line, const struct ar_csv_opts *o,
                      struct ar_csv_rows *r)
{
    while (p < e) {
        const char *q = ar_text_skip_space(p, e);
        if (q >= e)
            break;
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        if (*q != '\n') {
            const char *le = nl ? nl : e;
            size_t n = 1;
            for (const char *t = q; t < le; t++)
                n += *t == ',';
            size_t need = (size_t)o->label_size + (o->weights ? 1 : 0) + 1;
            if (n < need) {
                if (o->weights)
                    return ar_err_set(
                        AR_ERR_FORMAT,
                        "%s: line %zu: %zu field%s, need a label, a weight and at least one feature",
                        name_of(o), line, n, n == 1 ? "" : "s");
                return ar_err_set(
                    AR_ERR_FORMAT,
                    "%s: line %zu: 1 field (label only), need a label and at least one feature",
                    name_of(o), line);
            }
            r->n_fields = n;
            r->n_fields_line = line;
            return AR_OK;
        }
        if (!nl)
            break;
        p = nl + 1;
        line++;
    }
    return AR_OK;
}

int ar_csv_parse(const char *buf, size_t len, const struct ar_csv_opts *o, struct ar_csv_rows *r)
{
    if (o->label_size < 0 || o->label_size > 1 || (o->weights && o->label_size != 1) ||
        o->first_line == 0)
        return ar_err_set(AR_ERR_INVALID, "csv: label_size must be 0 or 1 (1 with weights)");
    r->n_rows = 0;
    r->n_lines = 0;
    const char *b0 = buf, *end = buf + len;
    if (o->first_line == 1 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        b0 += 3;
    if (b0 == end)
        return AR_OK;

    int rc = AR_OK;
    if (r->n_fields == 0) {
        rc = fix_fields(b0, end, o->first_line, o, r);
        if (rc)
            return rc;
        if (r->n_fields == 0) {
            /* Only blank lines: no rows, but the lines still count. */
            for (const char *p = b0; p < end; r->n_lines++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                p = nl ? nl + 1 : end;
            }
            return AR_OK;
        }
    }

    size_t n_chunks = o->n_threads > 0 ? (size_t)o->n_threads : (size_t)ar_par_threads();
    if (o->n_threads <= 0 && n_chunks > 1 + len / (1u << 20))
        n_chunks = 1 + len / (1u << 20);
    /* Up to 4 chunks live on the stack (no allocation for a small buffer). */
    struct csv_chunk local[4];
    struct csv_chunk *ch = local;
    if (n_chunks > 4) {
        ch = ar_callocn(n_chunks, sizeof *ch);
        if (!ch)
            return AR_ERR_NOMEM;
    } else {
        memset(local, 0, sizeof local);
    }
    const char *prev = b0;
    for (size_t t = 0; t < n_chunks; t++) {
        const char *cut = ar_text_chunk_end(b0, end, prev, t, n_chunks);
        ch[t].b = prev;
        ch[t].e = cut;
        prev = cut;
    }

    int nth = ar_par_threads();
    if ((size_t)nth > n_chunks)
        nth = (int)n_chunks;
    if (nth == 1) {
        /* Small buffers (a request body) never start a parallel region. */
        for (size_t t = 0; t < n_chunks; t++)
            count_chunk(&ch[t]);
    } else {
#pragma omp parallel num_threads(nth)
        {
            for (size_t t = (size_t)ar_par_tid(); t < n_chunks; t += (size_t)ar_par_region_size())
                count_chunk(&ch[t]);
        }
    }

    size_t rows = 0, lines = o->first_line;
    for (size_t t = 0; t < n_chunks; t++) {
        ch[t].row0 = rows;
        ch[t].line0 = lines;
        rows += ch[t].n_rows;
        lines += ch[t].n_lines;
    }
    r->n_cols = r->n_fields - (size_t)o->label_size - (o->weights ? 1 : 0);
    rc = ensure_capacity(r, rows, o);
    if (rc)
        goto done;

    if (nth == 1) {
        for (size_t t = 0; t < n_chunks; t++)
            parse_chunk(&ch[t], o, r);
    } else {
#pragma omp parallel num_threads(nth)
        {
            for (size_t t = (size_t)ar_par_tid(); t < n_chunks; t += (size_t)ar_par_region_size())
                parse_chunk(&ch[t], o, r);
        }
    }

    for (size_t t = 0; t < n_chunks; t++) {
        if (ch[t].err) {
            rc = report(&ch[t], buf, o, r);
            goto done;
        }
    }
    r->n_rows = rows;
    r->n_lines = lines - o->first_line;
done:
    if (ch != local)
        ar_free(ch);
    return rc;
}

void ar_csv_rows_release(struct ar_csv_rows *r)
{
    if (!r)
        return;
    ar_free(r->block);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------------------------ */
/* Batch source                                                                                 */
/* ------------------------------------------------------------------------------------------ */

#define CSV_BLOCK_DEFAULT ((size_t)32 << 20)
#define CSV_LINE_MAX      ((size_t)1 << 30)

struct csv_source {
    struct ar_batch_source base;
    struct ar_input *in;
    struct ar_data_format fmt;
    size_t block_size;
    struct ar_stream *cur; /* the stream being read, or NULL between streams */
    char *blk;             /* read block: [0, blk_len) holds unparsed bytes */
    size_t blk_cap, blk_len;
    size_t line;     /* physical line number of blk[0] in the current file */
    uint64_t offset; /* byte offset of blk[0] in the current file */
    bool files_seen; /* a stream was opened in this pass */
    struct ar_csv_rows rows;
    size_t row_pos; /* next undelivered row of `rows` */
    float *bx;      /* batch buffer for batches that span two blocks */
    size_t bx_rows, bx_cols;
    int failed; /* sticky error code, message in err_msg */
    char err_msg[AR_ERR_MSG_SIZE];
};

static int csv_fail(struct csv_source *s, int rc)
{
    s->failed = rc;
    snprintf(s->err_msg, sizeof s->err_msg, "%s", ar_err_msg());
    return rc;
}

/* Parses [0, n) of the block and moves the rest to the front. */
static int csv_parse_block(struct csv_source *s, size_t n)
{
    struct ar_csv_opts o = {
        .label_size = s->fmt.label_size,
        .weights = s->fmt.csv_weights,
        .name = s->cur->name,
        .first_line = s->line,
        .first_offset = s->offset,
    };
    int rc = ar_csv_parse(s->blk, n, &o, &s->rows);
    if (rc)
        return rc;
    s->row_pos = 0;
    s->line += s->rows.n_lines;
    s->offset += n;
    memmove(s->blk, s->blk + n, s->blk_len - n);
    s->blk_len -= n;
    return AR_OK;
}

/* Fills s->rows with the next parsed rows; *end = true when the input is exhausted. */
static int csv_fill(struct csv_source *s, bool *end)
{
    *end = false;
    for (;;) {
        if (!s->cur) {
            int rc = ar_input_next(s->in, &s->cur);
            if (rc)
                return rc;
            if (!s->cur) {
                *end = true;
                return AR_OK;
            }
            s->line = 1;
            s->offset = 0;
            s->blk_len = 0;
            /* The field count carries over; the line that fixed it was in another file. */
            s->rows.n_fields_line = 0;
        }
        if (s->blk_len == s->blk_cap) {
            /* A line longer than the block: grow it. */
            if (s->blk_cap >= CSV_LINE_MAX)
                return ar_err_set(AR_ERR_LIMIT, "%s: line %zu is longer than %zu bytes",
                                  s->cur->name, s->line, CSV_LINE_MAX);
            size_t nc = s->blk_cap * 2 > CSV_LINE_MAX ? CSV_LINE_MAX : s->blk_cap * 2;
            char *nb = ar_reallocn(s->blk, s->blk_len, nc, 1);
            if (!nb)
                return AR_ERR_NOMEM;
            s->blk = nb;
            s->blk_cap = nc;
        }
        size_t old = s->blk_len;
        ssize_t got = ar_stream_read_full(s->cur, s->blk + old, s->blk_cap - old);
        if (got < 0) {
            ar_err_prefix("%s: ", s->cur->name);
            return (int)got;
        }
        s->blk_len += (size_t)got;
        int rc;
        if (got == 0) {
            /* End of this file: what is left is its last line (maybe without a line end). */
            rc = csv_parse_block(s, s->blk_len);
            ar_stream_close(s->cur);
            s->cur = NULL;
        } else {
            const char *nl = memrchr(s->blk, '\n', s->blk_len);
            if (!nl)
                continue; /* no complete line yet: read (and grow) more */
            rc = csv_parse_block(s, (size_t)(nl - s->blk) + 1);
        }
        if (rc)
            return rc;
        if (s->rows.n_rows > 0) {
            s->base.n_cols = s->rows.n_cols;
            return AR_OK;
        }
    }
}

static void csv_batch_view(struct csv_source *s, float *x, float *labels, float *weights, size_t n,
                           struct ar_batch *out)
{
    memset(out, 0, sizeof *out);
    out->n_rows = n;
    out->n_cols = s->rows.n_cols;
    out->dense = ar_mat_view(x, n, s->rows.n_cols, s->rows.n_cols);
    out->labels = labels;
    out->weights = weights;
}

static int csv_next(struct ar_batch_source *src, size_t max_rows, struct ar_batch *out)
{
    struct csv_source *s = (struct csv_source *)src;
    memset(out, 0, sizeof *out);
    if (s->failed)
        return ar_err_set(s->failed, "%s", s->err_msg);
    if (max_rows == 0)
        return ar_err_set(AR_ERR_INVALID, "csv: batch size must be at least 1");
    size_t n = 0;
    bool end = false;
    struct ar_csv_rows *r = &s->rows;
    while (n < max_rows) {
        if (s->row_pos == r->n_rows) {
            int rc = csv_fill(s, &end);
            if (rc)
                return csv_fail(s, rc);
            if (end)
                break;
        }
        size_t avail = r->n_rows - s->row_pos, take = max_rows - n;
        if (take > avail)
            take = avail;
        size_t c = r->n_cols, i0 = s->row_pos;
        if (n == 0 && take == max_rows) {
            /* The whole batch lies in this block: hand out a view. */
            s->row_pos += take;
            csv_batch_view(s, r->x + i0 * c, r->labels ? r->labels + i0 : NULL,
                           r->weights ? r->weights + i0 : NULL, take, out);
            return AR_OK;
        }
        if (s->bx_rows < max_rows || s->bx_cols != c) {
            /* Only before the first copy of this call (n == 0): nothing to keep. */
            size_t cnt;
            if (ar_mul_overflow(max_rows, c + 2, &cnt))
                return csv_fail(
                    s, ar_err_set(AR_ERR_NOMEM, "csv: batch of %zu rows is too large", max_rows));
            float *nb = ar_allocn(cnt, sizeof(float));
            if (!nb)
                return csv_fail(s, AR_ERR_NOMEM);
            ar_free(s->bx);
            s->bx = nb;
            s->bx_rows = max_rows;
            s->bx_cols = c;
        }
        float *bl = s->bx + s->bx_rows * c, *bw = bl + s->bx_rows;
        memcpy(s->bx + n * c, r->x + i0 * c, take * c * sizeof(float));
        if (r->labels)
            memcpy(bl + n, r->labels + i0, take * sizeof(float));
        if (r->weights)
            memcpy(bw + n, r->weights + i0, take * sizeof(float));
        s->row_pos += take;
        n += take;
    }
    if (n == 0)
        return AR_OK; /* end of the pass: n_rows == 0 */
    float *bl = s->bx + s->bx_rows * s->bx_cols;
    csv_batch_view(s, s->bx, r->labels ? bl : NULL, r->weights ? bl + s->bx_rows : NULL, n, out);
    return AR_OK;
}

static int csv_reset(struct ar_batch_source *src)
{
    struct csv_source *s = (struct csv_source *)src;
    ar_stream_close(s->cur);
    s->cur = NULL;
    s->blk_len = 0;
    s->row_pos = s->rows.n_rows = 0;
    s->failed = 0;
    return ar_input_rewind(s->in);
}

static void csv_close(struct ar_batch_source *src)
{
    struct csv_source *s = (struct csv_source *)src;
    ar_stream_close(s->cur);
    ar_input_close(s->in);
    ar_csv_rows_release(&s->rows);
    ar_free(s->blk);
    ar_free(s->bx);
    ar_free(s);
}

static const struct ar_batch_source_ops csv_ops = {csv_next, csv_reset, csv_close};

int ar_csv_source_open_ex(struct ar_input *in, const struct ar_data_format *fmt, size_t block_size,
                          struct ar_batch_source **out)
{
    *out = NULL;
    if (fmt->label_size < 0 || fmt->label_size > 1 || (fmt->csv_weights && fmt->label_size != 1)) {
        ar_input_close(in);
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "csv: label_size=%d%s is not supported (0 or 1; weights need 1)",
                          fmt->label_size, fmt->csv_weights ? " with weights" : "");
    }
    struct csv_source *s = ar_callocn(1, sizeof *s);
    if (!s) {
        ar_input_close(in);
        return AR_ERR_NOMEM;
    }
    s->base.ops = &csv_ops;
    s->base.has_labels = fmt->label_size == 1;
    s->in = in;
    s->fmt = *fmt;
    s->block_size = block_size ? block_size : CSV_BLOCK_DEFAULT;
    s->blk = ar_alloc(s->block_size);
    if (!s->blk) {
        csv_close(&s->base);
        return AR_ERR_NOMEM;
    }
    s->blk_cap = s->block_size;
    *out = &s->base;
    return AR_OK;
}

int ar_csv_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                       struct ar_batch_source **out)
{
    return ar_csv_source_open_ex(in, fmt, 0, out);
}
