/* The algorun side of the benchmark harness (benchmarks/run.py): times one phase of the
 * library through its public interfaces only and prints one JSON object on stdout.
 *
 *   bench-driver [--threads N] parse --content-type T [--load-all] FILE
 *   bench-driver [--threads N] train --algorithm ID [--hp k=v ...] --train FILE[;type]
 *                [--validation FILE[;type]] [--eval] [--model-dir DIR] [--predictions PREFIX]
 *                [--batch-rows N]
 *   bench-driver [--threads N] predict --algorithm ID --model-dir DIR --content-type T
 *                [--batch-rows N] [--predictions PREFIX] FILE
 *
 * train loads every channel fully into memory first (load_seconds), then trains from the
 * in-memory channels (train_seconds), so parsing never hides inside the training time.
 * Predictions are written as raw little-endian float32 files PREFIX.<column>.f32 (row-major,
 * width floats per row) for the harness to score in Python.
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 3 "not built yet" (an algorithm that is not
 * registered or a reader that is not in the library). Failures also print JSON with "error".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "algorithms/algo.h"
#include "core/blas.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/timer.h"
#include "io/batch.h"
#include "io/format.h"
#include "io/stream.h"

#define EXIT_USAGE     2
#define EXIT_NOT_BUILT 3
#define MAX_HP         64

/* Set by benchmarks/stubs.c when a reader is missing from the library being linked. */

/* ---- JSON output ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Prints {"error": msg, "not_built": bool} and returns the matching exit status. */
static int fail(int status, const char *context)
{
    const char *msg = ar_err_msg();
    if (!*msg)
        msg = ar_status_str(status);
    bool not_built = status == AR_ERR_NOT_FOUND && strstr(msg, "not built yet") != NULL;
    char buf[AR_ERR_MSG_SIZE + 256];
    snprintf(buf, sizeof buf, "%s: %s", context, msg);
    printf("{\"error\": ");
    json_string(stdout, buf);
    printf(", \"not_built\": %s}\n", not_built ? "true" : "false");
    fprintf(stderr, "bench-driver: %s\n", buf);
    return not_built ? EXIT_NOT_BUILT : 1;
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench-driver: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: bench-driver [--threads N] parse|train|predict ... "
                    "(see benchmarks/driver.c)\n");
    return EXIT_USAGE;
}

static void print_env(void)
{
    printf("\"threads\": %d, \"blas_kernel\": ", ar_par_threads());
    json_string(stdout, ar_blas_corename());
    printf(", \"blas_threading\": ");
    json_string(stdout, ar_blas_threading());
}

/* ---- helpers ---- */

/* Total size in bytes of a file or of the regular files below a directory (one level). */
static double location_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return (double)st.st_size;
}

/* Splits "FILE;content/type;param=v" at the first ';' into path and type (default csv). */
static int split_location(char *arg, const char **path, const char **type)
{
    char *semi = strchr(arg, ';');
    *path = arg;
    *type = "text/csv";
    if (semi) {
        *semi = '\0';
        *type = semi + 1;
    }
    return **path ? AR_OK : ar_err_set(AR_ERR_PARAM, "empty file name in '%s'", arg);
}

/* Opens `path` as `type` and loads it whole into *out. */
static int load_channel(const char *path, const char *type, struct ar_data_format *fmt,
                        struct ar_batch *out)
{
    AR_TRY(ar_format_parse(type, fmt));
    struct ar_input *in;
    struct ar_batch_source *src;
    AR_TRY(ar_input_open(path, &in));
    AR_TRY(ar_batch_source_open(in, fmt, &src));
    int rc = ar_batch_source_load_all(src, out);
    ar_batch_source_close(src);
    if (rc != AR_OK)
        ar_err_prefix("%s: ", path);
    return rc;
}

static int find_algo(const char *id, const struct ar_algo **out)
{
    int rc = ar_algo_find(id, out);
    if (rc == AR_ERR_NOT_FOUND) {
        char was[AR_ERR_MSG_SIZE];
        snprintf(was, sizeof was, "%s", ar_err_msg());
        return ar_err_set(AR_ERR_NOT_FOUND, "algorithm %s is not built yet (%s)", id, was);
    }
    return rc;
}

