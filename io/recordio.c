/* RecordIO framing: the frame reader (memory or stream), multi-part joining, the frame writer,
 * the matrix builder and ar_recordio_read_mem. Protobuf lives in recordio_pb.c. */
#include "io/recordio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "io/recordio_impl.h"

#define BLOCK_SIZE ((size_t)1 << 20)

/* ---- Errors -------------------------------------------------------------------------------- */

int ar_recordio_err_at(int code, const char *name, uint64_t offset, uint64_t index, const char *fmt,
                       ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    bool named = name && name[0];
    return ar_err_set(code, "%s%sbyte %llu: record %llu: %s", named ? name : "", named ? ": " : "",
                      (unsigned long long)offset, (unsigned long long)index, why);
}

/* ---- Frame reader -------------------------------------------------------------------------- */

struct ar_recordio_reader {
    struct ar_stream *stream; /* NULL: memory */
    char *name;
    const uint8_t *data; /* window: data[0] is at file offset `base` */
    size_t len;          /* bytes in the window */
    size_t pos;          /* consumed bytes of the window */
    uint64_t base;
    uint8_t *buf; /* stream mode: owned window storage */
    size_t cap;
    bool eof;
    uint64_t n_records;
    uint8_t *join; /* joined multi-part record */
    size_t join_len, join_cap;
    int failed; /* sticky error code */
};

static int reader_new(const char *name, struct ar_recordio_reader **out)
{
    struct ar_recordio_reader *r = ar_alloc(sizeof *r);
    if (!r)
        return AR_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->name = ar_strdup(name ? name : "");
    if (!r->name) {
        ar_free(r);
        return AR_ERR_NOMEM;
    }
    *out = r;
    return AR_OK;
}

int ar_recordio_reader_new_mem(const void *data, size_t len, const char *name,
                               struct ar_recordio_reader **out)
{
    struct ar_recordio_reader *r;
    AR_TRY(reader_new(name, &r));
    r->data = data;
    r->len = len;
    r->eof = true;
    *out = r;
    return AR_OK;
}

int ar_recordio_reader_new_stream(struct ar_stream *s, struct ar_recordio_reader **out)
{
    struct ar_recordio_reader *r;
    AR_TRY(reader_new(s->name, &r));
    r->stream = s;
    *out = r;
    return AR_OK;
}

const char *ar_recordio_reader_name(const struct ar_recordio_reader *r)
{
    return r->name;
}

void ar_recordio_reader_free(struct ar_recordio_reader *r)
{
    if (!r)
        return;
    ar_free(r->buf);
    ar_free(r->join);
    ar_free(r->name);
    ar_free(r);
}

/* Makes at least `need` unconsumed bytes available if the input has them; *avail gets how many
 * there are (fewer than `need` only at end of input). The window grows only as data arrives,
 * so a corrupt length word cannot make us allocate more than about twice the input. */
static int reader_fill(struct ar_recordio_reader *r, size_t need, size_t *avail)
{
    while (r->len - r->pos < need && !r->eof) {
        if (r->pos > 0) { /* compact: drop consumed bytes */
            memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->base += r->pos;
            r->len -= r->pos;
            r->pos = 0;
        }
        if (r->len == r->cap) {
            size_t ncap = r->cap ? r->cap * 2 : BLOCK_SIZE;
            if (ncap > need && need > r->cap)
                ncap = need > BLOCK_SIZE ? need : BLOCK_SIZE;
            uint8_t *nb = ar_reallocn(r->buf, r->len, ncap, 1);
            if (!nb)
                return AR_ERR_NOMEM;
            r->buf = nb;
            r->cap = ncap;
        }
        r->data = r->buf;
        ssize_t got = r->stream->ops->read(r->stream, r->buf + r->len, r->cap - r->len);
        if (got < 0) {
            ar_err_prefix("%s: byte %llu: ", r->name, (unsigned long long)(r->base + r->len));
            return (int)got;
        }
        if (got == 0)
            r->eof = true;
        r->len += (size_t)got;
    }
    *avail = r->len - r->pos;
    return AR_OK;
}

