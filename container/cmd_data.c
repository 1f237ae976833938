/* `algorun data cat` and `algorun data convert`: decode any supported input and write it as
 * CSV, libsvm or RecordIO-protobuf. How users inspect data, and how the test vectors are
 * checked. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/cli.h"
#include "core/err.h"
#include "core/mem.h"
#include "io/batch.h"
#include "io/format.h"
#include "io/recordio.h"
#include "io/textwrite.h"

#define CAT_BATCH_ROWS 65536

static void data_help(FILE *out)
{
    fprintf(
        out,
        "usage: algorun data cat FILE_OR_DIR --content-type T [--to T2] [--absent zero|missing]\n"
        "       algorun data convert IN OUT --content-type T --to T2 [--absent zero|missing]\n\n"
        "Decodes IN (a file, a directory of files, .gz files) read as content type T\n"
        "(text/csv[;label_size=0|1], text/libsvm, application/x-recordio-protobuf) and\n"
        "writes it as T2 (default text/csv: label first, float32 as %%.9g, nan/inf).\n"
        "For RecordIO input, --to application/json prints the record view (every map\n"
        "entry, tensor type, keys, shape, uid/metadata/configuration) without the\n"
        "matrix rules.\n"
        "cat writes to stdout; convert writes OUT atomically (temp file, then rename).\n"
        "--absent: how absent sparse entries appear in CSV (default zero; missing = empty)\n"
        "--csv-weights: the CSV input's second column is an instance weight\n"
        "Exit status: 0 ok, 1 bad input (the message names file and line or byte), 2 usage.\n");
}

/* RecordIO output: float32 features and labels, one frame per row (the SDK's layout). */
static int write_recordio(FILE *out, const struct ar_batch *b)
{
    struct ar_recordio_buf buf = {0};
    int rc = ar_recordio_write_rows(b, AR_RECORDIO_F32, AR_RECORDIO_F32, &buf);
    if (rc == AR_OK && buf.len && fwrite(buf.data, 1, buf.len, out) != buf.len)
        rc = ar_err_set(AR_ERR_IO, "write failed: %s", strerror(errno));
    ar_recordio_buf_release(&buf);
    return rc;
}

/* Streams every batch of `src` to `out` in format `to`. */
static int write_all(struct ar_batch_source *src, FILE *out, const struct ar_data_format *to,
                     bool absent_missing, bool csv_weights)
{
    int rc = AR_OK;
    for (;;) {
        struct ar_batch b;
        rc = ar_batch_source_next(src, CAT_BATCH_ROWS, &b);
        if (rc != AR_OK || b.n_rows == 0)
            break;
        switch (to->content) {
        case AR_CONTENT_CSV:
            rc = ar_textwrite_csv(out, &b, csv_weights, absent_missing);
            break;
        case AR_CONTENT_LIBSVM:
            rc = ar_textwrite_libsvm(out, &b);
            break;
        case AR_CONTENT_RECORDIO_PB:
            rc = write_recordio(out, &b);
            break;
        default:
            rc = ar_err_set(AR_ERR_UNSUPPORTED, "cannot write data as %s",
                            ar_format_mime(to->content));
        }
        if (rc != AR_OK)
            break;
    }
    if (rc == AR_OK && fflush(out) != 0)
        rc = ar_err_set(AR_ERR_IO, "write failed: %s", strerror(errno));
    return rc;
}

/* ---- record view: RecordIO records as JSON (the test vectors' sidecar layout) ---- */

static void json_num(FILE *out, enum ar_recordio_kind kind, const void *values, size_t i)
{
    double v;
    char buf[40];
    if (kind == AR_RECORDIO_I32) {
        int32_t x;
        memcpy(&x, (const char *)values + i * 4, 4);
        fprintf(out, "%d", (int)x);
        return;
    }
    if (kind == AR_RECORDIO_F32) {
        float f;
        memcpy(&f, (const char *)values + i * 4, 4);
        v = (double)f;
        snprintf(buf, sizeof buf, "%.9g", v);
    } else {
        memcpy(&v, (const char *)values + i * 8, 8);
        snprintf(buf, sizeof buf, "%.17g", v);
    }
    if (isnan(v))
        fputs("\"nan\"", out);
    else if (isinf(v))
        fputs(v < 0 ? "\"-inf\"" : "\"inf\"", out);
    else
        fputs(buf, out);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const struct ar_recordio_entry *const *)a)->key,
                  (*(const struct ar_recordio_entry *const *)b)->key);
}

