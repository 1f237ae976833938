/* libsvm reader: two-pass multi-threaded buffer parser, whole-input loader and batch source.
 * The rules are in io/libsvm.h; numbers go through io/numparse.c. */
#include "io/libsvm.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"
#include "io/batch.h"
#include "io/numparse.h"
#include "io/text_impl.h"

#define LIBSVM_INDEX_MAX 2147483647u
#define LIBSVM_QID_MAX   4294967295u
#define LIBSVM_FILE_MAX  ((size_t)64 << 30)

enum svm_err {
    SE_NONE = 0,
    SE_LABEL_COLONS, /* label token with two ':' */
    SE_LABEL_NUMBER, /* label not a number */
    SE_LABEL_FINITE, /* label nan / inf */
    SE_WEIGHT_EMPTY,
    SE_WEIGHT_BAD,   /* weight not a number, not finite or negative */
    SE_QID_BAD,      /* qid not an integer in range */
    SE_NO_COLON,     /* feature token without ':' */
    SE_INDEX_BAD,    /* index not digits */
    SE_INDEX_LARGE,  /* index > LIBSVM_INDEX_MAX */
    SE_VALUE_EMPTY,  /* "3:" */
    SE_VALUE_NUMBER, /* value not a number */
    SE_DUPLICATE     /* index repeated in the row */
};

struct svm_chunk {
    _Alignas(64) const char *b;
    const char *e;
    size_t n_lines, n_rows, n_cap; /* pass 1: lines, rows, entry bound (':' count) */
    size_t line0, row0, nnz0;      /* prefix sums */
    size_t nnz;                    /* pass 2: entries written */
    uint32_t max_index;            /* pass 2: largest index + 1 (0 = none) */
    bool any_weight, any_qid;      /* pass 2 */
    int err;                       /* pass 2: first error (enum svm_err) */
    size_t err_line, err_token;    /* 1-based; token 1 is the label */
    const char *err_line_start;
    const char *err_tok, *err_tok_end;
    uint32_t err_index; /* SE_DUPLICATE */
};

/* Where the output of pass 2 goes (entry arrays sized by the pass-1 bound). */
struct svm_out {
    uint32_t *idx;
    float *val;
    uint64_t *row_nnz; /* entries per row */
    float *labels, *weights;
    int64_t *qids;
};

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline const char *token_end(const char *p, const char *e)
{
    while (p < e && *p != ' ' && *p != '\t' && *p != '\n' && !(*p == '\r' && ar_text_at_eol(p, e)))
        p++;
    return p;
}

/* Parses decimal digits [p, e) into *v, saturating at max + 1; false unless all digits. */
static bool parse_uint(const char *p, const char *e, uint64_t max, uint64_t *v)
{
    if (p == e)
        return false;
    uint64_t x = 0;
    for (; p < e; p++) {
        if (!is_digit(*p))
            return false;
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > max)
            x = max + 1;
    }
    *v = x;
    return true;
}

/* Shell sort of one row's (index, value) pairs by index. */
static void sort_pairs(uint32_t *idx, float *val, size_t n)
{
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t h = gaps[g];
        for (size_t i = h; i < n; i++) {
            uint32_t ki = idx[i];
            float vi = val[i];
            size_t j = i;
            while (j >= h && idx[j - h] > ki) {
                idx[j] = idx[j - h];
                val[j] = val[j - h];
                j -= h;
            }
            idx[j] = ki;
            val[j] = vi;
        }
    }
}

/* Records an error in the chunk; returns it. */
static int fail(struct svm_chunk *c, int err, size_t line, const char *ls, size_t tok,
                const char *t, const char *te)
{
    c->err = err;
    c->err_line = line;
    c->err_line_start = ls;
    c->err_token = tok;
    c->err_tok = t;
    c->err_tok_end = te;
    return err;
}