static int join_append(struct ar_recordio_reader *r, const uint8_t *p, size_t n, bool magic,
                       uint64_t first)
{
    size_t add = n + (magic ? 4 : 0);
    if (add > AR_RECORDIO_MAX_RECORD - r->join_len)
        return ar_recordio_err_at(AR_ERR_LIMIT, r->name, first, r->n_records + 1,
                                  "multi-part record exceeds %zu bytes", AR_RECORDIO_MAX_RECORD);
    if (r->join_len + add > r->join_cap) {
        size_t ncap = r->join_cap ? r->join_cap : 4096;
        while (ncap < r->join_len + add)
            ncap *= 2;
        uint8_t *nj = ar_reallocn(r->join, r->join_len, ncap, 1);
        if (!nj)
            return AR_ERR_NOMEM;
        r->join = nj;
        r->join_cap = ncap;
    }
    if (magic) {
        static const uint8_t m[4] = {0x0a, 0x23, 0xd7, 0xce};
        memcpy(r->join + r->join_len, m, 4);
        r->join_len += 4;
    }
    if (n)
        memcpy(r->join + r->join_len, p, n);
    r->join_len += n;
    return AR_OK;
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int reader_next(struct ar_recordio_reader *r, struct ar_recordio_frame *out, bool *end)
{
    bool open = false;  /* a split record is being joined */
    uint64_t first = 0; /* header offset of its first part */
    uint64_t rec = r->n_records + 1;
    for (;;) {
        size_t avail;
        AR_TRY(reader_fill(r, 8, &avail));
        uint64_t off = r->base + r->pos;
        if (avail == 0) {
            if (open)
                return ar_recordio_err_at(AR_ERR_FORMAT, r->name, first, rec,
                                          "multi-part record (flag 1) not terminated before end "
                                          "of file");
            *end = true;
            return AR_OK;
        }
        if (avail < 8)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "frame header needs 8 bytes, only %zu remain (file is %llu "
                                      "bytes)",
                                      avail, (unsigned long long)(off + avail));
        const uint8_t *h = r->data + r->pos;
        uint32_t magic = rd_u32(h), lrec = rd_u32(h + 4);
        if (magic != AR_RECORDIO_MAGIC)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "bad magic 0x%08x, expected 0x%08x", magic,
                                      AR_RECORDIO_MAGIC);
        unsigned cflag = lrec >> 29;
        size_t length = lrec & AR_RECORDIO_MAX_LENGTH;
        size_t pad = (0 - length) & 3;
        if (cflag > 3)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "continuation flag %u is not 0-3", cflag);
        if ((cflag == 0 || cflag == 1) && open)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "flag %u frame inside a multi-part record started at byte "
                                      "%llu",
                                      cflag, (unsigned long long)first);
        if ((cflag == 2 || cflag == 3) && !open)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "continuation flag %u without a preceding start part "
                                      "(flag 1)",
                                      cflag);
        AR_TRY(reader_fill(r, 8 + length + pad, &avail));
        h = r->data + r->pos; /* the window may have moved */
        if (avail < 8 + length + pad)
            return ar_recordio_err_at(AR_ERR_FORMAT, r->name, off, rec,
                                      "frame declares %zu payload bytes + %zu padding, only %zu "
                                      "bytes follow the header (file is %llu bytes)",
                                      length, pad, avail - 8, (unsigned long long)(off + avail));
        r->pos += 8 + length + pad;
        if (cflag == 0) {
            out->data = h + 8;
            out->len = length;
            out->offset = off;
            break;
        }
        if (cflag == 1) {
            open = true;
            first = off;
            r->join_len = 0;
            AR_TRY(join_append(r, h + 8, length, false, first));
            continue;
        }
        AR_TRY(join_append(r, h + 8, length, true, first));
        if (cflag == 3) {
            out->data = r->join;
            out->len = r->join_len;
            out->offset = first;
            break;
        }
    }
    out->index = rec;
    r->n_records = rec;
    return AR_OK;
}

