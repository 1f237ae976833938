/* Test driver for the Linear Learner until the CLI exists: trains from CSV files (label in
 * column 0), saves model_algo-1, reloads it, and writes predictions.
 *
 *   ll_train --train F [--validation F] [--test F] --model-dir D [--sparse]
 *            [--predict F --out F] name=value ...
 *
 * Metrics reported through the training context go to stdout as "METRIC set name value step";
 * the algorithm's own log lines go to stderr. --predict reads a CSV with the label column too
 * (ignored) and writes one line per record: the score column(s), then predicted_label for
 * classifiers. --sparse hands the data to the trainer as CSR batches. Exit status 0 on success,
 * 1 with "ERROR: ..." otherwise. The CSV loader here is deliberately tiny (test-only). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/hp.h"
#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/mem.h"

struct mem_src {
    struct ar_batch_source base;
    const struct ar_batch *all;
    size_t pos;
};

static int mem_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct mem_src *m = (struct mem_src *)(void *)s;
    size_t end = m->pos + max_rows < m->all->n_rows ? m->pos + max_rows : m->all->n_rows;
    *out = ar_batch_rows(m->all, m->pos, end);
    m->pos = end;
    return AR_OK;
}

static int mem_reset(struct ar_batch_source *s)
{
    ((struct mem_src *)(void *)s)->pos = 0;
    return AR_OK;
}

static void mem_close(struct ar_batch_source *s)
{
    (void)s;
}

static const struct ar_batch_source_ops mem_ops = {mem_next, mem_reset, mem_close};

/* Loads a CSV of numbers (label first) into a dense batch. */
static int load_csv(const char *path, struct ar_batch *b)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "r");
    if (!f)
        return ar_err_set(AR_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, cols = 0, rows = 0;
    float *v = malloc(cap * sizeof *v);
    char line[1 << 16];
    int rc = AR_OK;
    while (v && fgets(line, sizeof line, f)) {
        size_t c = 0;
        char *p = line;
        while (*p && *p != '\n') {
            char *end;
            errno = 0;
            double x = strtod(p, &end);
            if (end == p) {
                rc = ar_err_set(AR_ERR_FORMAT, "%s: line %zu: not a number", path, rows + 1);
                goto out;
            }
            if (n == cap) {
                float *nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) {
                    rc = AR_ERR_NOMEM;
                    goto out;
                }
                v = nv;
                cap *= 2;
            }
            v[n++] = (float)x;
            c++;
            p = end;
            if (*p == ',')
                p++;
        }
        if (c == 0)
            continue;
        if (cols && c != cols) {
            rc = ar_err_set(AR_ERR_FORMAT, "%s: line %zu has %zu fields, expected %zu", path,
                            rows + 1, c, cols);
            goto out;
        }
        cols = c;
        rows++;
    }
    if (rows == 0 || cols < 2) {
        rc = ar_err_set(AR_ERR_FORMAT, "%s: no records with a label and features", path);
        goto out;
    }
    if ((rc = ar_mat_alloc(&b->dense, rows, cols - 1)) != AR_OK)
        goto out;
    b->labels = ar_allocn(rows, sizeof(float));
    if (!b->labels) {
        rc = AR_ERR_NOMEM;
        goto out;
    }
    b->owner = b->labels;
    b->n_rows = rows;
    b->n_cols = cols - 1;
    for (size_t i = 0; i < rows; i++) {
        b->labels[i] = v[i * cols];
        memcpy(ar_mat_row(&b->dense, i), v + i * cols + 1, (cols - 1) * sizeof(float));
    }
out:
    free(v);
    fclose(f);
    if (rc != AR_OK)
        ar_batch_release(b);
    return rc;
}

/* Converts a dense batch into CSR (zeros dropped), keeping the labels. */
static int to_csr(struct ar_batch *b)
{
    size_t nnz = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        for (size_t j = 0; j < b->n_cols; j++)
            nnz += ar_mat_row(&b->dense, i)[j] != 0.0f;
    struct ar_csr c;
    AR_TRY(ar_csr_alloc(&c, b->n_rows, b->n_cols, nnz ? nnz : 1));
    size_t p = 0;
    for (size_t i = 0; i < b->n_rows; i++) {
        for (size_t j = 0; j < b->n_cols; j++) {
            float v = ar_mat_row(&b->dense, i)[j];
            if (v != 0.0f) {
                c.indices[p] = (uint32_t)j;
                c.values[p++] = v;
            }
        }
        c.indptr[i + 1] = p;
    }
    ar_mat_release(&b->dense);
    b->csr = c;
    b->is_sparse = true;
    return AR_OK;
}

static void on_metric(void *user, const char *set, const char *name, double value, long step)
{
    (void)user;
    printf("METRIC %s %s %.17g %ld\n", set, name, value, step);
}