/* Creates a directory (one level) unless it exists. */
static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ar_err_set(AR_ERR_IO, "%s: %s", dir, strerror(errno));
    return AR_OK;
}

/* Predictions of all rows of `data`, in calls of `batch_rows` rows (0: one call), gathered
 * into `all` (n_rows = data->n_rows). Returns the seconds spent, or a negative status. */
static int predict_all(const struct ar_algo *algo, const struct ar_model *m,
                       const struct ar_batch *data, size_t batch_rows, struct ar_table *all,
                       double *seconds)
{
    memset(all, 0, sizeof *all);
    all->n_rows = data->n_rows;
    if (batch_rows == 0 || batch_rows > data->n_rows)
        batch_rows = data->n_rows ? data->n_rows : 1;
    double t0 = ar_time_now();
    int rc = AR_OK;
    for (size_t lo = 0; lo < data->n_rows && rc == AR_OK; lo += batch_rows) {
        size_t hi = lo + batch_rows < data->n_rows ? lo + batch_rows : data->n_rows;
        struct ar_batch view = ar_batch_rows(data, lo, hi);
        struct ar_table part;
        memset(&part, 0, sizeof part);
        part.n_rows = hi - lo;
        rc = algo->predict(m, &view, &part);
        if (rc == AR_OK && lo == 0) {
            for (size_t c = 0; c < part.n_cols && rc == AR_OK; c++) {
                float *d;
                rc = ar_table_add(all, part.cols[c].name, part.cols[c].width, part.cols[c].integral,
                                  &d);
            }
        }
        for (size_t c = 0; c < part.n_cols && rc == AR_OK; c++) {
            if (c >= all->n_cols || all->cols[c].width != part.cols[c].width) {
                rc = ar_err_set(AR_ERR_INTERNAL, "predict() changed its columns between batches");
                break;
            }
            memcpy(all->cols[c].data + lo * all->cols[c].width, part.cols[c].data,
                   part.n_rows * part.cols[c].width * sizeof(float));
        }
        ar_table_release(&part);
    }
    *seconds = ar_time_now() - t0;
    if (rc != AR_OK)
        ar_table_release(all);
    return rc;
}

/* Writes each column of `t` to PREFIX.<name>.f32 and lists them as JSON. */
static int write_predictions(const struct ar_table *t, const char *prefix)
{
    printf(", \"predictions\": [");
    for (size_t c = 0; c < t->n_cols; c++) {
        const struct ar_table_col *col = &t->cols[c];
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s.%s.f32", prefix, col->name) >= sizeof path)
            return ar_err_set(AR_ERR_LIMIT, "predictions path too long");
        FILE *f = fopen(path, "wb");
        if (!f)
            return ar_err_set(AR_ERR_IO, "%s: %s", path, strerror(errno));
        size_t n = t->n_rows * col->width;
        size_t w = fwrite(col->data, sizeof(float), n, f);
        if (fclose(f) != 0 || w != n)
            return ar_err_set(AR_ERR_IO, "%s: short write", path);
        printf("%s{\"name\": ", c ? ", " : "");
        json_string(stdout, col->name);
        printf(", \"width\": %zu, \"path\": ", col->width);
        json_string(stdout, path);
        printf("}");
    }
    printf("]");
    return AR_OK;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno)
        return ar_err_set(AR_ERR_PARAM, "expected a non-negative integer, got '%s'", s);
    *out = (size_t)v;
    return AR_OK;
}

/* ---- parse ---- */

/* Adds the bit patterns of n floats as integers: an exact, order-free checksum that two
 * readers agree on only when they produced bit-identical values. */
static uint64_t bits_sum(const float *v, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        s += u;
    }
    return s;
}