/* Parses one non-blank line starting at p; writes row `row` and entries at idx/val. */
static int parse_row(struct svm_chunk *c, const char **pp, const char *e, size_t line, size_t row,
                     const struct svm_out *o, size_t *nnz_out)
{
    const char *ls = *pp;
    const char *p = ar_text_skip_blanks(ls, e);
    /* Token 1: label[:weight]. */
    const char *te = token_end(p, e);
    const char *colon = memchr(p, ':', (size_t)(te - p));
    if (colon && memchr(colon + 1, ':', (size_t)(te - colon - 1)))
        return fail(c, SE_LABEL_COLONS, line, ls, 1, p, te);
    const char *lend = colon ? colon : te;
    float label, weight = 1.0f;
    if (!ar_numparse_f32_full(p, lend, &label))
        return fail(c, SE_LABEL_NUMBER, line, ls, 1, p, lend);
    if (!isfinite(label))
        return fail(c, SE_LABEL_FINITE, line, ls, 1, p, lend);
    if (colon) {
        if (colon + 1 == te)
            return fail(c, SE_WEIGHT_EMPTY, line, ls, 1, p, te);
        if (!ar_numparse_f32_full(colon + 1, te, &weight) || !isfinite(weight) || weight < 0.0f)
            return fail(c, SE_WEIGHT_BAD, line, ls, 1, colon + 1, te);
        c->any_weight = true;
    }
    o->labels[row] = label;
    o->weights[row] = weight;
    o->qids[row] = -1;

    uint32_t *idx = o->idx + c->nnz0 + c->nnz;
    float *val = o->val + c->nnz0 + c->nnz;
    size_t n = 0, tok = 1;
    bool sorted = true;
    uint32_t prev = 0;
    p = te;
    for (;;) {
        p = ar_text_skip_blanks(p, e);
        if (ar_text_at_eol(p, e))
            break;
        tok++;
        te = token_end(p, e);
        colon = memchr(p, ':', (size_t)(te - p));
        if (!colon)
            return fail(c, SE_NO_COLON, line, ls, tok, p, te);
        if (tok == 2 && colon - p == 3 && memcmp(p, "qid", 3) == 0) {
            uint64_t q;
            if (!parse_uint(colon + 1, te, LIBSVM_QID_MAX, &q) || q > LIBSVM_QID_MAX)
                return fail(c, SE_QID_BAD, line, ls, tok, p, te);
            o->qids[row] = (int64_t)q;
            c->any_qid = true;
            p = te;
            continue;
        }
        uint64_t ix;
        if (!parse_uint(p, colon, LIBSVM_INDEX_MAX, &ix))
            return fail(c, SE_INDEX_BAD, line, ls, tok, p, colon);
        if (ix > LIBSVM_INDEX_MAX)
            return fail(c, SE_INDEX_LARGE, line, ls, tok, p, colon);
        if (colon + 1 == te)
            return fail(c, SE_VALUE_EMPTY, line, ls, tok, p, colon);
        float v;
        if (!ar_numparse_f32_full(colon + 1, te, &v))
            return fail(c, SE_VALUE_NUMBER, line, ls, tok, colon + 1, te);
        /* n < bound: every stored entry has its own ':' counted in pass 1. */
        idx[n] = (uint32_t)ix;
        val[n] = v;
        if (n && (uint32_t)ix <= prev)
            sorted = false;
        prev = (uint32_t)ix;
        n++;
        p = te;
    }
    if (!sorted) {
        sort_pairs(idx, val, n);
        for (size_t k = 1; k < n; k++)
            if (idx[k] == idx[k - 1]) {
                c->err_index = idx[k];
                return fail(c, SE_DUPLICATE, line, ls, 0, NULL, NULL);
            }
    }
    if (n && idx[n - 1] + 1 > c->max_index)
        c->max_index = idx[n - 1] + 1;
    *pp = ar_text_next_line(p, e);
    *nnz_out = n;
    return SE_NONE;
}

