/* Test tool for k-means until the CLI drives algorithms: trains from a CSV file held in memory
 * and predicts a CSV file with a saved model. Thin on purpose; tests/e2e/test_kmeans.py uses it.
 *
 *   km_train train <train.csv> <model_dir> [--drop-label] [--sparse] [--test <test.csv>]
 *                  [name=value ...]
 *   km_train predict <model_dir> <in.csv> <out.csv> [--drop-label] [--sparse]
 *
 * --drop-label ignores the first column; --sparse feeds the rows as CSR (zeros dropped).
 * Predictions are written as "closest_cluster,distance_to_cluster" lines (%.9g).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

struct data {
    float *x;
    size_t n, d;
    struct ar_batch b;
};

/* Reads a numeric CSV (no header) into d->x; all rows must have the same column count. */
static int load_csv(const char *path, bool drop_label, bool sparse, struct data *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f)
        return ar_err_set(AR_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, n = 0, width = 0, alloc = 0;
    float *x = NULL;
    int rc = AR_OK;
    while (getline(&line, &cap, f) > 0) {
        char *p = line;
        size_t col = 0, kept = 0;
        if (*p == '\n' || *p == '\0')
            continue;
        for (;;) {
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            if (end == p || errno) {
                rc = ar_err_set(AR_ERR_FORMAT, "%s:%zu: bad number in column %zu", path, n + 1,
                                col + 1);
                goto done;
            }
            if (!(drop_label && col == 0)) {
                if (n * (width ? width : 1024) + kept + 1 > alloc) {
                    size_t na = alloc ? alloc * 2 : 1 << 16;
                    float *nx = ar_reallocn(x, alloc * sizeof *x, na, sizeof *x);
                    if (!nx) {
                        rc = AR_ERR_NOMEM;
                        goto done;
                    }
                    x = nx;
                    alloc = na;
                }
                x[n * (width ? width : 0) + kept++] = (float)v;
            }
            col++;
            p = end;
            if (*p == ',') {
                p++;
                continue;
            }
            break;
        }
        if (width == 0)
            width = kept;
        if (kept != width) {
            rc = ar_err_set(AR_ERR_FORMAT, "%s:%zu: %zu features, expected %zu", path, n + 1, kept,
                            width);
            goto done;
        }
        n++;
    }
done:
    free(line);
    fclose(f);
    if (rc != AR_OK) {
        ar_free(x);
        return rc;
    }
    d->x = x;
    d->n = n;
    d->d = width;
    d->b.n_rows = n;
    d->b.n_cols = width;
    d->b.dense = ar_mat_view(x, n, width, width);
    if (sparse) {
        size_t nnz = 0;
        for (size_t i = 0; i < n * width; i++)
            nnz += x[i] != 0;
        AR_TRY(ar_csr_alloc(&d->b.csr, n, width, nnz));
        size_t q = 0;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < width; j++)
                if (x[i * width + j] != 0) {
                    d->b.csr.indices[q] = (uint32_t)j;
                    d->b.csr.values[q++] = x[i * width + j];
                }
            d->b.csr.indptr[i + 1] = q;
        }
        d->b.is_sparse = true;
    }
    return AR_OK;
}

static void data_free(struct data *d)
{
    ar_csr_release(&d->b.csr);
    ar_free(d->x);
}

struct mem_src {
    struct ar_batch_source base;
    const struct ar_batch *all;
    size_t pos;
};

static int mem_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct mem_src *m = (struct mem_src *)s;
    size_t end = m->pos + max_rows < m->all->n_rows ? m->pos + max_rows : m->all->n_rows;
    *out = ar_batch_rows(m->all, m->pos, end);
    m->pos = end;
    return AR_OK;
}

static int mem_reset(struct ar_batch_source *s)
{
    ((struct mem_src *)s)->pos = 0;
    return AR_OK;
}

static void mem_close(struct ar_batch_source *s)
{
    (void)s;
}

static const struct ar_batch_source_ops mem_ops = {mem_next, mem_reset, mem_close};

