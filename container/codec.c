/* Request decoding and response encoding for /invocations and batch transform. */
#include "container/codec.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "io/csv.h"
#include "io/libsvm.h"
#include "io/recordio.h"

/* ---- buffers ---- */

int ar_buf_reserve(struct ar_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return AR_OK;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + extra + 1)
        nc *= 2;
    char *nd = ar_reallocn(b->data, b->len, nc, 1);
    if (!nd)
        return AR_ERR_NOMEM;
    b->data = nd;
    b->cap = nc;
    return AR_OK;
}

int ar_buf_put(struct ar_buf *b, const char *s, size_t n)
{
    AR_TRY(ar_buf_reserve(b, n));
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return AR_OK;
}

int ar_buf_puts(struct ar_buf *b, const char *s)
{
    return ar_buf_put(b, s, strlen(s));
}

void ar_buf_release(struct ar_buf *b)
{
    ar_free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- decoding ---- */

static int batch_from_csv(const char *body, size_t len, const char *name, uint64_t line,
                          struct ar_batch *out)
{
    struct ar_csv_rows rows;
    memset(&rows, 0, sizeof rows);
    struct ar_csv_opts opts = {0, false, 0, name, (size_t)line, 0};
    int rc = ar_csv_parse(body, len, &opts, &rows);
    if (rc != AR_OK) {
        ar_csv_rows_release(&rows);
        return rc;
    }
    /* The batch takes over the parsed block (x is at its start): no copy. */
    out->dense = ar_mat_view(rows.x, rows.n_rows, rows.n_cols, rows.n_cols);
    out->dense.owner = rows.block;
    out->n_rows = rows.n_rows;
    out->n_cols = rows.n_cols;
    rows.block = NULL;
    ar_csv_rows_release(&rows);
    return AR_OK;
}

/* libsvm lines may come without a label ("3:1.5 7:2"); give those a 0 label first. */
static int batch_from_libsvm(const char *body, size_t len, const char *name, uint64_t line,
                             struct ar_batch *out)
{
    struct ar_buf fixed = {0};
    int rc = AR_OK;
    for (size_t i = 0; i < len && rc == AR_OK;) {
        size_t e = i;
        while (e < len && body[e] != '\n')
            e++;
        size_t t = i;
        while (t < e && (body[t] == ' ' || body[t] == '\t'))
            t++;
        size_t tok_end = t;
        while (tok_end < e && body[tok_end] != ' ' && body[tok_end] != '\t' &&
               body[tok_end] != '\r')
            tok_end++;
        if (tok_end > t && memchr(body + t, ':', tok_end - t))
            rc = ar_buf_put(&fixed, "0 ", 2);
        if (rc == AR_OK)
            rc = ar_buf_put(&fixed, body + i, e - i + (e < len));
        i = e + 1;
    }
    struct ar_libsvm_data d;
    struct ar_libsvm_opts opts = {0, name, (size_t)line, 0};
    if (rc == AR_OK)
        rc = ar_libsvm_parse(fixed.data ? fixed.data : "", fixed.len, &opts, &d);
    ar_buf_release(&fixed);
    if (rc != AR_OK)
        return rc;
    out->is_sparse = true;
    out->csr = d.csr;
    out->n_rows = d.csr.n_rows;
    out->n_cols = d.csr.n_cols;
    d.csr.owner = NULL;
    ar_libsvm_data_release(&d);
    return AR_OK;
}

/* One JSON instance: {"features": [..]} or {"data": {"features": {"values", "keys", "shape"}}}
 * (also accepts a bare array). Sets *values (array), *keys and *shape (NULL when absent). */
static int instance_parts(const cJSON *inst, size_t idx, const cJSON **values, const cJSON **keys,
                          const cJSON **shape)
{
    *values = *keys = *shape = NULL;
    if (cJSON_IsArray(inst)) {
        *values = inst;
        return AR_OK;
    }
    if (!cJSON_IsObject(inst))
        return ar_err_set(AR_ERR_FORMAT, "instance %zu: expected an object", idx + 1);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(inst, "features");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(inst, "data");
    if (!f && cJSON_IsObject(data))
        f = cJSON_GetObjectItemCaseSensitive(data, "features");
    if (cJSON_IsArray(f)) {
        *values = f;
        return AR_OK;
    }
    if (!cJSON_IsObject(f))
        return ar_err_set(AR_ERR_FORMAT, "instance %zu: no \"features\" array or object", idx + 1);
    *values = cJSON_GetObjectItemCaseSensitive(f, "values");
    *keys = cJSON_GetObjectItemCaseSensitive(f, "keys");
    *shape = cJSON_GetObjectItemCaseSensitive(f, "shape");
    if (!cJSON_IsArray(*values))
        return ar_err_set(AR_ERR_FORMAT, "instance %zu: features has no \"values\" array", idx + 1);
    if (*keys && !cJSON_IsArray(*keys))
        return ar_err_set(AR_ERR_FORMAT, "instance %zu: \"keys\" is not an array", idx + 1);
    if (*keys && !cJSON_IsArray(*shape))
        return ar_err_set(AR_ERR_FORMAT, "instance %zu: sparse features need \"shape\"", idx + 1);
    return AR_OK;
}

static int json_number(const cJSON *v, size_t idx, size_t col, float *out)
{
    if (cJSON_IsNumber(v)) {
        *out = (float)v->valuedouble;
        return AR_OK;
    }
    if (cJSON_IsNull(v)) {
        *out = NAN;
        return AR_OK;
    }
    return ar_err_set(AR_ERR_FORMAT, "instance %zu: value %zu is not a number", idx + 1, col + 1);
}

/* Builds a batch from an array of instances (dense when no instance is sparse). */
static int batch_from_instances(const cJSON *const *insts, size_t n, struct ar_batch *out)
{
    int sparse = 0;
    size_t width = 0, nnz = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *v, *k, *s;
        AR_TRY(instance_parts(insts[i], i, &v, &k, &s));
        size_t nv = (size_t)cJSON_GetArraySize(v);
        size_t w = nv;
        if (k) {
            sparse = 1;
            if ((size_t)cJSON_GetArraySize(k) != nv)
                return ar_err_set(AR_ERR_FORMAT, "instance %zu: %zu keys for %zu values", i + 1,
                                  (size_t)cJSON_GetArraySize(k), nv);
            const cJSON *s0 = cJSON_GetArrayItem(s, 0);
            if (!cJSON_IsNumber(s0) || s0->valuedouble < 0 || s0->valuedouble > 1e9 ||
                cJSON_GetArraySize(s) != 1)
                return ar_err_set(AR_ERR_FORMAT, "instance %zu: shape must be [n_features]", i + 1);
            w = (size_t)s0->valuedouble;
        }
        if (i == 0)
            width = w;
        else if (w != width)
            return ar_err_set(AR_ERR_FORMAT, "instance %zu has %zu features, instance 1 has %zu",
                              i + 1, w, width);
        nnz += nv;
    }
    out->n_rows = n;
    out->n_cols = width;
    if (!sparse) {
        AR_TRY(ar_mat_alloc(&out->dense, n, width));
        for (size_t i = 0; i < n; i++) {
            const cJSON *v, *k, *s;
            instance_parts(insts[i], i, &v, &k, &s);
            size_t j = 0;
            const cJSON *x;
            float *row = ar_mat_row(&out->dense, i);
            cJSON_ArrayForEach(x, v)
            {
                AR_TRY(json_number(x, i, j, &row[j]));
                j++;
            }
        }
        return AR_OK;
    }
    out->is_sparse = true;
    AR_TRY(ar_csr_alloc(&out->csr, n, width, nnz));
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *v, *k, *s;
        instance_parts(insts[i], i, &v, &k, &s);
        size_t nv = (size_t)cJSON_GetArraySize(v), start = pos;
        for (size_t j = 0; j < nv; j++) {
            const cJSON *kj = k ? cJSON_GetArrayItem(k, (int)j) : NULL;
            double key = k ? (cJSON_IsNumber(kj) ? kj->valuedouble : -1) : (double)j;
            if (key < 0 || key >= (double)width || key != floor(key))
                return ar_err_set(AR_ERR_FORMAT, "instance %zu: key %zu is not in [0, %zu)", i + 1,
                                  j + 1, width);
            /* insertion keeps the row sorted by key */
            size_t at = pos;
            while (at > start && out->csr.indices[at - 1] > (uint32_t)key)
                at--;
            if (at > start && out->csr.indices[at - 1] == (uint32_t)key)
                return ar_err_set(AR_ERR_FORMAT, "instance %zu: key %u repeated", i + 1,
                                  (unsigned)key);
            memmove(out->csr.indices + at + 1, out->csr.indices + at, (pos - at) * 4);
            memmove(out->csr.values + at + 1, out->csr.values + at, (pos - at) * 4);
            out->csr.indices[at] = (uint32_t)key;
            AR_TRY(json_number(cJSON_GetArrayItem(v, (int)j), i, j, &out->csr.values[at]));
            pos++;
        }
        out->csr.indptr[i + 1] = pos;
    }
    return AR_OK;
}