static void count_chunk(struct svm_chunk *c)
{
    size_t n_lines = 0, n_rows = 0, n_cap = 0;
    const char *p = c->b, *e = c->e;
    while (p < e) {
        const char *q = ar_text_skip_space(p, e);
        n_lines++;
        if (q == e)
            break;
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        const char *le = nl ? nl : e;
        if (q < le) {
            n_rows++;
            for (const char *t = q; t < le; t++)
                n_cap += *t == ':';
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    c->n_lines = n_lines;
    c->n_rows = n_rows;
    c->n_cap = n_cap;
}

static void parse_chunk(struct svm_chunk *c, const struct svm_out *o)
{
    const char *p = c->b, *e = c->e;
    size_t line = c->line0, row = c->row0;
    while (p < e) {
        const char *q = ar_text_skip_space(p, e);
        if (q == e || *q == '\n') {
            p = q < e ? q + 1 : e;
            line++;
            continue;
        }
        size_t n = 0;
        if (parse_row(c, &p, e, line, row, o, &n))
            return;
        o->row_nnz[row] = n;
        c->nnz += n;
        row++;
        line++;
    }
}

static const char *name_of(const struct ar_libsvm_opts *o)
{
    return o->name ? o->name : "libsvm";
}

/* Token number of the second occurrence of index `ix` in the line [ls, le). */
static size_t dup_token(const char *ls, const char *le, uint32_t ix)
{
    size_t tok = 0, seen = 0;
    const char *p = ls;
    for (;;) {
        p = ar_text_skip_blanks(p, le);
        if (ar_text_at_eol(p, le))
            return 0;
        const char *te = token_end(p, le);
        tok++;
        const char *colon = memchr(p, ':', (size_t)(te - p));
        uint64_t v;
        if (tok > 1 && colon && parse_uint(p, colon, LIBSVM_INDEX_MAX, &v) && v == ix &&
            ++seen == 2)
            return tok;
        p = te;
    }
}

static int report(const struct svm_chunk *c, const char *buf, const struct ar_libsvm_opts *o)
{
    const char *ls = c->err_line_start;
    const char *le = memchr(ls, '\n', (size_t)(c->e - ls));
    if (!le)
        le = c->e;
    const char *nm = name_of(o);
    const char *nul = memchr(ls, '\0', (size_t)(le - ls));
    if (nul)
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: NUL byte at byte offset %llu", nm,
                          c->err_line,
                          (unsigned long long)(o->first_offset + (uint64_t)(nul - buf)));
    char t[64];
    if (c->err_tok)
        ar_text_quote(c->err_tok, (size_t)(c->err_tok_end - c->err_tok), t, sizeof t);
    size_t ln = c->err_line, tk = c->err_token;
    switch (c->err) {
    case SE_LABEL_COLONS:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: label token '%s' has more than one ':'", nm,
                          ln, t);
    case SE_LABEL_NUMBER:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: label '%s' is not a number", nm, ln, t);
    case SE_LABEL_FINITE:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: label '%s' is not finite", nm, ln, t);
    case SE_WEIGHT_EMPTY:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: the weight after '%s' is empty", nm, ln, t);
    case SE_WEIGHT_BAD:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu: weight '%s' is not a finite number >= 0",
                          nm, ln, t);
    case SE_QID_BAD:
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: line %zu, token %zu: '%s' is not qid:N with N an integer from 0 "
                          "to %u",
                          nm, ln, tk, t, LIBSVM_QID_MAX);
    case SE_NO_COLON:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, token %zu: '%s' is not index:value", nm, ln,
                          tk, t);
    case SE_INDEX_BAD:
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: line %zu, token %zu: index '%s' is not a non-negative integer", nm,
                          ln, tk, t);
    case SE_INDEX_LARGE:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, token %zu: index %s is larger than %u", nm,
                          ln, tk, t, LIBSVM_INDEX_MAX);
    case SE_VALUE_EMPTY:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, token %zu: value for index %s is empty", nm,
                          ln, tk, t);
    case SE_VALUE_NUMBER:
        return ar_err_set(AR_ERR_FORMAT, "%s: line %zu, token %zu: value '%s' is not a number", nm,
                          ln, tk, t);
    default:
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: line %zu, token %zu: index %" PRIu32 " repeats in this row", nm, ln,
                          dup_token(ls, le, c->err_index), c->err_index);
    }
}

/* Allocates labels / weights / qids as one block. */
static int alloc_rows(struct ar_libsvm_data *d, size_t n_rows)
{
    size_t fb = ((n_rows * sizeof(float)) + 63) & ~(size_t)63;
    size_t qb = n_rows * sizeof(int64_t);
    if (n_rows > SIZE_MAX / 64)
        return ar_err_set(AR_ERR_NOMEM, "libsvm: %zu rows is too many", n_rows);
    char *blk = ar_alloc(2 * fb + qb);
    if (!blk)
        return AR_ERR_NOMEM;
    d->owner = blk;
    d->labels = (float *)(void *)blk;
    d->weights = (float *)(void *)(blk + fb);
    d->qids = (int64_t *)(void *)(blk + 2 * fb);
    return AR_OK;
}

