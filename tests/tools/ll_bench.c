/* Quick timing of Linear Learner training on synthetic data (no file parsing, so it can run
 * under callgrind):
 *   ll_bench [n_rows=200000] [dim=100] [num_models=32] [epochs=5] [name=value ...]
 * Rows are N(0, 1) features with labels drawn from a logistic model (as benchmarks/datasets.py
 * logistic100); a validation set of n_rows / 5 rows comes from the same model. Prints the
 * training time and the chosen model's validation metrics (from the training context). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/hp.h"
#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"
#include "core/timer.h"

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

static void on_metric(void *user, const char *set, const char *name, double value, long step)
{
    (void)user;
    if (step < 0)
        printf("METRIC %s %s %.6f\n", set, name, value);
}

/* n x d features N(0, 1), labels ~ Bernoulli(sigmoid(x . w + 0.3)). */
static int make_data(size_t n, size_t d, const double *w, uint64_t seed, struct ar_batch *b)
{
    memset(b, 0, sizeof *b);
    AR_TRY(ar_mat_alloc(&b->dense, n, d));
    b->labels = ar_allocn(n, sizeof(float));
    if (!b->labels)
        return AR_ERR_NOMEM;
    b->owner = b->labels;
    b->n_rows = n;
    b->n_cols = d;
    struct ar_rng r;
    ar_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        float *x = ar_mat_row(&b->dense, i);
        double z = 0.3;
        for (size_t j = 0; j < d; j++) {
            x[j] = (float)ar_rng_normal(&r);
            z += (double)x[j] * w[j];
        }
        b->labels[i] = ar_rng_uniform(&r) < 1.0 / (1.0 + exp(-z)) ? 1.0f : 0.0f;
    }
    return AR_OK;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000;
    size_t d = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 100;
    char models[32], epochs[32], dims[32];
    snprintf(models, sizeof models, "%s", argc > 3 ? argv[3] : "32");
    snprintf(epochs, sizeof epochs, "%s", argc > 4 ? argv[4] : "5");
    snprintf(dims, sizeof dims, "%zu", d);
    struct ar_hp_kv kv[64] = {{"predictor_type", "binary_classifier"},
                              {"feature_dim", dims},
                              {"num_models", models},
                              {"epochs", epochs}};
    size_t n_kv = 4;
    for (int a = 5; a < argc && n_kv < 64; a++) {
        char *eq = strchr(argv[a], '=');
        if (!eq)
            continue;
        *eq = '\0';
        kv[n_kv].name = argv[a];
        kv[n_kv++].value = eq + 1;
    }
    double *w = ar_allocn(d, sizeof *w);
    if (!w || n == 0 || d == 0)
        return 2;
    struct ar_rng r;
    ar_rng_init(&r, 1234, 0);
    for (size_t j = 0; j < d; j++)
        w[j] = ar_rng_normal(&r) / 5.0;
    struct ar_ll_params params;
    memset(&params, 0, sizeof params);
    struct ar_ll_config cfg;
    struct ar_batch data[2];
    struct mem_src src[2];
    memset(data, 0, sizeof data);
    memset(src, 0, sizeof src);
    struct ar_ll_model *m = NULL;
    int rc = ar_hp_parse(ar_ll_hp, kv, n_kv, true, &params);
    if (rc == AR_OK)
        rc = ar_ll_params_validate(&params);
    if (rc == AR_OK)
        rc = ar_ll_config_resolve(&params, &cfg);
    if (rc == AR_OK)
        rc = make_data(n, d, w, 1, &data[0]);
    if (rc == AR_OK)
        rc = make_data(n / 5 > 0 ? n / 5 : 1, d, w, 2, &data[1]);
    for (int i = 0; i < 2; i++) {
        src[i].base.ops = &mem_ops;
        src[i].all = &data[i];
    }
    struct ar_train_ctx ctx = {NULL, NULL, NULL, on_metric, NULL};
    double t0 = ar_time_now();
    if (rc == AR_OK)
        rc = ar_ll_fit(&cfg, &src[0].base, &src[1].base, NULL, &ctx, &m);
    double t1 = ar_time_now();
    if (rc == AR_OK)
        printf("n=%zu d=%zu models=%s epochs=%s threads=%d train %.3f s\n", n, d, models, epochs,
               ar_par_threads(), t1 - t0);
    else
        fprintf(stderr, "ERROR: %s\n", ar_err_msg());
    ar_ll_model_free(m);
    for (int i = 0; i < 2; i++)
        ar_batch_release(&data[i]);
    ar_hp_free(ar_ll_hp, &params);
    ar_free(w);
    return rc == AR_OK ? 0 : 1;
}
