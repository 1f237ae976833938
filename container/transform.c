/* `algorun transform`: batch transform over files and directories, with SageMaker's
 * SplitType / BatchStrategy / MaxPayloadInMB / AssembleWith semantics and DataProcessing
 * filters and joins. Records go through the same decode -> predict -> encode path as
 * /invocations. Mini-batches are processed in parallel and written in order; memory stays
 * bounded by (queue depth x MaxPayloadInMB) whatever the input size. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/cli.h"
#include "container/codec.h"
#include "container/job.h"
#include "container/jsonpath.h"
#include "container/server.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/timer.h"
#include "io/recordio.h"
#include "io/stream.h"

enum split {
    SPLIT_NONE,
    SPLIT_LINE,
    SPLIT_RECORDIO
};

struct xf {
    const char *select_spec; /* SAGEMAKER_INFERENCE_OUTPUT */
    const struct ar_algo *algo;
    const struct ar_model *model;
    struct ar_data_format fmt;
    struct ar_encode_opts enc;
    enum split split;
    int multi;
    size_t max_payload;
    int assemble_line;
    struct ar_jsonpath *in_filter, *out_filter;
    int join;
    int per_record; /* filters or join: records are handled one by one */
    /* progress */
    int progress;
    double t0, last_report;
    size_t files_done, files_failed, files_total;
    uint64_t rows, bytes_done, bytes_total;
};

/* One mini-batch: whole records, their first line/record number, and the result. */
struct item {
    struct ar_buf body;
    size_t n_records;
    uint64_t first; /* 1-based line (Line) or record (RecordIO) number */
    struct ar_buf out;
    size_t rows;
    int rc;
    char err[512];
};

/* ---- per-record DataProcessing ---- */

/* A CSV line as a JSON array of its fields (strings, exactly as written). */
static cJSON *csv_fields(const char *s, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i = 0;
    while (i <= n) {
        size_t e = i;
        while (e < n && s[e] != ',')
            e++;
        size_t a = i, b = e;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
            b--;
        char *f = ar_alloc(b - a + 1);
        if (f) {
            memcpy(f, s + a, b - a);
            f[b - a] = '\0';
            cJSON_AddItemToArray(arr, cJSON_CreateString(f));
            ar_free(f);
        }
        i = e + 1;
    }
    return arr;
}

static int put_csv_value(struct ar_buf *out, const cJSON *v)
{
    if (cJSON_IsString(v))
        return ar_buf_puts(out, v->valuestring);
    char *s = cJSON_PrintUnformatted(v);
    if (!s)
        return AR_ERR_NOMEM;
    int rc = ar_buf_puts(out, s);
    cJSON_free(s);
    return rc;
}

/* Writes a filtered CSV value: an array as its fields joined by ',', a scalar as itself. */
static int put_csv(struct ar_buf *out, const cJSON *v)
{
    if (!cJSON_IsArray(v))
        return put_csv_value(out, v);
    int first = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!first)
            AR_TRY(ar_buf_put(out, ",", 1));
        first = 0;
        AR_TRY(put_csv_value(out, e));
    }
    return AR_OK;
}

/* Table view of row i (borrowed columns). */
static struct ar_table row_view(const struct ar_table *t, size_t i)
{
    struct ar_table v = *t;
    v.n_rows = 1;
    for (size_t c = 0; c < t->n_cols; c++)
        v.cols[c].data = t->cols[c].data + i * t->cols[c].width;
    return v;
}

static int predict_body(const struct xf *x, const char *body, size_t len, const char *name,
                        uint64_t first_line, struct ar_table *t, size_t *rows)
{
    struct ar_batch b;
    AR_TRY(ar_codec_decode_at(body, len, &x->fmt, name, first_line, &b));
    memset(t, 0, sizeof *t);
    t->n_rows = b.n_rows;
    *rows = b.n_rows;
    int rc = x->algo->predict(x->model, &b, t);
    ar_batch_release(&b);
    if (rc == AR_OK) {
        struct ar_encode_opts eo = x->enc;
        rc = ar_codec_outputs(x->algo, x->model, x->select_spec, &eo, t);
    }
    if (rc != AR_OK) {
        ar_err_prefix("%s: records from line %llu: ", name, (unsigned long long)first_line);
        ar_table_release(t);
    }
    return rc;
}

