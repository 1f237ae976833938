/* Unit tests for the Linear Learner: loss gradients against finite differences, the
 * multi-model product path against models trained one at a time, sparse against dense,
 * threshold calibration, the model artifact, hyperparameter rules, and small fits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algorithms/hp.h"
#include "algorithms/linear_learner/ll.h"
#include "core/mem.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

/* ---- an in-memory batch source over one batch ---- */

struct mem_src {
    struct ar_batch_source base;
    const struct ar_batch *all;
    size_t pos;
    struct ar_batch cur;
};

static int mem_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct mem_src *m = (struct mem_src *)(void *)s;
    size_t end = m->pos + max_rows < m->all->n_rows ? m->pos + max_rows : m->all->n_rows;
    m->cur = ar_batch_rows(m->all, m->pos, end);
    m->pos = end;
    *out = m->cur;
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

static void mem_src_init(struct mem_src *m, const struct ar_batch *all)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mem_ops;
    m->base.n_cols = all->n_cols;
    m->base.has_labels = all->labels != NULL;
    m->all = all;
}

/* Synthetic data: n x d dense with a third of the entries zero, labels by `kind`
 * (0 binary, 1 multiclass with 3 classes, 2 regression). */
static void make_data(struct ar_batch *b, size_t n, size_t d, int kind, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    CHECK_OK(ar_mat_alloc(&b->dense, n, d));
    b->labels = ar_callocn(n, sizeof(float));
    b->owner = b->labels;
    b->n_rows = n;
    b->n_cols = d;
    struct ar_rng r;
    ar_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        float *x = ar_mat_row(&b->dense, i);
        double s0 = 0, s1 = 0;
        for (size_t j = 0; j < d; j++) {
            x[j] = ar_rng_below(&r, 3) == 0 ? 0.0f : (float)(3 * ar_rng_normal(&r) + (double)j);
            s0 += (j % 2 ? 1.0 : -0.5) * (x[j] - (double)j);
            s1 += (j % 3 == 0 ? 0.7 : 0.2) * (x[j] - (double)j);
        }
        double noise = 0.5 * ar_rng_normal(&r);
        if (kind == 0)
            b->labels[i] = s0 + noise > 0 ? 1.0f : 0.0f;
        else if (kind == 1)
            b->labels[i] = s0 + noise > 1 ? 2.0f : s1 + noise > 0 ? 1.0f : 0.0f;
        else
            b->labels[i] = (float)(2 * s0 - s1 + 10 + noise);
    }
}

static void to_csr(const struct ar_batch *dense, struct ar_batch *sp)
{
    memset(sp, 0, sizeof *sp);
    size_t nnz = 0;
    for (size_t i = 0; i < dense->n_rows; i++)
        for (size_t j = 0; j < dense->n_cols; j++)
            nnz += ar_mat_row(&dense->dense, i)[j] != 0.0f;
    CHECK_OK(ar_csr_alloc(&sp->csr, dense->n_rows, dense->n_cols, nnz));
    size_t p = 0;
    for (size_t i = 0; i < dense->n_rows; i++) {
        for (size_t j = 0; j < dense->n_cols; j++) {
            float v = ar_mat_row(&dense->dense, i)[j];
            if (v != 0.0f) {
                sp->csr.indices[p] = (uint32_t)j;
                sp->csr.values[p++] = v;
            }
        }
        sp->csr.indptr[i + 1] = p;
    }
    sp->is_sparse = true;
    sp->n_rows = dense->n_rows;
    sp->n_cols = dense->n_cols;
    sp->labels = dense->labels; /* borrowed */
}

/* ---- hyperparameters ---- */

static int parse_hp(const struct ar_hp_kv *kv, size_t n, struct ar_ll_params *p,
                    struct ar_ll_config *c)
{
    memset(p, 0, sizeof *p);
    int rc = ar_hp_parse(ar_ll_hp, kv, n, true, p);
    if (rc == AR_OK)
        rc = ar_ll_config_resolve(p, c);
    return rc;
}