int ar_libsvm_parse(const char *buf, size_t len, const struct ar_libsvm_opts *o,
                    struct ar_libsvm_data *out)
{
    memset(out, 0, sizeof *out);
    struct ar_libsvm_data d;
    memset(&d, 0, sizeof d);
    size_t first_line = o->first_line ? o->first_line : 1;
    const char *b0 = buf, *end = buf + len;
    if (first_line == 1 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        b0 += 3;

    size_t n_chunks = o->n_threads > 0 ? (size_t)o->n_threads : (size_t)ar_par_threads();
    if (o->n_threads <= 0 && n_chunks > 1 + len / (1u << 20))
        n_chunks = 1 + len / (1u << 20);
    struct svm_chunk *ch = ar_callocn(n_chunks, sizeof *ch);
    uint32_t *idx = NULL;
    float *val = NULL;
    uint64_t *row_nnz = NULL;
    int rc = AR_OK;
    if (!ch)
        return AR_ERR_NOMEM;
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
#pragma omp parallel num_threads(nth)
    {
        for (size_t t = (size_t)ar_par_tid(); t < n_chunks; t += (size_t)ar_par_region_size())
            count_chunk(&ch[t]);
    }
    size_t rows = 0, cap = 0, lines = first_line;
    for (size_t t = 0; t < n_chunks; t++) {
        ch[t].row0 = rows;
        ch[t].nnz0 = cap;
        ch[t].line0 = lines;
        rows += ch[t].n_rows;
        cap += ch[t].n_cap;
        lines += ch[t].n_lines;
    }
    idx = ar_allocn(cap ? cap : 1, sizeof *idx);
    val = ar_allocn(cap ? cap : 1, sizeof *val);
    row_nnz = ar_allocn(rows ? rows : 1, sizeof *row_nnz);
    if (!idx || !val || !row_nnz || (rc = alloc_rows(&d, rows)) != AR_OK) {
        rc = rc ? rc : AR_ERR_NOMEM;
        goto done;
    }
    struct svm_out so = {idx, val, row_nnz, d.labels, d.weights, d.qids};
#pragma omp parallel num_threads(nth)
    {
        for (size_t t = (size_t)ar_par_tid(); t < n_chunks; t += (size_t)ar_par_region_size())
            parse_chunk(&ch[t], &so);
    }
    size_t nnz = 0;
    uint32_t n_cols = 0;
    bool any_w = false, any_q = false;
    for (size_t t = 0; t < n_chunks; t++) {
        if (ch[t].err) {
            rc = report(&ch[t], buf, o);
            goto done;
        }
        nnz += ch[t].nnz;
        if (ch[t].max_index > n_cols)
            n_cols = ch[t].max_index;
        any_w |= ch[t].any_weight;
        any_q |= ch[t].any_qid;
    }
    rc = ar_csr_alloc(&d.csr, rows, n_cols, nnz);
    if (rc)
        goto done;
    /* Compact: chunk t's entries sit at its pass-1 bound offset. */
    size_t at = 0;
    for (size_t t = 0; t < n_chunks; t++) {
        if (ch[t].nnz) {
            memcpy(d.csr.indices + at, idx + ch[t].nnz0, ch[t].nnz * sizeof *idx);
            memcpy(d.csr.values + at, val + ch[t].nnz0, ch[t].nnz * sizeof *val);
        }
        at += ch[t].nnz;
    }
    d.csr.indptr[0] = 0;
    for (size_t i = 0; i < rows; i++)
        d.csr.indptr[i + 1] = d.csr.indptr[i] + row_nnz[i];
    if (!any_w)
        d.weights = NULL;
    if (!any_q)
        d.qids = NULL;
    *out = d;
    memset(&d, 0, sizeof d);
done:
    ar_libsvm_data_release(&d);
    ar_free(idx);
    ar_free(val);
    ar_free(row_nnz);
    ar_free(ch);
    return rc;
}

void ar_libsvm_data_release(struct ar_libsvm_data *d)
{
    if (!d)
        return;
    ar_csr_release(&d->csr);
    ar_free(d->owner);
    memset(d, 0, sizeof *d);
}

/* Appends parts[0..n) into one data set. */
static int concat(struct ar_libsvm_data *parts, size_t n, struct ar_libsvm_data *out)
{
    size_t rows = 0, nnz = 0, n_cols = 0;
    bool any_w = false, any_q = false;
    for (size_t i = 0; i < n; i++) {
        rows += parts[i].csr.n_rows;
        nnz += ar_csr_nnz(&parts[i].csr);
        if (parts[i].csr.n_cols > n_cols)
            n_cols = parts[i].csr.n_cols;
        any_w |= parts[i].weights != NULL;
        any_q |= parts[i].qids != NULL;
    }
    struct ar_libsvm_data d;
    memset(&d, 0, sizeof d);
    int rc = ar_csr_alloc(&d.csr, rows, n_cols, nnz);
    if (rc == AR_OK)
        rc = alloc_rows(&d, rows);
    if (rc) {
        ar_libsvm_data_release(&d);
        return rc;
    }
    size_t r0 = 0, k0 = 0;
    d.csr.indptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ar_libsvm_data *p = &parts[i];
        size_t pr = p->csr.n_rows, pk = ar_csr_nnz(&p->csr);
        if (pk) {
            memcpy(d.csr.indices + k0, p->csr.indices, pk * sizeof(uint32_t));
            memcpy(d.csr.values + k0, p->csr.values, pk * sizeof(float));
        }
        for (size_t r = 0; r < pr; r++) {
            d.csr.indptr[r0 + r + 1] = k0 + p->csr.indptr[r + 1];
            d.labels[r0 + r] = p->labels[r];
            d.weights[r0 + r] = p->weights ? p->weights[r] : 1.0f;
            d.qids[r0 + r] = p->qids ? p->qids[r] : -1;
        }
        r0 += pr;
        k0 += pk;
    }
    if (!any_w)
        d.weights = NULL;
    if (!any_q)
        d.qids = NULL;
    *out = d;
    return AR_OK;
}