static int batch_from_json(const char *body, size_t len, struct ar_batch *out)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return ar_err_set(AR_ERR_FORMAT, "request body is not valid JSON");
    const cJSON *insts = cJSON_GetObjectItemCaseSensitive(j, "instances");
    int rc;
    if (!cJSON_IsArray(insts)) {
        /* A single instance object is accepted too. */
        if (cJSON_IsObject(j) && (cJSON_GetObjectItemCaseSensitive(j, "features") ||
                                  cJSON_GetObjectItemCaseSensitive(j, "data"))) {
            const cJSON *one[1] = {j};
            rc = batch_from_instances(one, 1, out);
        } else {
            rc = ar_err_set(AR_ERR_FORMAT, "JSON request needs an \"instances\" array");
        }
        cJSON_Delete(j);
        return rc;
    }
    size_t n = (size_t)cJSON_GetArraySize(insts);
    const cJSON **arr = ar_callocn(n ? n : 1, sizeof *arr);
    if (!arr) {
        cJSON_Delete(j);
        return AR_ERR_NOMEM;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, insts) arr[i++] = it;
    rc = batch_from_instances(arr, n, out);
    ar_free(arr);
    cJSON_Delete(j);
    return rc;
}

static int batch_from_jsonlines(const char *body, size_t len, const char *name, uint64_t first,
                                struct ar_batch *out)
{
    size_t cap = 64, n = 0;
    cJSON **docs = ar_callocn(cap, sizeof *docs);
    int rc = docs ? AR_OK : AR_ERR_NOMEM;
    uint64_t line = first - 1;
    for (size_t i = 0; i < len && rc == AR_OK;) {
        size_t e = i;
        while (e < len && body[e] != '\n')
            e++;
        line++;
        size_t t = i;
        while (t < e && (body[t] == ' ' || body[t] == '\t' || body[t] == '\r'))
            t++;
        if (t < e) {
            cJSON *d = cJSON_ParseWithLength(body + t, e - t);
            if (!d) {
                rc = ar_err_set(AR_ERR_FORMAT, "%s: line %llu is not valid JSON", name,
                                (unsigned long long)line);
                break;
            }
            if (n == cap) {
                cJSON **nd = ar_reallocn(docs, cap * sizeof *docs, cap * 2, sizeof *docs);
                if (!nd) {
                    cJSON_Delete(d);
                    rc = AR_ERR_NOMEM;
                    break;
                }
                docs = nd;
                cap *= 2;
            }
            docs[n++] = d;
        }
        i = e + 1;
    }
    if (rc == AR_OK)
        rc = batch_from_instances((const cJSON *const *)docs, n, out);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(docs[i]);
    ar_free(docs);
    return rc;
}