static void test_hp(void)
{
    struct ar_ll_params p;
    struct ar_ll_config c;
    struct ar_hp_kv ok[] = {{"predictor_type", "binary_classifier"},
                            {"use_bias", "True"},
                            {"normalize_data", "False"},
                            {"_kvstore", "dist_sync"},
                            {"_num_gpus", "auto"},
                            {"positive_example_weight_mult", "balanced"}};
    CHECK_OK(parse_hp(ok, 6, &p, &c));
    CHECK_INT(c.loss, AR_LL_LOSS_LOGISTIC);
    CHECK_INT(c.optimizer, AR_LL_OPT_ADAM);
    CHECK_INT(c.n_models, 32);
    CHECK_INT(c.batch, 1000);
    CHECK_INT(c.epochs, 15);
    CHECK(c.lr_auto && c.lr == 0.1 && c.wd == 1e-4 && c.l1 == 0);
    CHECK(!c.normalize_data && c.use_bias && !c.normalize_label && !c.unbias_label);
    CHECK_INT(c.unbias_data, AR_LL_DATA);
    CHECK_INT(c.posw_mode, AR_LL_POSW_BALANCED);
    CHECK_INT(c.n_calib, 10000000);
    CHECK(c.beta1 == 0.9 && c.beta2 == 0.999 && c.sched_factor == 0.99 && c.sched_step == 100);
    ar_hp_free(ar_ll_hp, &p);

    struct ar_hp_kv reg[] = {{"predictor_type", "regressor"},
                             {"loss", "quantile_loss"},
                             {"quantile", "0.9"},
                             {"optimizer", "sgd"},
                             {"_tuning_objective_metric", "validation:objective_loss"}};
    CHECK_OK(parse_hp(reg, 5, &p, &c));
    CHECK(c.normalize_label && c.unbias_label && c.quantile == 0.9);
    CHECK_INT(c.n_models, 1); /* automatic model tuning: one model */
    CHECK_INT(c.optimizer, AR_LL_OPT_SGD);
    ar_hp_free(ar_ll_hp, &p);

    struct ar_hp_kv mc[] = {{"predictor_type", "multiclass_classifier"},
                            {"num_classes", "10"},
                            {"binary_classifier_model_selection_criteria", "f1"}};
    CHECK_OK(parse_hp(mc, 3, &p, &c));
    CHECK_INT(c.loss, AR_LL_LOSS_SOFTMAX);
    CHECK_INT(c.n_out, 10);
    CHECK_INT(c.criterion, AR_LL_CRIT_F_BETA);
    ar_hp_free(ar_ll_hp, &p);

    struct ar_hp_kv e1[] = {{"loss", "logistic"}};
    CHECK_ERR(parse_hp(e1, 1, &p, &c), AR_ERR_PARAM,
              "Missing required hyperparameter: "
              "predictor_type");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e2[] = {{"predictor_type", "multiclass_classifier"}};
    CHECK_ERR(parse_hp(e2, 1, &p, &c), AR_ERR_PARAM, "num_classes is required");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e3[] = {{"predictor_type", "multiclass_classifier"}, {"num_classes", "2"}};
    CHECK_ERR(parse_hp(e3, 2, &p, &c), AR_ERR_PARAM, "allowed: 3 to 1000000");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e4[] = {{"predictor_type", "binary_classifier"}, {"loss", "squared_loss"}};
    CHECK_ERR(parse_hp(e4, 2, &p, &c), AR_ERR_PARAM,
              "'squared_loss' is not allowed with predictor_type binary_classifier");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e5[] = {{"predictor_type", "regressor"}, {"loss", "softmax_loss"}};
    CHECK_ERR(parse_hp(e5, 2, &p, &c), AR_ERR_PARAM, "not allowed with predictor_type regressor");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e6[] = {{"predictor_type", "binary_classifier"},
                            {"positive_example_weight_mult", "heavy"}};
    CHECK_ERR(parse_hp(e6, 2, &p, &c), AR_ERR_PARAM, "positive_example_weight_mult: 'heavy'");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e7[] = {{"predictor_type", "binary_classifier"}, {"quantile", "1.5"}};
    CHECK_ERR(parse_hp(e7, 2, &p, &c), AR_ERR_PARAM, "quantile: value 1.5 is out of range");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e8[] = {{"predictor_type", "binary_classifier"}, {"use_bias", "yes"}};
    CHECK_ERR(parse_hp(e8, 2, &p, &c), AR_ERR_PARAM, "not a boolean");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e9[] = {{"predictor_type", "binary_classifier"}, {"learning_rate", "0"}};
    CHECK_ERR(parse_hp(e9, 2, &p, &c), AR_ERR_PARAM, "allowed: > 0");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e10[] = {{"predictor_type", "binary_classifier"}, {"wd", "-1"}};
    CHECK_ERR(parse_hp(e10, 2, &p, &c), AR_ERR_PARAM, "wd: value -1 is out of range");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e11[] = {{"predictor_type", "binary_classifier"}, {"momentum", "1"}};
    CHECK_ERR(parse_hp(e11, 2, &p, &c), AR_ERR_PARAM, "momentum: value 1 is out of range");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e12[] = {{"predictor_type", "regressor"}, {"epochs", "auto"}};
    CHECK_ERR(parse_hp(e12, 2, &p, &c), AR_ERR_PARAM, "epochs: 'auto' is not an integer");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e13[] = {{"predictor_type", "regressor"}, {"seed", "1"}};
    CHECK_ERR(parse_hp(e13, 2, &p, &c), AR_ERR_PARAM, "Extraneous hyperparameter found: seed");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e14[] = {{"predictor_type", "ranker"}};
    CHECK_ERR(parse_hp(e14, 1, &p, &c), AR_ERR_PARAM, "not one of: binary_classifier");
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv e15[] = {
        {"predictor_type", "regressor"}, {"loss", "huber_loss"}, {"huber_delta", "0"}};
    CHECK_ERR(parse_hp(e15, 3, &p, &c), AR_ERR_PARAM, "huber_delta");
    ar_hp_free(ar_ll_hp, &p);
    CHECK(ar_algo_linear_learner.validate != NULL);
    const struct ar_algo *a;
    CHECK_OK(ar_algo_find("linear-learner:1", &a));
    CHECK(a == &ar_algo_linear_learner);
}