int ar_recordio_reader_next(struct ar_recordio_reader *r, struct ar_recordio_frame *out, bool *end)
{
    memset(out, 0, sizeof *out);
    *end = false;
    if (r->failed)
        return ar_err_set(r->failed, "%s: reading stopped at an earlier error", r->name);
    int rc = reader_next(r, out, end);
    if (rc != AR_OK) {
        r->failed = rc;
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- Output buffer and frames -------------------------------------------------------------- */

void ar_recordio_buf_release(struct ar_recordio_buf *b)
{
    ar_free(b->data);
    memset(b, 0, sizeof *b);
}

int ar_recordio_buf_reserve(struct ar_recordio_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return AR_OK;
    if (n > SIZE_MAX / 2 - b->len)
        return ar_err_set(AR_ERR_NOMEM, "output buffer of %zu + %zu bytes is too large", b->len, n);
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap - b->len < n)
        ncap *= 2;
    uint8_t *nd = ar_reallocn(b->data, b->len, ncap, 1);
    if (!nd)
        return AR_ERR_NOMEM;
    b->data = nd;
    b->cap = ncap;
    return AR_OK;
}

int ar_recordio_frame_append(struct ar_recordio_buf *out, const void *payload, size_t len)
{
    if (len > AR_RECORDIO_MAX_LENGTH)
        return ar_err_set(AR_ERR_LIMIT, "record of %zu bytes exceeds the RecordIO frame limit %u",
                          len, AR_RECORDIO_MAX_LENGTH);
    size_t pad = (0 - len) & 3, need = 8 + len + pad;
    AR_TRY(ar_recordio_buf_reserve(out, need));
    uint8_t *p = out->data + out->len;
    uint32_t words[2] = {AR_RECORDIO_MAGIC, (uint32_t)len};
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 4; k++)
            p[w * 4 + k] = (uint8_t)(words[w] >> (8 * k));
    if (len)
        memcpy(p + 8, payload, len);
    memset(p + 8 + len, 0, pad);
    out->len += need;
    return AR_OK;
}

/* ---- Matrix builder ------------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return AR_OK;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    void *np = ar_reallocn(*p, *cap * elem, ncap, elem);
    if (!np)
        return AR_ERR_NOMEM;
    *p = np;
    *cap = ncap;
    return AR_OK;
}

struct kv {
    uint64_t key;
    float value;
};

static int kv_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct kv *)a)->key, y = ((const struct kv *)b)->key;
    return (x > y) - (x < y);
}

/* Switches the batch to CSR: the dense rows so far get explicit column indices. */
static int to_sparse(struct ar_recordio_matrix *m)
{
    AR_TRY(grow((void **)&m->indices, &m->indices_cap, m->nnz, sizeof(uint32_t)));
    for (size_t i = 0; i < m->n_rows; i++)
        for (uint64_t k = m->indptr[i]; k < m->indptr[i + 1]; k++)
            m->indices[k] = (uint32_t)(k - m->indptr[i]);
    m->sparse = true;
    return AR_OK;
}