int main(int argc, char **argv)
{
    const char *paths[3] = {NULL, NULL, NULL}, *model_dir = NULL, *pred_in = NULL, *pred_out = NULL;
    bool sparse = false;
    struct ar_hp_kv kv[128];
    size_t n_kv = 0;
    char *kv_buf[128];
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        if (strcmp(s, "--train") == 0 && a + 1 < argc)
            paths[0] = argv[++a];
        else if (strcmp(s, "--validation") == 0 && a + 1 < argc)
            paths[1] = argv[++a];
        else if (strcmp(s, "--test") == 0 && a + 1 < argc)
            paths[2] = argv[++a];
        else if (strcmp(s, "--model-dir") == 0 && a + 1 < argc)
            model_dir = argv[++a];
        else if (strcmp(s, "--predict") == 0 && a + 1 < argc)
            pred_in = argv[++a];
        else if (strcmp(s, "--out") == 0 && a + 1 < argc)
            pred_out = argv[++a];
        else if (strcmp(s, "--sparse") == 0)
            sparse = true;
        else if (strchr(s, '=') && n_kv < 128) {
            kv_buf[n_kv] = ar_strdup(s);
            char *eq = strchr(kv_buf[n_kv], '=');
            *eq = '\0';
            kv[n_kv].name = kv_buf[n_kv];
            kv[n_kv].value = eq + 1;
            n_kv++;
        } else {
            fprintf(stderr, "usage: ll_train --train F [--validation F] [--test F] --model-dir D "
                            "[--sparse] [--predict F --out F] name=value ...\n");
            return 2;
        }
    }
    if (!paths[0] || !model_dir) {
        fprintf(stderr, "ERROR: --train and --model-dir are required\n");
        return 2;
    }
    struct ar_ll_params params;
    memset(&params, 0, sizeof params);
    struct ar_ll_config cfg;
    struct ar_batch data[3];
    struct mem_src src[3];
    memset(data, 0, sizeof data);
    struct ar_ll_model *m = NULL, *loaded = NULL;
    int rc = ar_hp_parse(ar_ll_hp, kv, n_kv, true, &params);
    if (rc == AR_OK)
        rc = ar_ll_params_validate(&params);
    if (rc == AR_OK)
        rc = ar_ll_config_resolve(&params, &cfg);
    for (int i = 0; i < 3 && rc == AR_OK; i++) {
        if (!paths[i])
            continue;
        rc = load_csv(paths[i], &data[i]);
        if (rc == AR_OK && sparse)
            rc = to_csr(&data[i]);
        memset(&src[i], 0, sizeof src[i]);
        src[i].base.ops = &mem_ops;
        src[i].all = &data[i];
    }
    struct ar_train_ctx ctx = {model_dir, NULL, NULL, on_metric, NULL};
    if (rc == AR_OK)
        rc = ar_ll_fit(&cfg, &src[0].base, paths[1] ? &src[1].base : NULL,
                       paths[2] ? &src[2].base : NULL, &ctx, &m);
    if (rc == AR_OK)
        rc = ar_ll_model_save(m, model_dir);
    if (rc == AR_OK)
        rc = ar_ll_model_load(model_dir, &loaded);
    if (rc == AR_OK && loaded) {
        printf("THRESHOLD %.9g\n", (double)loaded->threshold);
        printf("CHOSEN lr=%g wd=%g l1=%g\n", loaded->lr, loaded->wd, loaded->l1);
    }
    if (rc == AR_OK && pred_in && pred_out) {
        struct ar_batch in;
        struct ar_table t;
        memset(&t, 0, sizeof t);
        rc = load_csv(pred_in, &in);
        if (rc == AR_OK && sparse)
            rc = to_csr(&in);
        if (rc == AR_OK)
            rc = ar_ll_model_predict(loaded, &in, &t);
        FILE *f = rc == AR_OK ? fopen(pred_out, "w") : NULL;
        if (rc == AR_OK && !f)
            rc = ar_err_set(AR_ERR_IO, "cannot write %s", pred_out);
        for (size_t i = 0; f && i < t.n_rows; i++) {
            for (size_t c = 0; c < t.n_cols; c++)
                for (size_t k = 0; k < t.cols[c].width; k++)
                    fprintf(f, "%s%.9g", c + k ? "," : "",
                            (double)t.cols[c].data[i * t.cols[c].width + k]);
            fputc('\n', f);
        }
        if (f)
            fclose(f);
        ar_table_release(&t);
        ar_batch_release(&in);
    }
    if (rc != AR_OK)
        fprintf(stderr, "ERROR: %s\n", ar_err_msg());
    ar_ll_model_free(m);
    ar_ll_model_free(loaded);
    for (int i = 0; i < 3; i++) {
        ar_csr_release(&data[i].csr);
        ar_batch_release(&data[i]);
    }
    ar_hp_free(ar_ll_hp, &params);
    for (size_t i = 0; i < n_kv; i++)
        ar_free(kv_buf[i]);
    return rc == AR_OK ? 0 : 1;
}