/* Filters, predicts, joins and filters again, record by record (records are the item's
 * lines, or the whole body for SplitType None). */
static int process_records(const struct xf *x, struct item *it, const char *name)
{
    const char *body = it->body.data;
    size_t len = it->body.len;
    size_t n = 0, cap = it->n_records ? it->n_records : 1;
    cJSON **inputs = ar_callocn(cap, sizeof *inputs);
    struct ar_buf sent = {0};
    struct ar_table t;
    memset(&t, 0, sizeof t);
    int rc = inputs ? AR_OK : AR_ERR_NOMEM;
    int csv = x->fmt.content == AR_CONTENT_CSV;
    /* 1. parse each record and apply the input filter */
    uint64_t line = it->first - 1;
    for (size_t i = 0; rc == AR_OK && i < len;) {
        size_t e = x->split == SPLIT_NONE ? len : i;
        while (e < len && body[e] != '\n')
            e++;
        size_t a = i, b = e;
        while (a < b && (body[a] == ' ' || body[a] == '\t'))
            a++;
        while (b > a && (body[b - 1] == '\r' || body[b - 1] == ' ' || body[b - 1] == '\t'))
            b--;
        i = e + 1;
        line++;
        if (b == a)
            continue;
        cJSON *rec = csv ? csv_fields(body + a, b - a) : cJSON_ParseWithLength(body + a, b - a);
        if (!rec) {
            rc = ar_err_set(AR_ERR_FORMAT, "%s: line %llu is not valid JSON", name,
                            (unsigned long long)line);
            break;
        }
        if (n == cap) {
            cJSON **ni = ar_reallocn(inputs, cap * sizeof *ni, cap * 2, sizeof *ni);
            if (!ni) {
                cJSON_Delete(rec);
                rc = AR_ERR_NOMEM;
                break;
            }
            inputs = ni;
            cap *= 2;
        }
        inputs[n++] = rec;
        cJSON *sel = NULL;
        if (x->in_filter && (rc = ar_jsonpath_apply(x->in_filter, rec, &sel)) != AR_OK) {
            ar_err_prefix("%s: line %llu: InputFilter: ", name, (unsigned long long)line);
            break;
        }
        const cJSON *s = sel ? sel : rec;
        if (csv) {
            rc = put_csv(&sent, s);
        } else {
            char *txt = cJSON_PrintUnformatted(s);
            rc = txt ? ar_buf_puts(&sent, txt) : AR_ERR_NOMEM;
            cJSON_free(txt);
        }
        if (rc == AR_OK)
            rc = ar_buf_put(&sent, "\n", 1);
        cJSON_Delete(sel);
    }
    /* 2. predict all records of the item at once */
    size_t rows = 0;
    if (rc == AR_OK && n > 0)
        rc = predict_body(x, sent.data, sent.len, "filtered records", 1, &t, &rows);
    if (rc != AR_OK && n > 0 && !strstr(ar_err_msg(), name))
        ar_err_prefix("%s: lines %llu-%llu: ", name, (unsigned long long)it->first,
                      (unsigned long long)line);
    if (rc == AR_OK && n > 0 && x->split != SPLIT_NONE && rows != n)
        rc = ar_err_set(AR_ERR_FORMAT, "%s: %zu records gave %zu rows to predict", name, n, rows);
    /* 3. per record: encode, join, output filter */
    for (size_t r = 0; rc == AR_OK && r < n; r++) {
        struct ar_buf one = {0};
        cJSON *inf = NULL, *joined = NULL, *final = NULL;
        if (x->split == SPLIT_NONE) {
            struct ar_encode_opts eo = x->enc;
            rc = ar_codec_encode(&t, &eo, &one);
        } else {
            struct ar_table v = row_view(&t, r);
            struct ar_encode_opts eo = x->enc;
            if (!csv)
                eo.accept = AR_CONTENT_JSONLINES; /* one object per record */
            rc = ar_codec_encode(&v, &eo, &one);
        }
        if (rc == AR_OK) {
            size_t l = one.len;
            while (l > 0 && one.data[l - 1] == '\n')
                l--;
            inf = csv ? csv_fields(one.data, l) : cJSON_ParseWithLength(one.data, l);
            if (!inf)
                rc = ar_err_set(AR_ERR_INTERNAL, "cannot re-read the encoded prediction");
        }
        if (rc == AR_OK) {
            if (!x->join) {
                joined = inf;
                inf = NULL;
            } else if (csv) {
                joined = cJSON_Duplicate(inputs[r], 1);
                const cJSON *e;
                cJSON_ArrayForEach(e, inf) cJSON_AddItemToArray(joined, cJSON_Duplicate(e, 1));
            } else if (cJSON_IsObject(inputs[r])) {
                joined = cJSON_Duplicate(inputs[r], 1);
                cJSON_DeleteItemFromObjectCaseSensitive(joined, "SageMakerOutput");
                cJSON_AddItemToObject(joined, "SageMakerOutput", inf);
                inf = NULL;
            } else {
                joined = cJSON_CreateObject();
                cJSON_AddItemToObject(joined, "SageMakerInput", cJSON_Duplicate(inputs[r], 1));
                cJSON_AddItemToObject(joined, "SageMakerOutput", inf);
                inf = NULL;
            }
        }
        if (rc == AR_OK && x->out_filter) {
            rc = ar_jsonpath_apply(x->out_filter, joined, &final);
            if (rc != AR_OK)
                ar_err_prefix("%s: OutputFilter on record %zu of lines %llu-%llu: ", name, r + 1,
                              (unsigned long long)it->first, (unsigned long long)line);
        }
        if (rc == AR_OK) {
            const cJSON *w = final ? final : joined;
            if (csv) {
                rc = put_csv(&it->out, w);
            } else {
                char *txt = cJSON_PrintUnformatted(w);
                rc = txt ? ar_buf_puts(&it->out, txt) : AR_ERR_NOMEM;
                cJSON_free(txt);
            }
            if (rc == AR_OK && x->assemble_line)
                rc = ar_buf_put(&it->out, "\n", 1);
        }
        cJSON_Delete(inf);
        cJSON_Delete(joined);
        cJSON_Delete(final);
        ar_buf_release(&one);
    }
    it->rows = rows;
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(inputs[i]);
    ar_free(inputs);
    ar_buf_release(&sent);
    ar_table_release(&t);
    return rc;
}