int ar_recordio_matrix_add(struct ar_recordio_matrix *m, const struct ar_recordio_row *row,
                           const char *name, uint64_t offset, uint64_t index)
{
    if (!m->have_first) {
        if (row->sparse && row->width > UINT32_MAX)
            return ar_recordio_err_at(AR_ERR_LIMIT, name, offset, index,
                                      "sparse shape [%llu] exceeds %u columns",
                                      (unsigned long long)row->width, UINT32_MAX);
        m->have_first = true;
        m->first_sparse = row->sparse;
        m->width = row->width;
        m->has_label = row->has_label;
    } else {
        const char *first =
            m->first_elsewhere ? "the first record of the input (in another file)" : "record 1";
        if (row->width != m->width) {
            char mine[64], theirs[64];
            snprintf(mine, sizeof mine, row->sparse ? "sparse shape [%llu]" : "%llu values",
                     (unsigned long long)row->width);
            snprintf(theirs, sizeof theirs, m->first_sparse ? "shape [%llu]" : "%llu values",
                     (unsigned long long)m->width);
            if (row->sparse)
                return ar_recordio_err_at(AR_ERR_FORMAT, name, offset, index,
                                          "%s differs from %s %s", mine, first, theirs);
            return ar_recordio_err_at(AR_ERR_FORMAT, name, offset, index,
                                      "dense features have %s, %s has %s", mine, first, theirs);
        }
        if (row->has_label != m->has_label)
            return ar_recordio_err_at(AR_ERR_FORMAT, name, offset, index,
                                      row->has_label ? "has a label, but %s has none"
                                                     : "no label, but %s has one",
                                      first);
    }
    size_t n = row->n_values;
    AR_TRY(grow((void **)&m->indptr, &m->indptr_cap, m->n_rows + 2, sizeof(uint64_t)));
    AR_TRY(grow((void **)&m->values, &m->values_cap, m->nnz + n, sizeof(float)));
    if (m->has_label)
        AR_TRY(grow((void **)&m->labels, &m->labels_cap, m->n_rows + 1, sizeof(float)));
    if (m->n_rows == 0)
        m->indptr[0] = 0;
    if (row->sparse && !m->sparse)
        AR_TRY(to_sparse(m));
    if (m->sparse)
        AR_TRY(grow((void **)&m->indices, &m->indices_cap, m->nnz + n, sizeof(uint32_t)));
    float *v = m->values + m->nnz;
    if (!row->sparse) {
        if (row->kind == AR_RECORDIO_F32) {
            if (n)
                memcpy(v, row->values, n * sizeof(float)); /* little-endian host */
        } else {
            for (size_t j = 0; j < n; j++)
                v[j] = ar_recordio_row_value(row, j);
        }
        if (m->sparse)
            for (size_t j = 0; j < n; j++)
                m->indices[m->nnz + j] = (uint32_t)j;
    } else {
        uint32_t *ix = m->indices + m->nnz;
        bool sorted = true;
        for (size_t j = 0; j < n; j++) {
            if (j > 0 && row->keys[j] <= row->keys[j - 1])
                sorted = false;
            ix[j] = (uint32_t)row->keys[j]; /* keys < width <= UINT32_MAX, checked */
            v[j] = ar_recordio_row_value(row, j);
        }
        if (!sorted) {
            AR_TRY(grow(&m->scratch, &m->scratch_cap, n, sizeof(struct kv)));
            struct kv *s = m->scratch;
            for (size_t j = 0; j < n; j++) {
                s[j].key = row->keys[j];
                s[j].value = v[j];
            }
            qsort(s, n, sizeof *s, kv_cmp);
            for (size_t j = 0; j < n; j++) {
                if (j > 0 && s[j].key == s[j - 1].key)
                    return ar_recordio_err_at(AR_ERR_FORMAT, name, offset, index,
                                              "sparse key %llu appears twice",
                                              (unsigned long long)s[j].key);
                ix[j] = (uint32_t)s[j].key;
                v[j] = s[j].value;
            }
        }
    }
    if (m->has_label)
        m->labels[m->n_rows] = (float)row->label;
    m->nnz += n;
    m->n_rows++;
    m->indptr[m->n_rows] = m->nnz;
    return AR_OK;
}

void ar_recordio_matrix_clear_rows(struct ar_recordio_matrix *m)
{
    m->n_rows = 0;
    m->nnz = 0;
    m->sparse = false;
}