static void test_grid(void)
{
    struct ar_ll_params p;
    struct ar_ll_config c;
    struct ar_hp_kv kv[] = {{"predictor_type", "binary_classifier"},
                            {"positive_example_weight_mult", "auto"}};
    CHECK_OK(parse_hp(kv, 2, &p, &c));
    struct ar_ll_model_cfg g[32];
    ar_ll_grid(&c, g);
    CHECK(g[0].lr == c.lr && g[0].wd == c.wd && g[0].l1 == c.l1 && !g[0].posw_balanced);
    int distinct = 0, balanced = 0;
    for (int i = 0; i < 32; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= g[i].lr == g[j].lr && g[i].wd == g[j].wd && g[i].l1 == g[j].l1 &&
                   g[i].posw_balanced == g[j].posw_balanced;
        distinct += !dup;
        balanced += g[i].posw_balanced;
        CHECK_INT(g[i].stream, i);
    }
    CHECK_INT(distinct, 32);
    CHECK_INT(balanced, 16);
    ar_hp_free(ar_ll_hp, &p);
    struct ar_hp_kv kv2[] = {{"predictor_type", "regressor"},
                             {"learning_rate", "0.05"},
                             {"wd", "0"},
                             {"l1", "0"},
                             {"num_models", "3"}};
    CHECK_OK(parse_hp(kv2, 5, &p, &c));
    ar_ll_grid(&c, g);
    CHECK(g[0].lr == 0.05 && g[1].lr == 0.025 && g[2].lr == 0.1);
    CHECK(g[0].wd == 0 && g[2].l1 == 0);
    ar_hp_free(ar_ll_hp, &p);
}

/* ---- losses ---- */

static void test_loss_gradients(void)
{
    struct ar_ll_loss_prm prm = {1.0, 0.7, 0.1, 0.3};
    const int losses[] = {AR_LL_LOSS_LOGISTIC, AR_LL_LOSS_HINGE,       AR_LL_LOSS_SQUARED,
                          AR_LL_LOSS_ABSOLUTE, AR_LL_LOSS_EPS_SQUARED, AR_LL_LOSS_EPS_ABSOLUTE,
                          AR_LL_LOSS_QUANTILE, AR_LL_LOSS_HUBER};
    const double zs[] = {-2.3, -0.41, 0.27, 1.9};
    for (size_t li = 0; li < sizeof losses / sizeof losses[0]; li++) {
        int loss = losses[li];
        bool cls = loss == AR_LL_LOSS_LOGISTIC || loss == AR_LL_LOSS_HINGE;
        const double ys[] = {cls ? 0.0 : -1.1, cls ? 1.0 : 0.6};
        for (size_t a = 0; a < 4; a++) {
            for (size_t b = 0; b < 2; b++) {
                double g, g2, h = 1e-6, z = zs[a], y = ys[b];
                ar_ll_loss_eval(loss, &prm, z, y, &g);
                double fd = (ar_ll_loss_eval(loss, &prm, z + h, y, &g2) -
                             ar_ll_loss_eval(loss, &prm, z - h, y, &g2)) /
                            (2 * h);
                CHECK_NEAR(g, fd, 1e-5);
            }
        }
    }
    /* Values at known points. */
    double g;
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_LOGISTIC, &prm, 0, 1, &g), log(2.0), 1e-12);
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_QUANTILE, &prm, 0, 2, &g), 0.6, 1e-12);
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_QUANTILE, &prm, 2, 0, &g), 1.4, 1e-12);
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_EPS_ABSOLUTE, &prm, 0.05, 0, &g), 0, 0);
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_HUBER, &prm, 3, 1, &g), 0.7 * (2 - 0.35), 1e-12);
    CHECK_NEAR(ar_ll_loss_eval(AR_LL_LOSS_LOGISTIC, &prm, 800, 0, &g), 800, 1e-9);

    float z[4] = {0.3f, -1.2f, 2.0f, 0.1f}, gz[4], gtmp[4];
    double l = ar_ll_softmax_eval(z, 4, 2, gz);
    for (size_t c = 0; c < 4; c++) {
        float zp[4], zm[4];
        memcpy(zp, z, sizeof z);
        memcpy(zm, z, sizeof z);
        zp[c] += 1e-3f;
        zm[c] -= 1e-3f;
        double fd = (ar_ll_softmax_eval(zp, 4, 2, gtmp) - ar_ll_softmax_eval(zm, 4, 2, gtmp)) /
                    (double)(zp[c] - zm[c]);
        CHECK_NEAR(gz[c], fd, 2e-4);
    }
    CHECK(l > 0);
}

