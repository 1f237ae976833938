/* Test driver for the xgboost:1.7-1 learner until the CLI runs it: trains from CSV files (label
 * in column 0, empty field = missing) with hyperparameters given as k=v, writes
 * <model-dir>/xgboost-model, and/or loads a model and writes predictions ("score" columns, one
 * row per line, %.9g).
 *
 *   gbt_train [--threads N] [--train F.csv] [--validation F.csv] [--model-dir D]
 *             [--load MODEL] [--predict F.csv --out P.csv] [--weights-col] k=v ...
 *
 * The CSV loader here is deliberately minimal and test-only (io/csv.c is the real reader).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

/* Reads a CSV with the label in column 0 (and a weight in column 1 when `weights`). */
static int read_csv(const char *path, bool weights, struct ar_batch *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ar_err_set(AR_ERR_NOT_FOUND, "cannot open %s", path);
    size_t cap_rows = 1024, n_rows = 0, n_cols = 0, cap_vals = 0;
    float *vals = NULL, *labels = malloc(cap_rows * sizeof *labels),
          *w = malloc(cap_rows * sizeof *w);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        size_t col = 0;
        char *p = line;
        if (n_rows == cap_rows) {
            cap_rows *= 2;
            labels = realloc(labels, cap_rows * sizeof *labels);
            w = realloc(w, cap_rows * sizeof *w);
        }
        for (;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            float v = NAN;
            if (*p) {
                char *end;
                v = strtof(p, &end);
                if (end == p) {
                    fclose(f);
                    return ar_err_set(AR_ERR_FORMAT, "%s line %zu: bad number '%s'", path,
                                      n_rows + 1, p);
                }
            }
            if (col == 0)
                labels[n_rows] = v;
            else if (col == 1 && weights)
                w[n_rows] = v;
            else {
                size_t j = col - 1 - (weights ? 1 : 0);
                if (n_rows == 0) {
                    n_cols = j + 1 > n_cols ? j + 1 : n_cols;
                    if (n_cols > cap_vals) {
                        cap_vals = n_cols * 2;
                        vals = realloc(vals, cap_vals * sizeof *vals);
                    }
                    vals[j] = v;
                } else {
                    if (j >= n_cols) {
                        fclose(f);
                        return ar_err_set(AR_ERR_FORMAT, "%s line %zu: too many columns", path,
                                          n_rows + 1);
                    }
                    if ((n_rows + 1) * n_cols > cap_vals) {
                        cap_vals = 2 * (n_rows + 1) * n_cols;
                        vals = realloc(vals, cap_vals * sizeof *vals);
                    }
                    vals[n_rows * n_cols + j] = v;
                }
            }
            col++;
            if (!comma)
                break;
            p = comma + 1;
        }
        if (col - 1 - (weights ? 1 : 0) != n_cols) {
            fclose(f);
            return ar_err_set(AR_ERR_FORMAT, "%s line %zu: %zu columns, expected %zu", path,
                              n_rows + 1, col, n_cols + 1);
        }
        n_rows++;
    }
    free(line);
    fclose(f);
    memset(b, 0, sizeof *b);
    b->n_rows = n_rows;
    b->n_cols = n_cols;
    if (ar_mat_alloc(&b->dense, n_rows, n_cols) != AR_OK)
        return AR_ERR_NOMEM;
    memcpy(b->dense.data, vals, n_rows * n_cols * sizeof *vals);
    b->owner = ar_allocn(2 * (n_rows ? n_rows : 1), sizeof(float));
    if (!b->owner)
        return AR_ERR_NOMEM;
    b->labels = b->owner;
    memcpy(b->labels, labels, n_rows * sizeof *labels);
    if (weights) {
        b->weights = b->labels + n_rows;
        memcpy(b->weights, w, n_rows * sizeof *w);
    }
    free(vals);
    free(labels);
    free(w);
    return AR_OK;
}

static int fail(const char *what)
{
    fprintf(stderr, "gbt_train: %s: %s\n", what, ar_err_msg());
    return 1;
}

int main(int argc, char **argv)
{
    const char *train_path = NULL, *valid_path = NULL, *model_dir = NULL, *load_path = NULL,
               *pred_path = NULL, *out_path = NULL;
    int threads = 0;
    bool wcol = false;
    struct ar_hp_kv kv[128];
    size_t n_kv = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--train") && i + 1 < argc)
            train_path = argv[++i];
        else if (!strcmp(argv[i], "--validation") && i + 1 < argc)
            valid_path = argv[++i];
        else if (!strcmp(argv[i], "--model-dir") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--load") && i + 1 < argc)
            load_path = argv[++i];
        else if (!strcmp(argv[i], "--predict") && i + 1 < argc)
            pred_path = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--weights-col"))
            wcol = true;
        else if (strchr(argv[i], '=') && n_kv < 128) {
            char *eq = strchr(argv[i], '=');
            *eq = '\0';
            kv[n_kv].name = argv[i];
            kv[n_kv].value = eq + 1;
            n_kv++;
        } else {
            fprintf(stderr, "gbt_train: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (ar_par_init(threads) != AR_OK)
        return fail("threads");
    struct ar_gbt_model *m = NULL;
    if (train_path) {
        struct ar_gbt_params p;
        memset(&p, 0, sizeof p);
        if (ar_hp_parse(ar_gbt_hp, kv, n_kv, true, &p) != AR_OK)
            return fail("hyperparameters");
        if (ar_gbt_params_validate(&p) != AR_OK)
            return fail("hyperparameters");
        struct ar_batch tr, va;
        if (read_csv(train_path, wcol, &tr) != AR_OK)
            return fail("train");
        if (valid_path && read_csv(valid_path, wcol, &va) != AR_OK)
            return fail("validation");
        if (ar_gbt_train_batch(&p, &tr, valid_path ? &va : NULL, NULL, &m) != AR_OK)
            return fail("training");
        ar_batch_release(&tr);
        if (valid_path)
            ar_batch_release(&va);
        ar_hp_free(ar_gbt_hp, &p);
        if (model_dir && ar_gbt_model_save(&m->base, model_dir) != AR_OK)
            return fail("save");
    }
    if (load_path) {
        struct ar_model *lm;
        if (ar_gbt_model_load(load_path, &lm) != AR_OK)
            return fail("load");
        if (m)
            ar_gbt_model_free(&m->base);
        m = (struct ar_gbt_model *)lm;
    }
    if (pred_path) {
        if (!m || !out_path) {
            fprintf(stderr, "gbt_train: --predict needs a model and --out\n");
            return 2;
        }
        struct ar_batch in;
        if (read_csv(pred_path, false, &in) != AR_OK)
            return fail("predict data");
        struct ar_table t;
        memset(&t, 0, sizeof t);
        if (ar_gbt_predict(&m->base, &in, &t) != AR_OK)
            return fail("predict");
        const struct ar_table_col *c = ar_table_find(&t, "score");
        FILE *o = fopen(out_path, "w");
        if (!o)
            return 1;
        for (size_t i = 0; i < t.n_rows; i++)
            for (size_t j = 0; j < c->width; j++)
                fprintf(o, "%.9g%s", (double)c->data[i * c->width + j],
                        j + 1 < c->width ? "," : "\n");
        fclose(o);
        ar_table_release(&t);
        ar_batch_release(&in);
    }
    if (m)
        ar_gbt_model_free(&m->base);
    return 0;
}