static int cmd_parse(int argc, char **argv)
{
    const char *type = NULL, *path = NULL;
    bool load_all = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--content-type") == 0 && i + 1 < argc)
            type = argv[++i];
        else if (strcmp(argv[i], "--load-all") == 0)
            load_all = true;
        else if (argv[i][0] == '-' || path)
            return usage("parse: unexpected argument '%s'", argv[i]);
        else
            path = argv[i];
    }
    if (!type || !path)
        return usage("parse needs --content-type T and FILE");
    struct ar_data_format fmt;
    int rc = ar_format_parse(type, &fmt);
    if (rc != AR_OK)
        return fail(rc, "parse");

    /* Only the reader's calls are timed; the checksum pass over each batch is not. */
    double sum = 0, label_sum = 0, seconds = 0;
    uint64_t bits = 0;
    size_t rows = 0, cols = 0;
    double t0 = ar_time_now();
    struct ar_input *in = NULL;
    struct ar_batch_source *src = NULL;
    rc = ar_input_open(path, &in);
    if (rc == AR_OK)
        rc = ar_batch_source_open(in, &fmt, &src);
    seconds += ar_time_now() - t0;
    if (rc == AR_OK && load_all) {
        struct ar_batch b;
        t0 = ar_time_now();
        rc = ar_batch_source_load_all(src, &b);
        seconds += ar_time_now() - t0;
        if (rc == AR_OK) {
            rows = b.n_rows;
            cols = b.n_cols;
            for (size_t i = 0; i < b.n_rows && !b.is_sparse; i++) {
                for (size_t j = 0; j < b.n_cols; j++)
                    sum += (double)ar_mat_row(&b.dense, i)[j];
                bits += bits_sum(ar_mat_row(&b.dense, i), b.n_cols);
            }
            for (size_t i = 0; b.labels && i < b.n_rows; i++)
                label_sum += (double)b.labels[i];
            ar_batch_release(&b);
        }
    }
    while (rc == AR_OK && !load_all) {
        struct ar_batch b;
        t0 = ar_time_now();
        rc = ar_batch_source_next(src, 1 << 16, &b);
        seconds += ar_time_now() - t0;
        if (rc != AR_OK || b.n_rows == 0)
            break;
        rows += b.n_rows;
        cols = b.n_cols;
        if (b.is_sparse) {
            for (size_t k = 0; k < ar_csr_nnz(&b.csr); k++)
                sum += (double)b.csr.values[b.csr.indptr[0] + k];
            bits += bits_sum(b.csr.values + b.csr.indptr[0], ar_csr_nnz(&b.csr));
        } else {
            for (size_t i = 0; i < b.n_rows; i++) {
                for (size_t j = 0; j < b.n_cols; j++)
                    sum += (double)ar_mat_row(&b.dense, i)[j];
                bits += bits_sum(ar_mat_row(&b.dense, i), b.n_cols);
            }
        }
        for (size_t i = 0; b.labels && i < b.n_rows; i++)
            label_sum += (double)b.labels[i];
    }
    t0 = ar_time_now();
    ar_batch_source_close(src);
    seconds += ar_time_now() - t0;
    if (rc != AR_OK)
        return fail(rc, path);
    double bytes = location_bytes(path);
    printf("{\"seconds\": %.6f, \"rows\": %zu, \"cols\": %zu, \"bytes\": %.0f, "
           "\"mb_per_s\": %.3f, \"rows_per_s\": %.1f, \"checksum\": %.17g, "
           "\"label_checksum\": %.17g, \"bits_checksum\": %" PRIu64 ", ",
           seconds, rows, cols, bytes, bytes / 1e6 / seconds, (double)rows / seconds, sum,
           label_sum, bits);
    print_env();
    printf("}\n");
    return 0;
}

/* ---- train ---- */

struct train_args {
    const char *algo_id;
    struct ar_hp_kv hp[MAX_HP];
    size_t n_hp;
    char *train, *validation;
    bool eval; /* also hand the validation channel to train() */
    const char *model_dir, *predictions;
    size_t batch_rows;
};