int ar_codec_decode(const char *body, size_t len, const struct ar_data_format *fmt,
                    struct ar_batch *out)
{
    return ar_codec_decode_at(body, len, fmt, "request body", 1, out);
}

int ar_codec_decode_at(const char *body, size_t len, const struct ar_data_format *fmt,
                       const char *name, uint64_t first_line, struct ar_batch *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    switch (fmt->content) {
    case AR_CONTENT_CSV:
        rc = batch_from_csv(body, len, name, first_line, out);
        break;
    case AR_CONTENT_LIBSVM:
        rc = batch_from_libsvm(body, len, name, first_line, out);
        break;
    case AR_CONTENT_RECORDIO_PB:
        rc = ar_recordio_read_mem(body, len, name, out);
        if (rc == AR_OK) {
            /* Labels in a request are ignored. */
            ar_free(out->owner);
            out->owner = NULL;
            out->labels = NULL;
            out->weights = NULL;
        }
        break;
    case AR_CONTENT_JSON:
        rc = batch_from_json(body, len, out);
        break;
    case AR_CONTENT_JSONLINES:
        rc = batch_from_jsonlines(body, len, name, first_line, out);
        break;
    default:
        rc = ar_err_set(AR_ERR_UNSUPPORTED, "cannot decode %s", ar_format_mime(fmt->content));
    }
    if (rc != AR_OK)
        ar_batch_release(out);
    return rc;
}