static void process_item(const struct xf *x, struct item *it, const char *name)
{
    ar_err_clear();
    if (x->per_record) {
        it->rc = process_records(x, it, name);
    } else {
        struct ar_table t;
        it->rc = predict_body(x, it->body.data, it->body.len, name,
                              x->split == SPLIT_LINE ? it->first : 1, &t, &it->rows);
        if (it->rc == AR_OK) {
            it->rc = ar_codec_encode(&t, &x->enc, &it->out);
            ar_table_release(&t);
        }
        if (it->rc == AR_OK && x->assemble_line && it->out.len &&
            it->out.data[it->out.len - 1] != '\n')
            it->rc = ar_buf_put(&it->out, "\n", 1);
    }
    if (it->rc != AR_OK)
        snprintf(it->err, sizeof it->err, "%s", ar_err_msg());
    /* The input is no longer needed: keep memory to what is still queued. */
    ar_buf_release(&it->body);
}

/* ---- reading mini-batches ---- */

struct reader {
    struct ar_stream *s;
    struct ar_recordio_reader *rio;
    char *buf; /* Line: read buffer */
    size_t cap, start, end;
    int eof;
    uint64_t line, record;
    struct ar_buf pending; /* a record read but not yet placed (it did not fit) */
    uint64_t pending_no;
    int done;
};

static int fill(struct reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        size_t nc = r->cap * 2;
        char *nb = ar_reallocn(r->buf, r->cap, nc, 1);
        if (!nb)
            return AR_ERR_NOMEM;
        r->buf = nb;
        r->cap = nc;
    }
    ssize_t got = r->s->ops->read(r->s, r->buf + r->end, r->cap - r->end);
    if (got < 0)
        return (int)got;
    if (got == 0)
        r->eof = 1;
    r->end += (size_t)got;
    return AR_OK;
}