static int parse_train_args(int argc, char **argv, struct train_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--eval") == 0) {
            a->eval = true;
            continue;
        }
        if (!v)
            return usage("train: option '%s' needs a value or is unknown", o);
        i++;
        if (strcmp(o, "--algorithm") == 0) {
            a->algo_id = v;
        } else if (strcmp(o, "--hp") == 0) {
            char *eq = strchr(argv[i], '=');
            if (!eq || a->n_hp == MAX_HP)
                return usage("train: --hp needs name=value, got '%s'", v);
            *eq = '\0';
            a->hp[a->n_hp].name = argv[i];
            a->hp[a->n_hp++].value = eq + 1;
        } else if (strcmp(o, "--train") == 0) {
            a->train = argv[i];
        } else if (strcmp(o, "--validation") == 0) {
            a->validation = argv[i];
        } else if (strcmp(o, "--model-dir") == 0) {
            a->model_dir = v;
        } else if (strcmp(o, "--predictions") == 0) {
            a->predictions = v;
        } else if (strcmp(o, "--batch-rows") == 0) {
            if (parse_size(v, &a->batch_rows) != AR_OK)
                return usage("train: --batch-rows: %s", ar_err_msg());
        } else {
            return usage("train: unknown option '%s'", o);
        }
    }
    if (!a->algo_id || !a->train)
        return usage("train needs --algorithm ID and --train FILE");
    return 0;
}

/* The name the algorithm gives its held-out channel: "validation", else "test". */
static const char *heldout_channel_name(const struct ar_algo *algo)
{
    for (const char *const *c = algo->channels; c && *c; c++)
        if (strcmp(*c, "validation") == 0)
            return "validation";
    return "test";
}

static int cmd_train(int argc, char **argv)
{
    struct train_args a;
    int urc = parse_train_args(argc, argv, &a);
    if (urc != 0)
        return urc;
    const struct ar_algo *algo;
    int rc = find_algo(a.algo_id, &algo);
    if (rc != AR_OK)
        return fail(rc, "train");

    void *params = ar_callocn(1, algo->params_size ? algo->params_size : 1);
    if (!params)
        return fail(AR_ERR_NOMEM, "train");
    rc = ar_hp_parse(algo->hp, a.hp, a.n_hp, true, params);
    if (rc == AR_OK && algo->validate)
        rc = algo->validate(params);
    if (rc != AR_OK)
        return fail(rc, "hyperparameters");

    /* Load every channel into memory: parse time is reported apart from training. */
    struct ar_channel chans[2];
    struct ar_batch data[2];
    memset(chans, 0, sizeof chans);
    memset(data, 0, sizeof data);
    size_t n_chans = 0;
    double t0 = ar_time_now();
    char *locs[2] = {a.train, a.validation};
    const char *names[2] = {"train", heldout_channel_name(algo)};
    for (size_t c = 0; c < 2 && rc == AR_OK; c++) {
        if (!locs[c])
            continue;
        const char *path, *type;
        rc = split_location(locs[c], &path, &type);
        if (rc == AR_OK)
            rc = load_channel(path, type, &chans[c].fmt, &data[c]);
        chans[c].name = names[c];
        chans[c].location = path;
        chans[c].mode = AR_INPUT_FILE;
        chans[c].preloaded = &data[c];
        n_chans = c + 1;
    }
    double load_s = ar_time_now() - t0;
    if (rc != AR_OK)
        return fail(rc, "loading data");

    static volatile sig_atomic_t stop = 0;
    struct ar_train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.model_dir = a.model_dir;
    ctx.stop = &stop;
    struct ar_channels chs = {a.eval ? n_chans : 1, chans};
    struct ar_model *model = NULL;
    t0 = ar_time_now();
    rc = algo->train(params, &chs, &ctx, &model);
    double train_s = ar_time_now() - t0;
    if (rc != AR_OK)
        return fail(rc, "train");

    double save_s = 0;
    if (a.model_dir) {
        t0 = ar_time_now();
        rc = make_dir(a.model_dir);
        if (rc == AR_OK)
            rc = algo->save(model, a.model_dir);
        save_s = ar_time_now() - t0;
        if (rc != AR_OK)
            return fail(rc, "save");
    }

    printf("{\"algorithm\": ");
    json_string(stdout, algo->id);
    printf(", \"load_seconds\": %.6f, \"train_seconds\": %.6f, \"save_seconds\": %.6f, "
           "\"train_rows\": %zu, \"train_cols\": %zu, ",
           load_s, train_s, save_s, data[0].n_rows, data[0].n_cols);
    print_env();
    if (a.validation) {
        struct ar_table out;
        double pred_s;
        rc = predict_all(algo, model, &data[1], a.batch_rows, &out, &pred_s);
        if (rc != AR_OK) {
            printf("}\n");
            return fail(rc, "predict");
        }
        printf(", \"predict_seconds\": %.6f, \"predict_rows\": %zu, \"rows_per_s\": %.1f", pred_s,
               data[1].n_rows, (double)data[1].n_rows / pred_s);
        if (a.predictions && (rc = write_predictions(&out, a.predictions)) != AR_OK) {
            printf("}\n");
            return fail(rc, "writing predictions");
        }
        ar_table_release(&out);
    }
    printf("}\n");
    algo->model_free(model);
    for (size_t c = 0; c < 2; c++)
        ar_batch_release(&data[c]);
    if (algo->params_free)
        algo->params_free(params);
    else
        ar_hp_free(algo->hp, params);
    ar_free(params);
    return 0;
}

