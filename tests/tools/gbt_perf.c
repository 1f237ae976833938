/* Performance probe for the xgboost:1.7-1 learner: trains from float32 .npy files (features
 * and labels, as benchmarks/datasets.py caches them) held in memory, then measures batch
 * prediction throughput and single-row latency. Prints one JSON line; the model's JSON bytes
 * are hashed (FNV-1a) so runs can be checked for identical models.
 *
 *   gbt_perf [--threads N] --x X.npy --y Y.npy [--rows N] [--pred-reps R] [--latency-rows N]
 *            [--model-out FILE] [--skip-train --model FILE] [--phases] k=v ...
 *
 * --phases also times the quantile cuts, the bin matrix from them, and both together
 * (ar_gbt_quantize, as training makes them) (max_bin from the k=v list,
 * else 256) before training.
 * --skip-train with --model loads a model instead of training (prediction only).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/hp.h"
#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/timer.h"

/* Reads a C-order little-endian float32 .npy file: 1-D (n) or 2-D (n x c). */
static float *read_npy(const char *path, size_t *n, size_t *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ar_err_set(AR_ERR_NOT_FOUND, "cannot open %s", path);
        return NULL;
    }
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        ar_err_set(AR_ERR_FORMAT, "%s: not a .npy file", path);
        return NULL;
    }
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {
        unsigned char ext[2];
        if (fread(ext, 1, 2, f) != 2) {
            fclose(f);
            return NULL;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)ext[0] << 16 | (size_t)ext[1] << 24;
    }
    char *hdr = malloc(hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen) {
        free(hdr);
        fclose(f);
        ar_err_set(AR_ERR_FORMAT, "%s: short header", path);
        return NULL;
    }
    hdr[hlen] = '\0';
    const char *sh = strstr(hdr, "'shape': (");
    if (!strstr(hdr, "'<f4'") || !sh || strstr(hdr, "'fortran_order': True")) {
        free(hdr);
        fclose(f);
        ar_err_set(AR_ERR_FORMAT, "%s: need C-order float32", path);
        return NULL;
    }
    char *end;
    *n = strtoul(sh + 10, &end, 10);
    *c = 1;
    if (*end == ',' && end[1] == ' ' && end[2] != ')')
        *c = strtoul(end + 2, &end, 10);
    free(hdr);
    size_t cells = *n * *c;
    float *d = ar_allocn(cells ? cells : 1, sizeof *d);
    if (!d || fread(d, sizeof *d, cells, f) != cells) {
        ar_free(d);
        fclose(f);
        ar_err_set(AR_ERR_FORMAT, "%s: short data", path);
        return NULL;
    }
    fclose(f);
    return d;
}