/* ---- the multi-model path ---- */

static void base_config(struct ar_ll_config *c, int kind, int opt)
{
    struct ar_ll_params p;
    struct ar_hp_kv kv[] = {{"predictor_type", kind == 0   ? "binary_classifier"
                                               : kind == 1 ? "multiclass_classifier"
                                                           : "regressor"},
                            {"num_classes", "3"},
                            {"mini_batch_size", "16"},
                            {"num_point_for_scaler", "50"},
                            {"lr_scheduler_step", "5"},
                            {"lr_scheduler_factor", "0.9"},
                            {"momentum", "0.5"},
                            {"optimizer", opt == AR_LL_OPT_SGD    ? "sgd"
                                          : opt == AR_LL_OPT_ADAM ? "adam"
                                                                  : "rmsprop"},
                            {"bias_wd_mult", "0.5"}};
    CHECK_OK(parse_hp(kv, 9, &p, c));
    ar_hp_free(ar_ll_hp, &p);
}

/* Trains `models` together and each alone over the same batches; compares weights. */
static void check_multi_equals_single(const struct ar_ll_config *c,
                                      const struct ar_ll_model_cfg *models, size_t M,
                                      const struct ar_batch *data)
{
    size_t d = data->n_cols, C = c->n_out;
    struct mem_src src;
    mem_src_init(&src, data);
    struct ar_ll_trainer *all;
    CHECK_OK(ar_ll_trainer_new(c, models, M, d, &all));
    CHECK_OK(ar_ll_trainer_scale(all, &src.base));
    for (int ep = 0; ep < 3; ep++) {
        struct ar_batch b;
        for (;;) {
            CHECK_OK(ar_batch_source_next(&src.base, c->batch, &b));
            if (b.n_rows == 0)
                break;
            CHECK_OK(ar_ll_trainer_step(all, &b));
        }
        CHECK_OK(ar_batch_source_reset(&src.base));
    }
    float *w1 = ar_allocn(d * C, sizeof(float)), *w2 = ar_allocn(d * C, sizeof(float));
    float b1[8], b2[8];
    double worst = 0;
    for (size_t m = 0; m < M; m++) {
        struct ar_ll_trainer *one;
        CHECK_OK(ar_ll_trainer_new(c, &models[m], 1, d, &one));
        CHECK_OK(ar_ll_trainer_scale(one, &src.base));
        for (int ep = 0; ep < 3; ep++) {
            struct ar_batch b;
            for (;;) {
                CHECK_OK(ar_batch_source_next(&src.base, c->batch, &b));
                if (b.n_rows == 0)
                    break;
                CHECK_OK(ar_ll_trainer_step(one, &b));
            }
            CHECK_OK(ar_batch_source_reset(&src.base));
        }
        ar_ll_trainer_weights(all, m, w1, b1);
        ar_ll_trainer_weights(one, 0, w2, b2);
        for (size_t i = 0; i < d * C; i++)
            worst = fmax(worst, fabs((double)(w1[i] - w2[i])) / (1e-3 + fabs((double)w2[i])));
        for (size_t o = 0; o < C; o++)
            worst = fmax(worst, fabs((double)(b1[o] - b2[o])) / (1e-3 + fabs((double)b2[o])));
        CHECK(one->steps == all->steps);
        ar_ll_trainer_free(one);
    }
    CHECK_NEAR(worst, 0, 1e-4);
    ar_free(w1);
    ar_free(w2);
    ar_ll_trainer_free(all);
}

static void test_multi_model(void)
{
    struct ar_batch data;
    const int opts[] = {AR_LL_OPT_SGD, AR_LL_OPT_ADAM, AR_LL_OPT_RMSPROP};
    for (int kind = 0; kind < 3; kind++) {
        make_data(&data, 203, 7, kind, 42 + (uint64_t)kind);
        for (int oi = 0; oi < 3; oi++) {
            struct ar_ll_config c;
            base_config(&c, kind, opts[oi]);
            c.n_models = 4;
            struct ar_ll_model_cfg models[4];
            ar_ll_grid(&c, models);
            models[1].lr = 0.03;
            models[2].wd = 0.01;
            models[3].l1 = 0.001;
            models[3].posw = 2.0;
            check_multi_equals_single(&c, models, 4, &data);
        }
        ar_batch_release(&data);
    }
}