/* ---- response columns ---- */

int ar_codec_outputs(const struct ar_algo *algo, const struct ar_model *m, const char *select_spec,
                     struct ar_encode_opts *opts, struct ar_table *t)
{
    if (select_spec && *select_spec) {
        if (!algo->select_outputs)
            return ar_err_set(AR_ERR_UNSUPPORTED,
                              "SAGEMAKER_INFERENCE_OUTPUT is not supported by %s", algo->id);
        struct ar_table sel;
        bool json = opts->accept == AR_CONTENT_JSON || opts->accept == AR_CONTENT_JSONLINES;
        AR_TRY(algo->select_outputs(m, select_spec, t, json, &sel));
        ar_table_release(t);
        *t = sel;
        opts->csv_quote_lists = true;
        return AR_OK;
    }
    if (!algo->default_outputs)
        return AR_OK;
    /* Keep the default columns, free the others. */
    struct ar_table keep = ar_table_pick(t, algo->default_outputs);
    for (size_t i = 0; i < t->n_cols; i++) {
        int kept = 0;
        for (size_t k = 0; k < keep.n_cols; k++)
            kept |= keep.cols[k].data == t->cols[i].data;
        if (!kept)
            ar_free(t->cols[i].data);
    }
    *t = keep;
    return AR_OK;
}

/* ---- encoding ---- */

const char *ar_codec_mime(enum ar_content c)
{
    switch (c) {
    case AR_CONTENT_CSV:
        return "text/csv; charset=utf-8";
    case AR_CONTENT_JSON:
        return "application/json";
    case AR_CONTENT_JSONLINES:
        return "application/jsonlines";
    case AR_CONTENT_RECORDIO_PB:
        return "application/x-recordio-protobuf";
    default:
        return ar_format_mime(c);
    }
}

static int put_value(struct ar_buf *out, const struct ar_table_col *c, float v)
{
    char num[40];
    int n;
    if (c->integral && isfinite(v))
        n = snprintf(num, sizeof num, "%lld", (long long)v);
    else
        n = ar_fmt_pyrepr((double)v, num);
    /* JSON has no NaN/Infinity literals: Python's json module writes NaN / Infinity. */
    return ar_buf_put(out, num, (size_t)n);
}

static int put_json_value(struct ar_buf *out, const struct ar_table_col *c, float v)
{
    if (isnan(v))
        return ar_buf_put(out, "NaN", 3);
    if (isinf(v))
        return ar_buf_puts(out, v < 0 ? "-Infinity" : "Infinity");
    return put_value(out, c, v);
}

/* Row i as a JSON object: {"name": v, "vec": [a, b]} in column order. */
static int put_json_row(struct ar_buf *out, const struct ar_table *t, size_t i)
{
    AR_TRY(ar_buf_put(out, "{", 1));
    for (size_t c = 0; c < t->n_cols; c++) {
        const struct ar_table_col *col = &t->cols[c];
        if (c)
            AR_TRY(ar_buf_put(out, ", ", 2));
        AR_TRY(ar_buf_put(out, "\"", 1));
        AR_TRY(ar_buf_puts(out, col->name));
        AR_TRY(ar_buf_put(out, "\": ", 3));
        const float *v = col->data + i * col->width;
        if (col->width == 1) {
            AR_TRY(put_json_value(out, col, v[0]));
            continue;
        }
        AR_TRY(ar_buf_put(out, "[", 1));
        for (size_t k = 0; k < col->width; k++) {
            if (k)
                AR_TRY(ar_buf_put(out, ", ", 2));
            AR_TRY(put_json_value(out, col, v[k]));
        }
        AR_TRY(ar_buf_put(out, "]", 1));
    }
    return ar_buf_put(out, "}", 1);
}