static int fail(const char *what)
{
    fprintf(stderr, "gbt_perf: %s: %s\n", what, ar_err_msg());
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *xp = NULL, *yp = NULL, *model_out = NULL, *model_in = NULL;
    int threads = 1, pred_reps = 3;
    size_t rows = 0, lat_rows = 2000;
    bool skip_train = false, phases = false;
    struct ar_hp_kv kv[128];
    size_t n_kv = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--x") && i + 1 < argc)
            xp = argv[++i];
        else if (!strcmp(argv[i], "--y") && i + 1 < argc)
            yp = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--pred-reps") && i + 1 < argc)
            pred_reps = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--latency-rows") && i + 1 < argc)
            lat_rows = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--model-out") && i + 1 < argc)
            model_out = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_in = argv[++i];
        else if (!strcmp(argv[i], "--phases"))
            phases = true;
        else if (!strcmp(argv[i], "--skip-train"))
            skip_train = true;
        else if (strchr(argv[i], '=') && n_kv < 128) {
            char *eq = strchr(argv[i], '=');
            *eq = '\0';
            kv[n_kv].name = argv[i];
            kv[n_kv].value = eq + 1;
            n_kv++;
        } else {
            fprintf(stderr, "gbt_perf: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!xp || (!skip_train && !yp) || (skip_train && !model_in)) {
        fprintf(stderr, "gbt_perf: need --x and --y (or --skip-train --model)\n");
        return 2;
    }
    if (ar_par_init(threads) != AR_OK)
        return fail("threads");
    ar_log_set_level(AR_LOG_WARN);
    size_t n, nc, ny = 0, one;
    float *x = read_npy(xp, &n, &nc);
    float *y = yp ? read_npy(yp, &ny, &one) : NULL;
    if (!x || (yp && !y))
        return fail("data");
    if (rows && rows < n)
        n = rows;
    struct ar_batch b;
    memset(&b, 0, sizeof b);
    b.n_rows = n;
    b.n_cols = nc;
    b.dense = ar_mat_view(x, n, nc, nc);
    b.labels = y;

    double cuts_s = 0.0, binmat_s = 0.0, quantize_s = 0.0;
    if (phases) {
        int max_bin = 256;
        for (size_t i = 0; i < n_kv; i++)
            if (!strcmp(kv[i].name, "max_bin"))
                max_bin = (int)strtol(kv[i].value, NULL, 10);
        struct ar_gbt_cuts cuts;
        struct ar_gbt_binmat bm;
        double t0 = ar_time_now();
        if (ar_gbt_cuts_build(&b, NULL, max_bin, threads, &cuts) != AR_OK)
            return fail("cuts");
        cuts_s = ar_time_now() - t0;
        t0 = ar_time_now();
        if (ar_gbt_binmat_build(&b, &cuts, threads, &bm) != AR_OK)
            return fail("binmat");
        binmat_s = ar_time_now() - t0;
        ar_gbt_binmat_release(&bm);
        ar_gbt_cuts_release(&cuts);
        t0 = ar_time_now();
        if (ar_gbt_quantize(&b, NULL, max_bin, threads, &cuts, &bm) != AR_OK)
            return fail("quantize");
        quantize_s = ar_time_now() - t0;
        ar_gbt_binmat_release(&bm);
        ar_gbt_cuts_release(&cuts);
    }
    struct ar_gbt_model *m = NULL;
    double train_s = 0.0, train_cpu = 0.0;
    if (!skip_train) {
        struct ar_gbt_params p;
        memset(&p, 0, sizeof p);
        if (ar_hp_parse(ar_gbt_hp, kv, n_kv, true, &p) != AR_OK ||
            ar_gbt_params_validate(&p) != AR_OK)
            return fail("hyperparameters");
        double t0 = ar_time_now(), c0 = ar_time_cpu();
        if (ar_gbt_train_batch(&p, &b, NULL, NULL, &m) != AR_OK)
            return fail("training");
        train_s = ar_time_now() - t0;
        train_cpu = ar_time_cpu() - c0;
        ar_hp_free(ar_gbt_hp, &p);
    } else {
        if (ar_gbt_model_load_file(model_in, &m) != AR_OK)
            return fail("load");
    }
    char *json;
    size_t jlen;
    if (ar_gbt_model_to_json(m, &json, &jlen) != AR_OK)
        return fail("json");
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < jlen; i++)
        hash = (hash ^ (unsigned char)json[i]) * 1099511628211ull;
    ar_free(json);
    if (model_out && ar_gbt_model_save_file(m, model_out) != AR_OK)
        return fail("save");

    /* batch prediction: best of pred_reps */
    double best = INFINITY, checksum = 0.0;
    for (int r = 0; r < pred_reps; r++) {
        struct ar_table t;
        memset(&t, 0, sizeof t);
        double t0 = ar_time_now();
        if (ar_gbt_predict(&m->base, &b, &t) != AR_OK)
            return fail("predict");
        double s = ar_time_now() - t0;
        if (s < best)
            best = s;
        const struct ar_table_col *c = ar_table_find(&t, "score");
        checksum = 0.0;
        for (size_t i = 0; i < t.n_rows * c->width; i++)
            checksum += (double)c->data[i];
        ar_table_release(&t);
    }

    if (pred_reps < 1)
        best = 0.0; /* not measured */

    /* single-row latency through the predict hook (table allocation included) */
    if (lat_rows > n)
        lat_rows = n;
    double *lat = malloc((lat_rows ? lat_rows : 1) * sizeof *lat);
    for (size_t i = 0; i < lat_rows; i++) {
        struct ar_batch one_row = ar_batch_rows(&b, i, i + 1);
        struct ar_table t;
        memset(&t, 0, sizeof t);
        double t0 = ar_time_now();
        if (ar_gbt_predict(&m->base, &one_row, &t) != AR_OK)
            return fail("predict one");
        lat[i] = ar_time_now() - t0;
        ar_table_release(&t);
    }
    qsort(lat, lat_rows, sizeof *lat, cmp_double);
    double p50 = lat_rows ? lat[lat_rows / 2] : 0.0,
           p99 = lat_rows ? lat[lat_rows * 99 / 100] : 0.0;
    printf(
        "{\"threads\": %d, \"rows\": %zu, \"cols\": %zu, \"trees\": %zu, \"train_seconds\": %.4f, "
        "\"train_cpu_seconds\": %.4f, "
        "\"model_hash\": \"%016llx\", \"predict_seconds\": %.5f, \"rows_per_s\": %.0f, "
        "\"pred_checksum\": %.9g, \"one_row_p50_us\": %.2f, \"one_row_p99_us\": %.2f, "
        "\"cuts_seconds\": %.4f, \"binmat_seconds\": %.4f, \"quantize_seconds\": %.4f}\n",
        threads, n, nc, m->n_trees, train_s, train_cpu, (unsigned long long)hash, best,
        best > 0.0 ? (double)n / best : 0.0, checksum, p50 * 1e6, p99 * 1e6, cuts_s, binmat_s,
        quantize_s);
    free(lat);
    ar_gbt_model_free(&m->base);
    ar_free(x);
    ar_free(y);
    return 0;
}