static void test_sparse_dense(void)
{
    struct ar_batch dense, sparse;
    for (int kind = 0; kind < 3; kind++) {
        make_data(&dense, 150, 9, kind, 7 + (uint64_t)kind);
        to_csr(&dense, &sparse);
        struct ar_ll_config c;
        base_config(&c, kind, AR_LL_OPT_ADAM);
        c.n_models = 3;
        c.unbias_data = AR_LL_ON; /* same statistics for both layouts */
        struct ar_ll_model_cfg models[3];
        ar_ll_grid(&c, models);
        struct ar_ll_trainer *td, *ts;
        struct mem_src sd, ss;
        mem_src_init(&sd, &dense);
        mem_src_init(&ss, &sparse);
        CHECK_OK(ar_ll_trainer_new(&c, models, 3, 9, &td));
        CHECK_OK(ar_ll_trainer_new(&c, models, 3, 9, &ts));
        CHECK_OK(ar_ll_trainer_scale(td, &sd.base));
        CHECK_OK(ar_ll_trainer_scale(ts, &ss.base));
        for (int ep = 0; ep < 2; ep++) {
            for (;;) {
                struct ar_batch a, b;
                CHECK_OK(ar_batch_source_next(&sd.base, c.batch, &a));
                CHECK_OK(ar_batch_source_next(&ss.base, c.batch, &b));
                CHECK_INT(a.n_rows, b.n_rows);
                if (a.n_rows == 0)
                    break;
                CHECK_OK(ar_ll_trainer_step(td, &a));
                CHECK_OK(ar_ll_trainer_step(ts, &b));
            }
            sd.pos = ss.pos = 0;
        }
        ar_ll_trainer_fold(td);
        ar_ll_trainer_fold(ts);
        double worst = 0;
        for (size_t i = 0; i < 9 * td->n_k; i++)
            worst = fmax(worst,
                         fabs((double)(td->wt[i] - ts->wt[i])) / (1e-3 + fabs((double)td->wt[i])));
        CHECK_NEAR(worst, 0, 1e-4);
        /* Forward products agree too. */
        float *za = ar_allocn(150 * td->n_k, sizeof(float));
        float *zb = ar_allocn(150 * td->n_k, sizeof(float));
        CHECK_OK(ar_ll_forward(&dense, 9, td->n_k, td->wt, td->bt, za));
        CHECK_OK(ar_ll_forward(&sparse, 9, td->n_k, td->wt, td->bt, zb));
        double wz = 0;
        for (size_t i = 0; i < 150 * td->n_k; i++)
            wz = fmax(wz, fabs((double)(za[i] - zb[i])));
        CHECK_NEAR(wz, 0, 1e-4);
        ar_free(za);
        ar_free(zb);
        ar_ll_trainer_free(td);
        ar_ll_trainer_free(ts);
        ar_csr_release(&sparse.csr);
        ar_batch_release(&dense);
    }
}

/* ---- calibration ---- */

static void test_calibration(void)
{
    const float s[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.4f, 0.3f, 0.2f, 0.1f};
    const float y[] = {1, 1, 0, 1, 0, 1, 0, 0};
    uint32_t order[8];
    struct ar_ll_calib cal;
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_ACCURACY, 1, 0.8, 0.8, 0.5, s, y, NULL, 8, order, &cal));
    CHECK_NEAR(cal.value, 0.75, 1e-12);
    CHECK_NEAR(cal.threshold, 0.5, 1e-6); /* three ties at 0.75: nearest to 0.5 wins */
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_F_BETA, 1, 0.8, 0.8, 0.5, s, y, NULL, 8, order, &cal));
    CHECK_NEAR(cal.value, 0.8, 1e-12);
    CHECK_NEAR(cal.threshold, 0.25, 1e-6);
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_PRECISION_AT_RECALL, 1, 0.75, 0.8, 0.5, s, y, NULL, 8,
                             order, &cal));
    CHECK_NEAR(cal.value, 0.75, 1e-12);
    CHECK_NEAR(cal.threshold, 0.5, 1e-6);
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_RECALL_AT_PRECISION, 1, 0.8, 0.9, 0.5, s, y, NULL, 8, order,
                             &cal));
    CHECK_NEAR(cal.value, 0.5, 1e-12);
    CHECK_NEAR(cal.threshold, 0.75, 1e-6);
    /* Weights: a heavy negative at 0.3 moves the F1 optimum. */
    const float w[] = {1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_ACCURACY, 1, 0.8, 0.8, 0.5, s, y, w, 8, order, &cal));
    CHECK_NEAR(cal.value, 0.75, 1e-12);
    const float w2[] = {1, 1, 1, 1, 1, 1, 5, 1};
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_ACCURACY, 1, 0.8, 0.8, 0.5, s, y, w2, 8, order, &cal));
    CHECK_NEAR(cal.value, 10.0 / 12.0, 1e-12);
    CHECK(cal.threshold > 0.2 && cal.threshold <= 0.8);
    /* Ties in scores move together; loss criterion keeps the natural threshold. */
    const float st[] = {0.5f, 0.5f, 0.5f, 0.1f};
    const float yt[] = {1, 0, 1, 0};
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_ACCURACY, 1, 0.8, 0.8, 0.5, st, yt, NULL, 4, order, &cal));
    CHECK_NEAR(cal.value, 0.75, 1e-12);
    CHECK(cal.threshold <= 0.5 && cal.threshold > 0.1);
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_LOSS, 1, 0.8, 0.8, 0.5, st, yt, NULL, 4, order, &cal));
    CHECK_NEAR(cal.threshold, 0.5, 0);
    CHECK_ERR(ar_ll_calibrate(AR_LL_CRIT_ACCURACY, 1, 0.8, 0.8, 0.5, st, yt, NULL, 0, order, &cal),
              AR_ERR_INVALID, "at least one record");
    /* Unreachable target precision: value 0. */
    const float yb[] = {0, 0, 1, 0};
    CHECK_OK(ar_ll_calibrate(AR_LL_CRIT_RECALL_AT_PRECISION, 1, 0.8, 0.99, 0.5, st, yb, NULL, 4,
                             order, &cal));
    CHECK_NEAR(cal.value, 0, 0);
}