static void json_map(FILE *out, const struct ar_recordio_entry *e, size_t n)
{
    const struct ar_recordio_entry *sorted[256];
    if (n > 256)
        n = 256;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &e[i];
    qsort(sorted, n, sizeof *sorted, cmp_entry);
    fputc('{', out);
    for (size_t i = 0; i < n; i++) {
        const struct ar_recordio_value *v = &sorted[i]->value;
        if (i)
            fputs(", ", out);
        json_str(out, sorted[i]->key);
        if (v->kind == AR_RECORDIO_BYTES) {
            fputs(": {\"type\": \"bytes\", \"value\": [", out);
            for (size_t k = 0; k < v->n_blobs; k++) {
                fputs(k ? ", \"" : "\"", out);
                for (size_t c = 0; c < v->blobs[k].len; c++)
                    fprintf(out, "%02x", v->blobs[k].data[c]);
                fputc('"', out);
            }
            fputc(']', out);
            if (v->content_type) {
                fputs(", \"content_type\": ", out);
                json_str(out, v->content_type);
            }
            fputc('}', out);
            continue;
        }
        const char *type = v->kind == AR_RECORDIO_F32   ? "float32"
                           : v->kind == AR_RECORDIO_F64 ? "float64"
                           : v->kind == AR_RECORDIO_I32 ? "int32"
                                                        : "none";
        fprintf(out, ": {\"type\": \"%s\", \"values\": [", type);
        for (size_t k = 0; k < v->n_values; k++) {
            if (k)
                fputs(", ", out);
            json_num(out, v->kind, v->values, k);
        }
        fputs("], \"keys\": [", out);
        for (size_t k = 0; k < v->n_keys; k++)
            fprintf(out, "%s%llu", k ? ", " : "", (unsigned long long)v->keys[k]);
        fputs("], \"shape\": [", out);
        for (size_t k = 0; k < v->n_shape; k++)
            fprintf(out, "%s%llu", k ? ", " : "", (unsigned long long)v->shape[k]);
        fputs("]}", out);
    }
    fputc('}', out);
}

/* Prints every record of the RecordIO files under `in` in the record view (no matrix rules). */
static int cat_records(struct ar_input *in, FILE *out)
{
    int rc = AR_OK;
    size_t n = 0;
    fputs("{\"records\": [", out);
    struct ar_stream *s;
    while (rc == AR_OK && (rc = ar_input_next(in, &s)) == AR_OK && s) {
        struct ar_recordio_reader *r;
        rc = ar_recordio_reader_new_stream(s, &r);
        if (rc != AR_OK) {
            ar_stream_close(s);
            break;
        }
        for (;;) {
            struct ar_recordio_frame f;
            bool end;
            rc = ar_recordio_reader_next(r, &f, &end);
            if (rc != AR_OK || end)
                break;
            struct ar_recordio_record rec;
            rc = ar_recordio_record_decode(f.data, f.len, &rec);
            if (rc != AR_OK) {
                ar_err_prefix("%s: byte %llu: record %llu: ", s->name, (unsigned long long)f.offset,
                              (unsigned long long)f.index);
                break;
            }
            fputs(n++ ? ",\n  {" : "\n  {", out);
            fputs("\"features\": ", out);
            json_map(out, rec.features, rec.n_features);
            fputs(", \"label\": ", out);
            json_map(out, rec.label, rec.n_label);
            const char *names[] = {"uid", "metadata", "configuration"};
            const char *vals[] = {rec.uid, rec.metadata, rec.configuration};
            for (int k = 0; k < 3; k++) {
                if (!vals[k])
                    continue;
                fprintf(out, ", \"%s\": ", names[k]);
                json_str(out, vals[k]);
            }
            fputc('}', out);
            ar_recordio_record_release(&rec);
        }
        ar_recordio_reader_free(r);
        ar_stream_close(s);
    }
    fputs(n ? "\n]}\n" : "]}\n", out);
    fflush(out);
    return rc;
}