static int fail(const char *what)
{
    fprintf(stderr, "ERROR: %s%s\n", what, ar_err_msg());
    return 1;
}

static int cmd_train(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: km_train train <train.csv> <model_dir> ...\n"), 2;
    bool drop = false, sparse = false;
    const char *test_path = NULL;
    struct ar_hp_kv kv[64];
    size_t nkv = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--drop-label") == 0) {
            drop = true;
        } else if (strcmp(argv[i], "--sparse") == 0) {
            sparse = true;
        } else if (strcmp(argv[i], "--test") == 0 && i + 1 < argc) {
            test_path = argv[++i];
        } else {
            char *eq = strchr(argv[i], '=');
            if (!eq || nkv == 64)
                return fprintf(stderr, "bad argument '%s'\n", argv[i]), 2;
            *eq = '\0';
            kv[nkv].name = argv[i];
            kv[nkv++].value = eq + 1;
        }
    }
    struct ar_km_params p;
    memset(&p, 0, sizeof p);
    if (ar_hp_parse(ar_km_hp, kv, nkv, true, &p) != AR_OK || ar_km_params_validate(&p) != AR_OK)
        return fail("");
    struct data tr, te;
    memset(&te, 0, sizeof te);
    if (load_csv(argv[0], drop, sparse, &tr) != AR_OK)
        return fail("");
    if (test_path && load_csv(test_path, drop, sparse, &te) != AR_OK)
        return fail("");
    struct mem_src trs = {{&mem_ops, 0, false}, &tr.b, 0}, tes = {{&mem_ops, 0, false}, &te.b, 0};
    struct ar_km_model *m = NULL;
    int rc = ar_km_train_sources(&p, &trs.base, true, test_path ? &tes.base : NULL, NULL, &m);
    if (rc == AR_OK)
        rc = ar_km_model_save(&m->base, argv[1]);
    ar_km_model_free(m);
    ar_hp_free(ar_km_hp, &p);
    data_free(&tr);
    data_free(&te);
    return rc == AR_OK ? 0 : fail("");
}

static int cmd_predict(int argc, char **argv)
{
    if (argc < 3)
        return fprintf(stderr, "usage: km_train predict <model_dir> <in.csv> <out.csv>\n"), 2;
    bool drop = false, sparse = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--drop-label") == 0)
            drop = true;
        else if (strcmp(argv[i], "--sparse") == 0)
            sparse = true;
        else
            return fprintf(stderr, "bad argument '%s'\n", argv[i]), 2;
    }
    struct ar_model *m = NULL;
    if (ar_km_model_load(argv[0], &m) != AR_OK)
        return fail("");
    struct data in;
    if (load_csv(argv[1], drop, sparse, &in) != AR_OK)
        return fail("");
    struct ar_table t;
    memset(&t, 0, sizeof t);
    int rc = ar_km_predict(m, &in.b, &t);
    if (rc == AR_OK) {
        FILE *f = fopen(argv[2], "w");
        if (!f)
            rc = ar_err_set(AR_ERR_IO, "%s: %s", argv[2], strerror(errno));
        const struct ar_table_col *c = ar_table_find(&t, "closest_cluster");
        const struct ar_table_col *d = ar_table_find(&t, "distance_to_cluster");
        for (size_t i = 0; f && i < t.n_rows; i++)
            fprintf(f, "%.1f,%.9g\n", (double)c->data[i], (double)d->data[i]);
        if (f && fclose(f) != 0)
            rc = ar_err_set(AR_ERR_IO, "%s: write failed", argv[2]);
    }
    ar_table_release(&t);
    data_free(&in);
    ar_km_model_free((struct ar_km_model *)m);
    return rc == AR_OK ? 0 : fail("");
}

int main(int argc, char **argv)
{
    ar_log_set_level(AR_LOG_INFO);
    if (argc >= 2 && strcmp(argv[1], "train") == 0)
        return cmd_train(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "predict") == 0)
        return cmd_predict(argc - 2, argv + 2);
    fprintf(stderr, "usage: km_train train|predict ...\n");
    return 2;
}