/* ---- the artifact ---- */

static struct ar_ll_model *random_model(int predictor, size_t d, size_t k)
{
    struct ar_ll_model *m;
    CHECK_OK(ar_ll_model_new(predictor,
                             predictor == AR_LL_MULTICLASS ? AR_LL_LOSS_SOFTMAX
                             : predictor == AR_LL_BINARY   ? AR_LL_LOSS_LOGISTIC
                                                           : AR_LL_LOSS_SQUARED,
                             d, k, &m));
    struct ar_rng r;
    ar_rng_init(&r, 5, (uint64_t)predictor);
    for (size_t i = 0; i < d * k; i++)
        m->w[i] = (float)ar_rng_normal(&r);
    for (size_t i = 0; i < k; i++)
        m->b[i] = (float)ar_rng_normal(&r);
    m->threshold = 0.37f;
    m->lr = 0.1;
    m->wd = 1e-4;
    return m;
}

static void test_artifact(void)
{
    char dir[] = "/tmp/ar_ll_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct ar_batch data;
    make_data(&data, 40, 6, 0, 3);
    for (int pred = 0; pred < 3; pred++) {
        struct ar_ll_model *m = random_model(pred, 6, pred == AR_LL_MULTICLASS ? 4 : 1), *l = NULL;
        CHECK_OK(ar_ll_model_save(m, dir));
        CHECK_OK(ar_ll_model_load(dir, &l));
        unsigned char *a, *b;
        size_t na, nb;
        CHECK_OK(ar_ll_model_encode(m, &a, &na));
        CHECK_OK(ar_ll_model_encode(l, &b, &nb));
        CHECK(na == nb && memcmp(a, b, na) == 0);
        struct ar_table ta, tb;
        memset(&ta, 0, sizeof ta);
        memset(&tb, 0, sizeof tb);
        CHECK_OK(ar_ll_model_predict(m, &data, &ta));
        CHECK_OK(ar_ll_model_predict(l, &data, &tb));
        CHECK_INT(ta.n_cols, pred == AR_LL_REGRESSOR ? 1 : 2);
        for (size_t c = 0; c < ta.n_cols; c++)
            CHECK(memcmp(ta.cols[c].data, tb.cols[c].data,
                         ta.n_rows * ta.cols[c].width * sizeof(float)) == 0);
        if (pred == AR_LL_BINARY) {
            const struct ar_table_col *s = ar_table_find(&ta, "score");
            const struct ar_table_col *pl = ar_table_find(&ta, "predicted_label");
            int ok = 1;
            for (size_t i = 0; i < ta.n_rows; i++)
                ok &= pl->data[i] == (s->data[i] >= 0.37f ? 1.0f : 0.0f) && s->data[i] >= 0 &&
                      s->data[i] <= 1;
            CHECK(ok);
        }
        if (pred == AR_LL_MULTICLASS) {
            const struct ar_table_col *s = ar_table_find(&ta, "score");
            double sum = 0;
            for (size_t o = 0; o < 4; o++)
                sum += s->data[o];
            CHECK_NEAR(sum, 1, 1e-5);
        }
        ar_table_release(&ta);
        ar_table_release(&tb);
        /* Every truncation and a flipped byte are refused. */
        int refused = 0;
        for (size_t cut = 0; cut < na; cut++) {
            struct ar_ll_model *bad = NULL;
            refused += ar_ll_model_decode(a, cut, "cut", &bad) == AR_ERR_FORMAT && bad == NULL;
        }
        CHECK_INT(refused, na);
        a[70] ^= 0x10;
        struct ar_ll_model *bad = NULL;
        CHECK_ERR(ar_ll_model_decode(a, na, "flip", &bad), AR_ERR_FORMAT, "CRC32 mismatch");
        a[70] ^= 0x10;
        a[8] = 9;
        CHECK_ERR(ar_ll_model_decode(a, na, "ver", &bad), AR_ERR_FORMAT, "version 9");
        a[0] = 'X';
        CHECK_ERR(ar_ll_model_decode(a, na, "magic", &bad), AR_ERR_FORMAT, "bad magic");
        /* A truncated file on disk. */
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, AR_LL_MODEL_FILE);
        CHECK(truncate(path, (off_t)(nb - 3)) == 0);
        CHECK_ERR(ar_ll_model_load(dir, &bad), AR_ERR_FORMAT, "truncated");
        ar_free(a);
        ar_free(b);
        ar_ll_model_free(m);
        ar_ll_model_free(l);
    }
    /* Wrong width at predict time. */
    struct ar_ll_model *m = random_model(AR_LL_BINARY, 5, 1);
    struct ar_table t;
    memset(&t, 0, sizeof t);
    CHECK_ERR(ar_ll_model_predict(m, &data, &t), AR_ERR_INVALID, "model expects 5");
    ar_table_release(&t);
    ar_ll_model_free(m);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, AR_LL_MODEL_FILE);
    unlink(path);
    struct ar_ll_model *none;
    CHECK_ERR(ar_ll_model_load(dir, &none), AR_ERR_NOT_FOUND, "model_algo-1");
    rmdir(dir);
    ar_batch_release(&data);
}