int ar_libsvm_load(struct ar_input *in, struct ar_libsvm_data *out)
{
    memset(out, 0, sizeof *out);
    struct ar_libsvm_data *parts = NULL;
    size_t n = 0, cap = 0;
    int rc = AR_OK;
    for (;;) {
        struct ar_stream *s = NULL;
        rc = ar_input_next(in, &s);
        if (rc || !s)
            break;
        char *text = NULL;
        size_t len = 0;
        rc = ar_stream_slurp(s, LIBSVM_FILE_MAX, &text, &len);
        if (rc == AR_OK && n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct ar_libsvm_data *np = ar_reallocn(parts, cap * sizeof *parts, nc, sizeof *np);
            if (np) {
                parts = np;
                cap = nc;
            } else {
                rc = AR_ERR_NOMEM;
            }
        }
        if (rc == AR_OK) {
            struct ar_libsvm_opts o = {.name = s->name, .first_line = 1};
            rc = ar_libsvm_parse(text, len, &o, &parts[n]);
            if (rc == AR_OK)
                n++;
        }
        ar_free(text);
        ar_stream_close(s);
        if (rc)
            break;
    }
    if (rc == AR_OK) {
        if (n == 1) {
            *out = parts[0];
            n = 0;
        } else {
            rc = concat(parts, n, out);
        }
    }
    for (size_t i = 0; i < n; i++)
        ar_libsvm_data_release(&parts[i]);
    ar_free(parts);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Batch source                                                                                 */
/* ------------------------------------------------------------------------------------------ */

struct libsvm_source {
    struct ar_batch_source base;
    struct ar_libsvm_data d;
    size_t pos;
};

static int svm_next(struct ar_batch_source *src, size_t max_rows, struct ar_batch *out)
{
    struct libsvm_source *s = (struct libsvm_source *)src;
    memset(out, 0, sizeof *out);
    if (max_rows == 0)
        return ar_err_set(AR_ERR_INVALID, "libsvm: batch size must be at least 1");
    size_t n_rows = s->d.csr.n_rows;
    size_t take = n_rows - s->pos < max_rows ? n_rows - s->pos : max_rows;
    out->n_cols = s->d.csr.n_cols;
    out->is_sparse = true;
    if (take == 0)
        return AR_OK;
    out->n_rows = take;
    out->csr = ar_csr_rows(&s->d.csr, s->pos, s->pos + take);
    out->labels = s->d.labels + s->pos;
    out->weights = s->d.weights ? s->d.weights + s->pos : NULL;
    s->pos += take;
    return AR_OK;
}

static int svm_reset(struct ar_batch_source *src)
{
    ((struct libsvm_source *)src)->pos = 0;
    return AR_OK;
}

static void svm_close(struct ar_batch_source *src)
{
    struct libsvm_source *s = (struct libsvm_source *)src;
    ar_libsvm_data_release(&s->d);
    ar_free(s);
}

static const struct ar_batch_source_ops svm_ops = {svm_next, svm_reset, svm_close};

int ar_libsvm_source_open(struct ar_input *in, const struct ar_data_format *fmt,
                          struct ar_batch_source **out)
{
    (void)fmt;
    *out = NULL;
    struct libsvm_source *s = ar_callocn(1, sizeof *s);
    if (!s) {
        ar_input_close(in);
        return AR_ERR_NOMEM;
    }
    int rc = ar_libsvm_load(in, &s->d);
    ar_input_close(in);
    if (rc) {
        ar_free(s);
        return rc;
    }
    s->base.ops = &svm_ops;
    s->base.n_cols = s->d.csr.n_cols;
    s->base.has_labels = true;
    *out = &s->base;
    return AR_OK;
}