/* ---- predict ---- */

static int cmd_predict(int argc, char **argv)
{
    const char *id = NULL, *dir = NULL, *type = NULL, *path = NULL, *prefix = NULL;
    size_t batch_rows = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-') {
            if (path)
                return usage("predict: more than one FILE ('%s')", o);
            path = o;
            continue;
        }
        if (!v)
            return usage("predict: option '%s' needs a value", o);
        i++;
        if (strcmp(o, "--algorithm") == 0)
            id = v;
        else if (strcmp(o, "--model-dir") == 0)
            dir = v;
        else if (strcmp(o, "--content-type") == 0)
            type = v;
        else if (strcmp(o, "--predictions") == 0)
            prefix = v;
        else if (strcmp(o, "--batch-rows") == 0) {
            if (parse_size(v, &batch_rows) != AR_OK)
                return usage("predict: --batch-rows: %s", ar_err_msg());
        } else
            return usage("predict: unknown option '%s'", o);
    }
    if (!id || !dir || !path)
        return usage("predict needs --algorithm ID, --model-dir DIR and FILE");
    const struct ar_algo *algo;
    int rc = find_algo(id, &algo);
    if (rc != AR_OK)
        return fail(rc, "predict");
    struct ar_model *model;
    double t0 = ar_time_now();
    rc = algo->load(dir, &model);
    double model_s = ar_time_now() - t0;
    if (rc != AR_OK)
        return fail(rc, dir);
    struct ar_data_format fmt;
    struct ar_batch data;
    t0 = ar_time_now();
    rc = load_channel(path, type ? type : "text/csv;label_size=0", &fmt, &data);
    double load_s = ar_time_now() - t0;
    if (rc != AR_OK)
        return fail(rc, "loading data");
    struct ar_table out;
    double pred_s;
    rc = predict_all(algo, model, &data, batch_rows, &out, &pred_s);
    if (rc != AR_OK)
        return fail(rc, "predict");
    printf("{\"model_load_seconds\": %.6f, \"load_seconds\": %.6f, \"predict_seconds\": %.6f, "
           "\"rows\": %zu, \"rows_per_s\": %.1f, ",
           model_s, load_s, pred_s, data.n_rows, (double)data.n_rows / pred_s);
    print_env();
    if (prefix && (rc = write_predictions(&out, prefix)) != AR_OK) {
        printf("}\n");
        return fail(rc, "writing predictions");
    }
    printf("}\n");
    ar_table_release(&out);
    ar_batch_release(&data);
    algo->model_free(model);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
        char *end;
        long v = strtol(argv[i + 1], &end, 10);
        if (end == argv[i + 1] || *end || v < 0 || v > 4096)
            return usage("--threads needs an integer 0..4096, got '%s'", argv[i + 1]);
        threads = (int)v;
        i += 2;
    }
    if (i >= argc)
        return usage("missing mode (parse, train or predict)");
    if (!getenv("ALGORUN_LOG_LEVEL")) /* set: the algorithm's own log lines (timings) */
        ar_log_set_level(AR_LOG_WARN);
    if (ar_par_init(threads) != AR_OK)
        return fail(AR_ERR_PARAM, "--threads");
    if (strcmp(argv[i], "parse") == 0)
        return cmd_parse(argc - i, argv + i);
    if (strcmp(argv[i], "train") == 0)
        return cmd_train(argc - i, argv + i);
    if (strcmp(argv[i], "predict") == 0)
        return cmd_predict(argc - i, argv + i);
    return usage("unknown mode '%s'", argv[i]);
}