int ar_cmd_data(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        data_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? AR_EXIT_USAGE : AR_EXIT_OK;
    }
    const char *verb = argv[1];
    int is_cat = strcmp(verb, "cat") == 0, is_convert = strcmp(verb, "convert") == 0;
    if (!is_cat && !is_convert)
        return ar_cli_usage_error("data", "unknown verb '%s' (cat or convert)", verb);
    static const char *const with_value[] = {"--content-type", "--to", "--absent", NULL};
    static const char *const flags[] = {"--help", "--csv-weights", NULL};
    const char *ctype = NULL, *to_type = "text/csv", *pos[2] = {NULL, NULL};
    bool absent_missing = false, csv_weights = false;
    int n_pos = 0;
    struct ar_args a;
    ar_args_init(&a, argc - 1, argv + 1);
    a.cmd = "data";
    for (;;) {
        int r = ar_args_next(&a, with_value, flags);
        if (r < 0)
            return AR_EXIT_USAGE;
        if (r == 0) {
            if (a.i >= a.argc)
                break;
            if (n_pos >= 2)
                return ar_cli_usage_error("data", "unexpected argument '%s'", a.argv[a.i]);
            pos[n_pos++] = a.argv[a.i++];
            continue;
        }
        if (strcmp(a.opt, "--help") == 0) {
            data_help(stdout);
            return AR_EXIT_OK;
        } else if (strcmp(a.opt, "--content-type") == 0) {
            ctype = a.value;
        } else if (strcmp(a.opt, "--to") == 0) {
            to_type = a.value;
        } else if (strcmp(a.opt, "--csv-weights") == 0) {
            csv_weights = true;
        } else if (strcmp(a.opt, "--absent") == 0) {
            if (strcmp(a.value, "missing") == 0)
                absent_missing = true;
            else if (strcmp(a.value, "zero") != 0)
                return ar_cli_usage_error("data", "--absent must be zero or missing, got '%s'",
                                          a.value);
        }
    }
    if (!ctype)
        return ar_cli_usage_error("data", "--content-type is required");
    if (n_pos != (is_cat ? 1 : 2))
        return ar_cli_usage_error("data",
                                  is_cat ? "cat needs one input" : "convert needs IN and OUT");
    struct ar_data_format in_fmt, to_fmt;
    if (ar_format_parse(ctype, &in_fmt) != AR_OK)
        return ar_cli_usage_error("data", "--content-type: %s", ar_err_msg());
    in_fmt.csv_weights = csv_weights;
    if (ar_format_parse(to_type, &to_fmt) != AR_OK)
        return ar_cli_usage_error("data", "--to: %s", ar_err_msg());
    int record_view = to_fmt.content == AR_CONTENT_JSON;
    if (record_view && (!is_cat || in_fmt.content != AR_CONTENT_RECORDIO_PB))
        return ar_cli_usage_error("data", "--to application/json (the record view) is for "
                                          "`data cat` of RecordIO-protobuf input");
    if (!record_view && to_fmt.content != AR_CONTENT_CSV && to_fmt.content != AR_CONTENT_LIBSVM &&
        to_fmt.content != AR_CONTENT_RECORDIO_PB)
        return ar_cli_usage_error("data", "--to: cannot write data as %s", to_type);

    struct ar_input *in;
    int rc = ar_input_open(pos[0], &in);
    if (rc != AR_OK)
        return ar_cli_fail(rc, NULL);
    if (record_view) {
        rc = cat_records(in, stdout);
        ar_input_close(in);
        return rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, NULL);
    }
    struct ar_batch_source *src;
    rc = ar_batch_source_open(in, &in_fmt, &src);
    if (rc != AR_OK)
        return ar_cli_fail(rc, NULL);

    if (is_cat) {
        rc = write_all(src, stdout, &to_fmt, absent_missing, csv_weights);
        ar_batch_source_close(src);
        return rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, NULL);
    }
    /* convert: write a temp file beside OUT, rename on success, remove on failure. */
    size_t n = strlen(pos[1]) + 16;
    char *tmp = ar_alloc(n);
    if (!tmp) {
        ar_batch_source_close(src);
        return ar_cli_fail(AR_ERR_NOMEM, NULL);
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", pos[1]);
    int fd = mkstemp(tmp);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        rc = ar_err_set(AR_ERR_IO, "%s: cannot create: %s", pos[1], strerror(errno));
        if (fd >= 0)
            close(fd);
    } else {
        rc = write_all(src, out, &to_fmt, absent_missing, csv_weights);
        if (rc == AR_OK && (fsync(fileno(out)) != 0))
            rc = ar_err_set(AR_ERR_IO, "%s: fsync failed: %s", pos[1], strerror(errno));
        if (fclose(out) != 0 && rc == AR_OK)
            rc = ar_err_set(AR_ERR_IO, "%s: close failed: %s", pos[1], strerror(errno));
        if (rc == AR_OK && rename(tmp, pos[1]) != 0)
            rc = ar_err_set(AR_ERR_IO, "%s: rename failed: %s", pos[1], strerror(errno));
        if (rc != AR_OK)
            unlink(tmp);
    }
    ar_free(tmp);
    ar_batch_source_close(src);
    return rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, NULL);
}