/* Next record of a Line split: the line with its '\n'. Blank lines are records too, so line
 * numbers inside a mini-batch map to the file's (the decoders skip them). */
static int next_line(struct reader *r, const char **rec, size_t *len, int *end)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (!nl && !r->eof) {
            AR_TRY(fill(r));
            continue;
        }
        if (!nl && r->start == r->end) {
            *end = 1;
            return AR_OK;
        }
        size_t stop = nl ? (size_t)(nl - r->buf) + 1 : r->end;
        const char *s = r->buf + r->start;
        size_t n = stop - r->start;
        r->start = stop;
        r->line++;
        *rec = s;
        *len = n;
        *end = 0;
        return AR_OK;
    }
}

/* Fills `it` with the next mini-batch; it->n_records == 0 at the end of the file. */
static int next_item(const struct xf *x, struct reader *r, struct item *it, const char *name)
{
    memset(it, 0, sizeof *it);
    if (r->done)
        return AR_OK;
    if (x->split == SPLIT_NONE) {
        char *data;
        size_t len;
        int rc = ar_stream_slurp(r->s, x->max_payload, &data, &len);
        if (rc == AR_ERR_LIMIT)
            return ar_err_set(AR_ERR_LIMIT,
                              "%s is larger than MaxPayloadInMB (%zu MB) and "
                              "SplitType is None",
                              name, x->max_payload >> 20);
        if (rc != AR_OK)
            return rc;
        r->done = 1;
        it->body.data = data;
        it->body.len = len;
        it->body.cap = len + 1;
        it->n_records = len > 0;
        it->first = 1;
        return AR_OK;
    }
    for (;;) {
        const char *rec = NULL;
        size_t len = 0;
        uint64_t no;
        if (r->pending.len) {
            rec = r->pending.data;
            len = r->pending.len;
            no = r->pending_no;
        } else if (x->split == SPLIT_LINE) {
            int end;
            AR_TRY(next_line(r, &rec, &len, &end));
            if (end) {
                r->done = 1;
                return AR_OK;
            }
            no = r->line;
        } else {
            struct ar_recordio_frame f;
            bool end;
            AR_TRY(ar_recordio_reader_next(r->rio, &f, &end));
            if (end) {
                r->done = 1;
                return AR_OK;
            }
            struct ar_recordio_buf fb = {0};
            int rc = ar_recordio_frame_append(&fb, f.data, f.len);
            if (rc == AR_OK)
                rc = ar_buf_put(&r->pending, (const char *)fb.data, fb.len);
            ar_recordio_buf_release(&fb);
            AR_TRY(rc);
            r->record++;
            r->pending_no = r->record;
            continue; /* placed below through `pending` */
        }
        if (len > x->max_payload)
            return ar_err_set(AR_ERR_LIMIT, "%s: %s %llu is larger than MaxPayloadInMB (%zu MB)",
                              name, x->split == SPLIT_LINE ? "line" : "record",
                              (unsigned long long)no, x->max_payload >> 20);
        if (it->n_records > 0 && (!x->multi || it->body.len + len > x->max_payload)) {
            /* Does not fit: keep it for the next mini-batch. */
            if (!r->pending.len) {
                AR_TRY(ar_buf_put(&r->pending, rec, len));
                r->pending_no = no;
            }
            return AR_OK;
        }
        if (it->n_records == 0)
            it->first = no;
        AR_TRY(ar_buf_put(&it->body, rec, len));
        /* Line records always end in '\n' so they can be concatenated. */
        if (x->split == SPLIT_LINE && rec[len - 1] != '\n')
            AR_TRY(ar_buf_put(&it->body, "\n", 1));
        it->n_records++;
        r->pending.len = 0;
        if (!x->multi)
            return AR_OK;
    }
}

/* ---- files ---- */