static int put_list(struct ar_buf *out, const struct ar_table_col *col, const float *v,
                    const char *sep)
{
    for (size_t k = 0; k < col->width; k++) {
        if (k)
            AR_TRY(ar_buf_puts(out, sep));
        AR_TRY(put_value(out, col, v[k]));
    }
    return AR_OK;
}

int ar_codec_encode(const struct ar_table *t, const struct ar_encode_opts *opts, struct ar_buf *out)
{
    if (opts->batch_lines) {
        /* str(value) per line; a vector prints as a Python list. */
        for (size_t i = 0; i < t->n_rows; i++) {
            for (size_t c = 0; c < t->n_cols; c++) {
                const struct ar_table_col *col = &t->cols[c];
                const float *v = col->data + i * col->width;
                if (c)
                    AR_TRY(ar_buf_put(out, ",", 1));
                if (col->width == 1) {
                    AR_TRY(put_value(out, col, v[0]));
                } else {
                    AR_TRY(ar_buf_put(out, "[", 1));
                    AR_TRY(put_list(out, col, v, ", "));
                    AR_TRY(ar_buf_put(out, "]", 1));
                }
            }
            AR_TRY(ar_buf_put(out, "\n", 1));
        }
        return AR_OK;
    }
    switch (opts->accept) {
    case AR_CONTENT_JSON:
        AR_TRY(ar_buf_puts(out, "{\"predictions\": ["));
        for (size_t i = 0; i < t->n_rows; i++) {
            if (i)
                AR_TRY(ar_buf_put(out, ", ", 2));
            AR_TRY(put_json_row(out, t, i));
        }
        return ar_buf_puts(out, "]}");
    case AR_CONTENT_JSONLINES:
        for (size_t i = 0; i < t->n_rows; i++) {
            AR_TRY(put_json_row(out, t, i));
            AR_TRY(ar_buf_put(out, "\n", 1));
        }
        return AR_OK;
    case AR_CONTENT_CSV:
        for (size_t i = 0; i < t->n_rows; i++) {
            for (size_t c = 0; c < t->n_cols; c++) {
                const struct ar_table_col *col = &t->cols[c];
                const float *v = col->data + i * col->width;
                if (c)
                    AR_TRY(ar_buf_put(out, ",", 1));
                if (col->width > 1 && opts->csv_quote_lists) {
                    AR_TRY(ar_buf_put(out, "\"[", 2));
                    AR_TRY(put_list(out, col, v, ", "));
                    AR_TRY(ar_buf_put(out, "]\"", 2));
                } else {
                    AR_TRY(put_list(out, col, v, ","));
                }
            }
            AR_TRY(ar_buf_put(out, "\n", 1));
        }
        return AR_OK;
    case AR_CONTENT_RECORDIO_PB: {
        struct ar_recordio_label_col cols[AR_TABLE_MAX_COLS];
        for (size_t c = 0; c < t->n_cols; c++) {
            cols[c].key = t->cols[c].name;
            cols[c].values = t->cols[c].data;
            cols[c].width = t->cols[c].width;
        }
        struct ar_recordio_buf rb = {0};
        int rc = ar_recordio_write_labels(t->n_rows, cols, t->n_cols, &rb);
        if (rc == AR_OK)
            rc = ar_buf_put(out, (const char *)rb.data, rb.len);
        ar_recordio_buf_release(&rb);
        return rc;
    }
    default:
        return ar_err_set(AR_ERR_UNSUPPORTED, "cannot encode predictions as %s",
                          ar_format_mime(opts->accept));
    }
}