/* ---- whole fits on in-memory channels ---- */

static long epochs_seen;

static void count_epochs(void *user, const char *set, const char *name, double value, long step)
{
    (void)user;
    (void)value;
    if (strcmp(set, "train") == 0 && strcmp(name, "objective_loss") == 0 && step > 0)
        epochs_seen++;
}

static void test_fit(void)
{
    /* Regression with an exact linear target: the folded model recovers it on raw features. */
    struct ar_batch data;
    memset(&data, 0, sizeof data);
    size_t n = 400, d = 3;
    CHECK_OK(ar_mat_alloc(&data.dense, n, d));
    data.labels = ar_callocn(n, sizeof(float));
    data.owner = data.labels;
    data.n_rows = n;
    data.n_cols = d;
    struct ar_rng r;
    ar_rng_init(&r, 9, 0);
    for (size_t i = 0; i < n; i++) {
        float *x = ar_mat_row(&data.dense, i);
        x[0] = (float)(100 + 20 * ar_rng_normal(&r));
        x[1] = (float)(0.01 * ar_rng_normal(&r));
        x[2] = (float)ar_rng_uniform(&r);
        data.labels[i] = 0.3f * x[0] - 200 * x[1] + 4 * x[2] + 50;
    }
    struct ar_ll_params p;
    struct ar_ll_config c;
    struct ar_hp_kv kv[] = {{"predictor_type", "regressor"},
                            {"mini_batch_size", "20"},
                            {"epochs", "40"},
                            {"num_models", "4"},
                            {"wd", "0"},
                            {"l1", "0"},
                            {"learning_rate", "0.05"}};
    CHECK_OK(parse_hp(kv, 7, &p, &c));
    ar_hp_free(ar_ll_hp, &p);
    struct mem_src tr, va;
    mem_src_init(&tr, &data);
    mem_src_init(&va, &data);
    struct ar_ll_model *m = NULL;
    CHECK_OK(ar_ll_fit(&c, &tr.base, &va.base, NULL, NULL, &m));
    if (m) {
        CHECK_NEAR(m->w[0], 0.3, 0.01);
        CHECK_NEAR(m->w[1], -200, 5);
        CHECK_NEAR(m->w[2], 4, 0.2);
        CHECK_NEAR(m->b[0], 50, 1.5);
    }
    ar_ll_model_free(m);

    /* Every regression loss recovers an exact linear target (to its own tolerance). */
    const char *reg_losses[] = {"absolute_loss", "eps_insensitive_squared_loss",
                                "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss"};
    for (size_t li = 0; li < 5; li++) {
        struct ar_hp_kv kl[] = {{"predictor_type", "regressor"},
                                {"mini_batch_size", "20"},
                                {"epochs", "40"},
                                {"num_models", "4"},
                                {"loss", reg_losses[li]},
                                {"wd", "0"}};
        CHECK_OK(parse_hp(kl, 6, &p, &c));
        ar_hp_free(ar_ll_hp, &p);
        mem_src_init(&tr, &data);
        mem_src_init(&va, &data);
        m = NULL;
        CHECK_OK(ar_ll_fit(&c, &tr.base, &va.base, NULL, NULL, &m));
        if (!m)
            continue;
        struct ar_table t;
        memset(&t, 0, sizeof t);
        CHECK_OK(ar_ll_model_predict(m, &data, &t));
        double mae = 0;
        for (size_t i = 0; i < n; i++)
            mae += fabs((double)(t.cols[0].data[i] - data.labels[i])) / (double)n;
        CHECK(mae < 0.5); /* labels have standard deviation ~6.6 */
        ar_table_release(&t);
        ar_ll_model_free(m);
    }

    /* A stop request ends training after the current epoch and still returns a model. */
    {
        struct ar_hp_kv ks[] = {
            {"predictor_type", "regressor"}, {"mini_batch_size", "50"}, {"epochs", "10"}};
        CHECK_OK(parse_hp(ks, 3, &p, &c));
        ar_hp_free(ar_ll_hp, &p);
        volatile sig_atomic_t stop = 1;
        struct ar_train_ctx ctx = {NULL, NULL, &stop, count_epochs, NULL};
        mem_src_init(&tr, &data);
        epochs_seen = 0;
        m = NULL;
        CHECK_OK(ar_ll_fit(&c, &tr.base, NULL, NULL, &ctx, &m));
        CHECK(m != NULL);
        CHECK_INT(epochs_seen, 1);
        ar_ll_model_free(m);
    }

    /* Every allocation failure comes back as AR_ERR_NOMEM with nothing leaked. */
    struct ar_hp_kv kf[] = {{"predictor_type", "regressor"},
                            {"mini_batch_size", "100"},
                            {"epochs", "2"},
                            {"num_models", "2"}};
    CHECK_OK(parse_hp(kf, 4, &p, &c));
    ar_hp_free(ar_ll_hp, &p);
    int nomem_ok = 1, done = 0;
    for (long k = 1; k < 2000 && !done; k++) {
        mem_src_init(&tr, &data);
        mem_src_init(&va, &data);
        m = NULL;
        ar_mem_fail_at(k);
        int rc = ar_ll_fit(&c, &tr.base, &va.base, NULL, NULL, &m);
        ar_mem_fail_at(0);
        if (rc == AR_OK)
            done = 1;
        else
            nomem_ok &= rc == AR_ERR_NOMEM && m == NULL;
        ar_ll_model_free(m);
    }
    CHECK(done && nomem_ok);

    /* Separable binary data: high training accuracy and a calibrated threshold. */
    for (size_t i = 0; i < n; i++)
        data.labels[i] = ar_mat_row(&data.dense, i)[0] + 2000 * ar_mat_row(&data.dense, i)[1] > 100
                             ? 1.0f
                             : 0.0f;
    /* Binary: bad labels are refused with the record named. */
    data.labels[17] = 2;
    struct ar_hp_kv kb[] = {{"predictor_type", "binary_classifier"}, {"num_models", "2"}};
    CHECK_OK(parse_hp(kb, 2, &p, &c));
    ar_hp_free(ar_ll_hp, &p);
    mem_src_init(&tr, &data);
    CHECK_ERR(ar_ll_fit(&c, &tr.base, NULL, NULL, NULL, &m), AR_ERR_INVALID, "record 18");
    data.labels[17] =
        data.dense.data[17 * d] + 2000 * data.dense.data[17 * d + 1] > 100 ? 1.0f : 0.0f;
    struct ar_hp_kv kb2[] = {{"predictor_type", "binary_classifier"},
                             {"num_models", "4"},
                             {"mini_batch_size", "25"},
                             {"epochs", "20"}};
    CHECK_OK(parse_hp(kb2, 4, &p, &c));
    ar_hp_free(ar_ll_hp, &p);
    mem_src_init(&tr, &data);
    mem_src_init(&va, &data);
    CHECK_OK(ar_ll_fit(&c, &tr.base, &va.base, NULL, NULL, &m));
    if (m) {
        struct ar_table t;
        memset(&t, 0, sizeof t);
        CHECK_OK(ar_ll_model_predict(m, &data, &t));
        const struct ar_table_col *pl = ar_table_find(&t, "predicted_label");
        size_t right = 0;
        for (size_t i = 0; i < n; i++)
            right += pl->data[i] == data.labels[i];
        CHECK((double)right / (double)n > 0.97);
        ar_table_release(&t);
    }
    ar_ll_model_free(m);
    ar_batch_release(&data);
}

void test_suite_linear(void)
{
    test_hp();
    test_grid();
    test_loss_gradients();
    test_multi_model();
    test_sparse_dense();
    test_calibration();
    test_artifact();
    test_fit();
}