static void report(struct xf *x, int final)
{
    double now = ar_time_now();
    if (!final && (!x->progress || now - x->last_report < 0.5))
        return;
    x->last_report = now;
    double el = now - x->t0 > 1e-9 ? now - x->t0 : 1e-9;
    double rate = (double)x->bytes_done / el;
    double eta = rate > 0 ? (double)(x->bytes_total - x->bytes_done) / rate : 0;
    if (final) {
        if (x->progress)
            fputc('\n', stderr);
        fprintf(stderr,
                "transform: %zu files (%zu failed), %llu rows in %.2f s, %.0f rows/s, %.1f MB/s\n",
                x->files_done, x->files_failed, (unsigned long long)x->rows, el,
                (double)x->rows / el, rate / 1e6);
        return;
    }
    fprintf(stderr, "\rtransform: %zu/%zu files, %llu rows, %.0f rows/s, %.1f MB/s, ETA %.0f s   ",
            x->files_done, x->files_total, (unsigned long long)x->rows, (double)x->rows / el,
            rate / 1e6, eta);
}

/* Transforms one input file into out_path (temp + rename); AR_OK or the file's error. */
static int transform_file(struct xf *x, struct ar_stream *s, const char *out_path)
{
    struct reader r;
    memset(&r, 0, sizeof r);
    r.s = s;
    int rc = AR_OK;
    if (x->split == SPLIT_LINE) {
        r.cap = 1 << 20;
        r.buf = ar_alloc(r.cap);
        if (!r.buf)
            return AR_ERR_NOMEM;
    } else if (x->split == SPLIT_RECORDIO) {
        AR_TRY(ar_recordio_reader_new_stream(s, &r.rio));
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out_path, (long)getpid());
    FILE *out = fopen(tmp, "wb");
    if (!out)
        rc = ar_err_set(AR_ERR_IO, "%s: cannot create: %s", out_path, strerror(errno));
    int nt = ar_par_threads();
    size_t depth = (size_t)nt * 2;
    struct item *items = ar_callocn(depth, sizeof *items);
    if (!items && rc == AR_OK)
        rc = AR_ERR_NOMEM;
    uint64_t last_pos = 0;
    while (rc == AR_OK) {
        size_t n = 0;
        for (; n < depth; n++) {
            rc = next_item(x, &r, &items[n], s->name);
            if (rc != AR_OK || items[n].n_records == 0) {
                ar_buf_release(&items[n].body);
                break;
            }
        }
        if (n == 0)
            break;
            /* Mini-batches in parallel; each prediction runs on its own thread. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (n > 1)
        for (size_t i = 0; i < n; i++)
            process_item(x, &items[i], s->name);
        for (size_t i = 0; i < n; i++) {
            if (rc == AR_OK && items[i].rc != AR_OK)
                rc = ar_err_set(items[i].rc, "%s", items[i].err);
            if (rc == AR_OK && items[i].out.len &&
                fwrite(items[i].out.data, 1, items[i].out.len, out) != items[i].out.len)
                rc = ar_err_set(AR_ERR_IO, "%s: write failed: %s", out_path, strerror(errno));
            if (rc == AR_OK)
                x->rows += items[i].rows;
            ar_buf_release(&items[i].out);
        }
        x->bytes_done += s->pos - last_pos;
        last_pos = s->pos;
        report(x, 0);
    }
    ar_free(items);
    ar_free(r.buf);
    ar_buf_release(&r.pending);
    ar_recordio_reader_free(r.rio);
    if (out) {
        if (fflush(out) != 0 && rc == AR_OK)
            rc = ar_err_set(AR_ERR_IO, "%s: write failed: %s", out_path, strerror(errno));
        fclose(out);
        if (rc == AR_OK && rename(tmp, out_path) != 0)
            rc = ar_err_set(AR_ERR_IO, "%s: rename failed: %s", out_path, strerror(errno));
        if (rc != AR_OK)
            unlink(tmp);
    }
    x->bytes_done += s->pos - last_pos;
    return rc;
}

static void transform_help(FILE *out)
{
    fprintf(
        out,
        "usage: algorun transform --model-dir DIR|MODEL.tar.gz --input PATH --output DIR\n"
        "                         --content-type T [--accept T] [--split-type None|Line|RecordIO]\n"
        "                         [--batch-strategy SingleRecord|MultiRecord] [--max-payload-mb N]\n"
        "                         [--assemble-with None|Line] [--input-filter JSONPATH]\n"
        "                         [--join-source None|Input] [--output-filter JSONPATH]\n"
        "                         [--compression None|Gzip] [--algorithm ID] [--progress]\n\n"
        "Scores every file under PATH, writing OUTPUT/<relative path>.out per input file, records\n"
        "in input order. A file with a bad record gets no .out (the error names the file and\n"
        "line or record); the other files still finish; the exit status is then 1.\n"
        "Defaults: --split-type Line for CSV and JSON Lines, RecordIO for RecordIO-protobuf,\n"
        "None otherwise; MultiRecord; 6 MB; --assemble-with Line for CSV and JSON Lines output.\n"
        "Memory: about 2 x threads x MaxPayloadInMB of mini-batches (plus their predictions),\n"
        "whatever the input size.\n");
}

static int parse_choice(const char *what, const char *v, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return AR_OK;
        }
    return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not one of the allowed values", what, v);
}

int ar_cmd_transform(int argc, char **argv)
{
    static const char *const with_value[] = {
        "--model-dir",      "--input",          "--output",
        "--content-type",   "--accept",         "--split-type",
        "--batch-strategy", "--max-payload-mb", "--assemble-with",
        "--input-filter",   "--join-source",    "--output-filter",
        "--compression",    "--algorithm",      NULL};
    static const char *const flags[] = {"--help", "--progress", NULL};
    const char *model_dir = NULL, *input = NULL, *output = NULL, *ctype = NULL, *accept = NULL,
               *split_s = NULL, *strategy_s = NULL, *payload_s = NULL, *assemble_s = NULL,
               *in_filter = NULL, *join_s = NULL, *out_filter = NULL, *compression = NULL,
               *algo_id = getenv("ALGORUN_ALGORITHM");
    int progress = isatty(STDERR_FILENO);
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r;
    while ((r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            return AR_EXIT_USAGE;
        const char *o = a.opt, *v = a.value;
        if (strcmp(o, "--help") == 0) {
            transform_help(stdout);
            return AR_EXIT_OK;
        }
        if (strcmp(o, "--progress") == 0)
            progress = 1;
        else if (strcmp(o, "--model-dir") == 0)
            model_dir = v;
        else if (strcmp(o, "--input") == 0)
            input = v;
        else if (strcmp(o, "--output") == 0)
            output = v;
        else if (strcmp(o, "--content-type") == 0)
            ctype = v;
        else if (strcmp(o, "--accept") == 0)
            accept = v;
        else if (strcmp(o, "--split-type") == 0)
            split_s = v;
        else if (strcmp(o, "--batch-strategy") == 0)
            strategy_s = v;
        else if (strcmp(o, "--max-payload-mb") == 0)
            payload_s = v;
        else if (strcmp(o, "--assemble-with") == 0)
            assemble_s = v;
        else if (strcmp(o, "--input-filter") == 0)
            in_filter = v;
        else if (strcmp(o, "--join-source") == 0)
            join_s = v;
        else if (strcmp(o, "--output-filter") == 0)
            out_filter = v;
        else if (strcmp(o, "--compression") == 0)
            compression = v;
        else if (strcmp(o, "--algorithm") == 0)
            algo_id = v;
    }
    if (a.i < argc)
        return ar_cli_usage_error("transform", "unexpected argument '%s'", argv[a.i]);
    if (!model_dir || !input || !output || !ctype)
        return ar_cli_usage_error("transform",
                                  "--model-dir, --input, --output and --content-type are required");
    struct xf x;
    memset(&x, 0, sizeof x);
    x.progress = progress;
    if (ar_format_parse(ctype, &x.fmt) != AR_OK)
        return ar_cli_usage_error("transform", "--content-type: %s", ar_err_msg());
    static const char *const splits[] = {"None", "Line", "RecordIO", NULL};
    static const char *const strategies[] = {"SingleRecord", "MultiRecord", NULL};
    static const char *const assembles[] = {"None", "Line", NULL};
    static const char *const joins[] = {"None", "Input", NULL};
    static const char *const comps[] = {"None", "Gzip", NULL};
    int split = x.fmt.content == AR_CONTENT_RECORDIO_PB ? SPLIT_RECORDIO
                : (x.fmt.content == AR_CONTENT_CSV || x.fmt.content == AR_CONTENT_JSONLINES ||
                   x.fmt.content == AR_CONTENT_LIBSVM)
                    ? SPLIT_LINE
                    : SPLIT_NONE;
    int strategy = 1, assemble = -1, join = 0, comp = 0;
    long payload_mb = 6;
    if ((split_s && parse_choice("--split-type", split_s, splits, &split) != AR_OK) ||
        (strategy_s &&
         parse_choice("--batch-strategy", strategy_s, strategies, &strategy) != AR_OK) ||
        (assemble_s &&
         parse_choice("--assemble-with", assemble_s, assembles, &assemble) != AR_OK) ||
        (join_s && parse_choice("--join-source", join_s, joins, &join) != AR_OK) ||
        (compression && parse_choice("--compression", compression, comps, &comp) != AR_OK))
        return ar_cli_usage_error("transform", "%s", ar_err_msg());
    if (payload_s) {
        char *end;
        payload_mb = strtol(payload_s, &end, 10);
        if (end == payload_s || *end || payload_mb < 1 || payload_mb > 100)
            return ar_cli_usage_error("transform", "--max-payload-mb must be 1..100, got '%s'",
                                      payload_s);
    }
    x.split = (enum split)split;
    x.multi = strategy == 1;
    x.max_payload = (size_t)payload_mb << 20;
    if (x.split == SPLIT_NONE && strategy_s)
        return ar_cli_usage_error("transform", "--batch-strategy needs --split-type Line or "
                                               "RecordIO");
    if (x.split == SPLIT_RECORDIO && x.fmt.content != AR_CONTENT_RECORDIO_PB)
        return ar_cli_usage_error("transform", "--split-type RecordIO needs RecordIO-protobuf "
                                               "input");
    /* Accept: given, else the content type for text formats, else the algorithm's default. */
    struct ar_data_format af;
    if (accept) {
        if (ar_format_parse(accept, &af) != AR_OK)
            return ar_cli_usage_error("transform", "--accept: %s", ar_err_msg());
        x.enc.accept = af.content;
    }
    x.join = join;
    if (in_filter && ar_jsonpath_compile(in_filter, &x.in_filter) != AR_OK)
        return ar_cli_usage_error("transform", "--input-filter: %s", ar_err_msg());
    if (out_filter && ar_jsonpath_compile(out_filter, &x.out_filter) != AR_OK) {
        ar_jsonpath_free(x.in_filter);
        return ar_cli_usage_error("transform", "--output-filter: %s", ar_err_msg());
    }
    if (x.in_filter && ar_jsonpath_is_root(x.in_filter)) {
        ar_jsonpath_free(x.in_filter);
        x.in_filter = NULL;
    }
    if (x.out_filter && ar_jsonpath_is_root(x.out_filter)) {
        ar_jsonpath_free(x.out_filter);
        x.out_filter = NULL;
    }
    x.per_record = x.in_filter || x.out_filter || x.join;
    int exit_code = AR_EXIT_USAGE;
    char *tmp_dir = NULL;
    struct ar_model *model = NULL;
    struct ar_input *in = NULL;
    if (x.per_record) {
        /* DataProcessing rules: text formats only, Accept = ContentType, SplitType =
         * AssembleWith (Line for CSV). */
        enum ar_content c = x.fmt.content;
        if (c != AR_CONTENT_CSV && c != AR_CONTENT_JSON && c != AR_CONTENT_JSONLINES) {
            ar_cli_usage_error("transform", "input/output filters and joins work only for "
                                            "text/csv, application/json and application/jsonlines");
            goto done;
        }
        if (accept && x.enc.accept != c) {
            ar_cli_usage_error("transform", "with filters or joins, --accept must equal "
                                            "--content-type");
            goto done;
        }
        x.enc.accept = c;
        int want_assemble = x.split == SPLIT_LINE ? 1 : 0;
        if (assemble >= 0 && assemble != want_assemble) {
            ar_cli_usage_error("transform",
                               "with filters or joins, --assemble-with must match "
                               "--split-type (%s)",
                               want_assemble ? "Line" : "None");
            goto done;
        }
        if (c == AR_CONTENT_CSV && x.split != SPLIT_LINE) {
            ar_cli_usage_error("transform", "CSV filters and joins need --split-type Line");
            goto done;
        }
        if (c == AR_CONTENT_CSV && ((x.in_filter && !ar_jsonpath_index_only(x.in_filter)) ||
                                    (x.out_filter && !ar_jsonpath_index_only(x.out_filter)))) {
            ar_cli_usage_error("transform", "CSV filters take only index paths such as $[1:]");
            goto done;
        }
        assemble = want_assemble;
    }
    if (ar_server_load_model(model_dir, algo_id, &x.algo, &model, &tmp_dir) != AR_OK) {
        exit_code = ar_cli_fail(AR_ERR_FORMAT, "transform");
        goto done;
    }
    x.model = model;
    x.select_spec = getenv("SAGEMAKER_INFERENCE_OUTPUT");
    x.enc.csv_quote_lists = x.select_spec && *x.select_spec;
    if (!accept && !x.per_record) {
        if (ar_format_parse(x.algo->default_accept, &af) == AR_OK)
            x.enc.accept = af.content;
        else
            x.enc.accept = AR_CONTENT_JSON;
    }
    x.assemble_line =
        assemble >= 0 ? assemble
                      : (x.enc.accept == AR_CONTENT_CSV || x.enc.accept == AR_CONTENT_JSONLINES);
    {
        int ok = 0;
        for (const char *const *t = x.algo->infer_content_types; *t; t++) {
            struct ar_data_format f;
            ok |= ar_format_parse(*t, &f) == AR_OK && f.content == x.fmt.content;
        }
        if (!ok) {
            ar_cli_usage_error("transform", "%s does not accept %s", x.algo->id, ctype);
            goto done;
        }
    }
    exit_code = AR_EXIT_FAILURE;
    if (ar_input_open(input, &in) != AR_OK || ar_mkdirs(output) != AR_OK) {
        ar_cli_fail(AR_ERR_IO, "transform");
        goto done;
    }
    /* Sizes for progress and ETA. */
    {
        struct ar_stream *s;
        x.files_total = ar_input_n_files(in);
        while (ar_input_next(in, &s) == AR_OK && s) {
            struct stat st;
            if (stat(s->name, &st) == 0)
                x.bytes_total += (uint64_t)st.st_size;
            ar_stream_close(s);
        }
        ar_input_rewind(in);
    }
    struct stat ist;
    int input_is_dir = stat(input, &ist) == 0 && S_ISDIR(ist.st_mode);
    size_t prefix = strlen(input);
    while (prefix > 1 && input[prefix - 1] == '/')
        prefix--;
    x.t0 = ar_time_now();
    struct ar_stream *s;
    while (ar_input_next(in, &s) == AR_OK && s) {
        const char *rel = input_is_dir ? s->name + prefix + 1 : strrchr(s->name, '/');
        rel = rel ? (rel[0] == '/' ? rel + 1 : rel) : s->name;
        char out_path[4096];
        int rc =
            snprintf(out_path, sizeof out_path, "%s/%s.out", output, rel) < (int)sizeof out_path
                ? AR_OK
                : ar_err_set(AR_ERR_LIMIT, "output path too long for %s", s->name);
        if (rc == AR_OK) {
            char parent[4096];
            snprintf(parent, sizeof parent, "%s", out_path);
            char *slash = strrchr(parent, '/');
            if (slash) {
                *slash = '\0';
                rc = ar_mkdirs(parent);
            }
        }
        if (rc == AR_OK)
            rc = transform_file(&x, s, out_path);
        x.files_done++;
        if (rc != AR_OK) {
            x.files_failed++;
            if (x.progress)
                fputc('\n', stderr);
            fprintf(stderr, "algorun: transform: no output for %s: %s\n", s->name, ar_err_msg());
        }
        ar_stream_close(s);
    }
    report(&x, 1);
    exit_code = x.files_failed ? AR_EXIT_FAILURE : AR_EXIT_OK;
done:
    ar_input_close(in);
    if (model)
        x.algo->model_free(model);
    ar_server_remove_tmp(tmp_dir);
    ar_jsonpath_free(x.in_filter);
    ar_jsonpath_free(x.out_filter);
    return exit_code;
}