void ar_recordio_matrix_reset(struct ar_recordio_matrix *m)
{
    ar_recordio_matrix_clear_rows(m);
    m->have_first = false;
    m->first_elsewhere = false;
    m->first_sparse = false;
    m->width = 0;
    m->has_label = false;
}

void ar_recordio_matrix_view(const struct ar_recordio_matrix *m, struct ar_batch *out)
{
    memset(out, 0, sizeof *out);
    out->n_rows = m->n_rows;
    out->n_cols = (size_t)m->width;
    out->is_sparse = m->sparse;
    if (m->sparse) {
        struct ar_csr c = {m->n_rows, (size_t)m->width, m->indptr, m->indices, m->values, NULL};
        out->csr = c;
    } else {
        out->dense = ar_mat_view(m->values, m->n_rows, (size_t)m->width, (size_t)m->width);
    }
    out->labels = m->has_label && m->n_rows ? m->labels : NULL;
}

int ar_recordio_matrix_take(const struct ar_recordio_matrix *m, struct ar_batch *out)
{
    memset(out, 0, sizeof *out);
    out->n_rows = m->n_rows;
    out->n_cols = (size_t)m->width;
    out->is_sparse = m->sparse;
    if (m->sparse) {
        AR_TRY(ar_csr_alloc(&out->csr, m->n_rows, (size_t)m->width, m->nnz));
        memcpy(out->csr.indptr, m->indptr, (m->n_rows + 1) * sizeof(uint64_t));
        if (m->nnz) {
            memcpy(out->csr.indices, m->indices, m->nnz * sizeof(uint32_t));
            memcpy(out->csr.values, m->values, m->nnz * sizeof(float));
        }
    } else {
        AR_TRY(ar_mat_alloc(&out->dense, m->n_rows, (size_t)m->width));
        if (m->nnz)
            memcpy(out->dense.data, m->values, m->nnz * sizeof(float));
    }
    if (m->has_label && m->n_rows) {
        out->labels = ar_allocn(m->n_rows, sizeof(float));
        if (!out->labels) {
            ar_mat_release(&out->dense);
            ar_csr_release(&out->csr);
            return AR_ERR_NOMEM;
        }
        memcpy(out->labels, m->labels, m->n_rows * sizeof(float));
        out->owner = out->labels;
    }
    return AR_OK;
}

void ar_recordio_matrix_release(struct ar_recordio_matrix *m)
{
    ar_free(m->values);
    ar_free(m->indices);
    ar_free(m->indptr);
    ar_free(m->labels);
    ar_free(m->scratch);
    memset(m, 0, sizeof *m);
}

/* ---- Whole buffers ------------------------------------------------------------------------- */

int ar_recordio_read_mem(const void *data, size_t len, const char *name, struct ar_batch *out)
{
    struct ar_recordio_reader *r = NULL;
    struct ar_recordio_matrix m = {0};
    struct ar_recordio_row_decoder d = {0};
    int rc = ar_recordio_reader_new_mem(data, len, name, &r);
    if (rc != AR_OK)
        return rc;
    for (;;) {
        struct ar_recordio_frame f;
        bool end;
        rc = ar_recordio_reader_next(r, &f, &end);
        if (rc != AR_OK || end)
            break;
        struct ar_recordio_row row;
        rc = ar_recordio_row_decode(&d, f.data, f.len, &row);
        if (rc != AR_OK) {
            char why[AR_ERR_MSG_SIZE];
            snprintf(why, sizeof why, "%s", ar_err_msg());
            rc = ar_recordio_err_at(rc, r->name, f.offset, f.index, "%s", why);
            break;
        }
        rc = ar_recordio_matrix_add(&m, &row, r->name, f.offset, f.index);
        if (rc != AR_OK)
            break;
    }
    if (rc == AR_OK)
        rc = ar_recordio_matrix_take(&m, out);
    ar_recordio_row_decoder_release(&d);
    ar_recordio_matrix_release(&m);
    ar_recordio_reader_free(r);
    return rc;
}
