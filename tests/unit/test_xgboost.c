/* Unit tests for the xgboost:1.7-1 learner: cuts and bins, the histogram kernel against a naive
 * reference, split gain by hand, a tiny tree, JSON round trips, broken model files,
 * determinism, and bad hyperparameters and labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

/* A dense batch over caller arrays (a view: nothing owned). */
static struct ar_batch dense_batch(float *x, size_t n, size_t d, float *y)
{
    struct ar_batch b;
    memset(&b, 0, sizeof b);
    b.n_rows = n;
    b.n_cols = d;
    b.dense = ar_mat_view(x, n, d, d);
    b.labels = y;
    return b;
}

static int parse(const char *const *kv, size_t n, struct ar_gbt_params *p)
{
    struct ar_hp_kv pairs[32];
    for (size_t i = 0; i < n; i++) {
        pairs[i].name = kv[2 * i];
        pairs[i].value = kv[2 * i + 1];
    }
    memset(p, 0, sizeof *p);
    return ar_hp_parse(ar_gbt_hp, pairs, n, true, p);
}

static void test_cuts(void)
{
    /* feature 0: 5 distinct values + NaN; feature 1: all missing */
    float x[] = {3, NAN, 1, NAN, 2, NAN, 2, NAN, 5, NAN, 4, NAN, NAN, NAN};
    struct ar_batch b = dense_batch(x, 7, 2, NULL);
    struct ar_gbt_cuts c;
    CHECK_OK(ar_gbt_cuts_build(&b, NULL, 256, 2, &c));
    /* distinct values 1..5: cuts 2,3,4,5 and 5 + |5| + 1e-5 */
    CHECK_INT(c.ptr[1] - c.ptr[0], 5);
    CHECK_NEAR(c.values[0], 2.0, 0);
    CHECK_NEAR(c.values[3], 5.0, 0);
    CHECK_NEAR(c.values[4], 10.00001f, 1e-6);
    CHECK_NEAR(c.min_vals[0], 1.0f - 1.0f - 1e-5f, 1e-9);
    CHECK(c.has_missing[0] && c.has_missing[1]);
    CHECK_INT(c.ptr[2] - c.ptr[1], 1);
    /* v in bin i iff cut[i-1] <= v < cut[i] */
    CHECK_INT(ar_gbt_cuts_search(&c, 0, 1.0f), 0);
    CHECK_INT(ar_gbt_cuts_search(&c, 0, 1.99f), 0);
    CHECK_INT(ar_gbt_cuts_search(&c, 0, 2.0f), 1);
    CHECK_INT(ar_gbt_cuts_search(&c, 0, 5.0f), 4);
    CHECK_INT(ar_gbt_cuts_search(&c, 0, 100.0f), 4);
    struct ar_gbt_binmat bm;
    CHECK_OK(ar_gbt_binmat_build(&b, &c, 3, &bm));
    CHECK_INT(bm.width, 1);
    CHECK_INT(ar_gbt_binmat_get(&bm, 0, 0), 2);
    CHECK_INT(ar_gbt_binmat_get(&bm, 6, 0), 5); /* missing code = n_bins */
    CHECK_INT(ar_gbt_binmat_get(&bm, 0, 1), 1);
    ar_gbt_binmat_release(&bm);
    ar_gbt_cuts_release(&c);

    /* more distinct values than max_bin: at most max_bin bins, increasing cuts */
    size_t n = 1000;
    float *xx = ar_allocn(n, sizeof *xx);
    for (size_t i = 0; i < n; i++)
        xx[i] = (float)((i * 7919) % n) * 0.5f;
    b = dense_batch(xx, n, 1, NULL);
    CHECK_OK(ar_gbt_cuts_build(&b, NULL, 16, 1, &c));
    CHECK(c.ptr[1] <= 16 && c.ptr[1] >= 8);
    int inc = 1;
    for (uint32_t i = 1; i < c.ptr[1]; i++)
        inc &= c.values[i] > c.values[i - 1];
    CHECK(inc);
    ar_gbt_cuts_release(&c);
    ar_free(xx);
}

/* ar_gbt_quantize (merge binning) gives exactly cuts_build + binmat_build: NaN, ties, weights,
 * -0.0, a constant and an all-missing column, odd row counts, several threads, and a case
 * needing 16-bit codes (which falls back to the search). */
static void test_quantize_same(void)
{
    static const size_t rows[] = {1, 7, 333, 5000};
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
        for (int variant = 0; variant < 3; variant++) {
            const size_t n = rows[ri], d = 9;
            const int max_bin = variant == 2 ? 300 : 32;
            float *x = ar_allocn(n * d, sizeof *x), *w = ar_allocn(n, sizeof *w);
            CHECK(x && w);
            if (!x || !w)
                return;
            struct ar_rng rng;
            ar_rng_init(&rng, 40 + n, (uint64_t)variant);
            for (size_t i = 0; i < n; i++) {
                w[i] = (float)ar_rng_uniform(&rng) * 2.0f;
                for (size_t j = 0; j < d; j++) {
                    double u = ar_rng_uniform(&rng);
                    float v = j == 0   ? (float)ar_rng_normal(&rng)
                              : j == 1 ? (float)(int)(u * 5) - 2.0f /* ties, -0.0 via below */
                              : j == 2 ? 3.0f                       /* constant */
                              : j == 3 ? NAN                        /* all missing */
                                       : (float)(ar_rng_normal(&rng) * 100.0);
                    if (j == 1 && v == 0.0f && u < 0.3)
                        v = -0.0f;
                    if (j >= 4 && u < 0.1)
                        v = NAN;
                    x[i * d + j] = v;
                }
            }
            struct ar_batch b = dense_batch(x, n, d, NULL);
            const float *wt = variant == 1 ? w : NULL;
            for (int nt = 1; nt <= 3; nt += 2) {
                struct ar_gbt_cuts c1, c2;
                struct ar_gbt_binmat b1, b2;
                CHECK_OK(ar_gbt_cuts_build(&b, wt, max_bin, nt, &c1));
                CHECK_OK(ar_gbt_binmat_build(&b, &c1, nt, &b1));
                CHECK_OK(ar_gbt_quantize(&b, wt, max_bin, nt, &c2, &b2));
                CHECK(memcmp(c1.ptr, c2.ptr, (d + 1) * sizeof *c1.ptr) == 0);
                CHECK(memcmp(c1.values, c2.values, c1.ptr[d] * sizeof *c1.values) == 0);
                CHECK(memcmp(c1.min_vals, c2.min_vals, d * sizeof *c1.min_vals) == 0);
                CHECK(memcmp(c1.has_missing, c2.has_missing, d) == 0);
                CHECK_INT(b1.width, b2.width);
                CHECK(memcmp(b1.hist_off, b2.hist_off, (d + 1) * sizeof *b1.hist_off) == 0);
                CHECK(memcmp(b1.codes, b2.codes, n * d * (size_t)b1.width) == 0);
                CHECK(memcmp(b1.col_codes, b2.col_codes, n * d * (size_t)b1.width) == 0);
                /* column-major is the transpose of row-major */
                bool tr = true;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < d; j++) {
                        uint32_t cm = b2.width == 1 ? ((const uint8_t *)b2.col_codes)[j * n + i]
                                                    : ((const uint16_t *)b2.col_codes)[j * n + i];
                        tr = tr && cm == ar_gbt_binmat_get(&b2, i, j);
                    }
                CHECK(tr);
                if (variant == 2 && n == 5000)
                    CHECK_INT(b2.width, 2);
                ar_gbt_binmat_release(&b1);
                ar_gbt_binmat_release(&b2);
                ar_gbt_cuts_release(&c1);
                ar_gbt_cuts_release(&c2);
            }
            ar_free(x);
            ar_free(w);
        }
    }
}

static void test_hist_kernel(void)
{
    size_t shapes[] = {0, 1, 7, 5001};
    /* 3 features: the per-feature tail only; 19: two groups of eight and a tail */
    for (size_t s = 0; s < 8; s++) {
        size_t n = shapes[s % 4], d = s < 4 ? 3 : 19;
        float *x = ar_allocn(n * d + 1, sizeof *x);
        float *gh = ar_allocn(2 * n + 2, sizeof *gh);
        uint32_t *rows = ar_allocn(n + 1, sizeof *rows);
        struct ar_rng r;
        ar_rng_init(&r, 42, 0);
        for (size_t i = 0; i < n * d; i++)
            x[i] = ar_rng_uniform(&r) < 0.1 ? NAN : (float)ar_rng_below(&r, 300);
        for (size_t i = 0; i < n; i++) {
            rows[i] = (uint32_t)(n - 1 - i); /* scattered order */
            gh[2 * i] = (float)ar_rng_normal(&r);
            gh[2 * i + 1] = (float)ar_rng_uniform(&r);
        }
        struct ar_batch b = dense_batch(x, n, d, NULL);
        struct ar_gbt_cuts c;
        struct ar_gbt_binmat bm;
        CHECK_OK(ar_gbt_cuts_build(&b, NULL, 256, 2, &c));
        CHECK_OK(ar_gbt_binmat_build(&b, &c, 2, &bm));
        size_t slots = bm.hist_off[d];
        double *ref = ar_allocn(2 * slots, sizeof *ref), *got = ar_allocn(2 * slots, sizeof *got);
        int threads[] = {1, 2, 3, 64};
        for (int t = 0; t < 4; t++) {
            double *scratch = ar_allocn((size_t)threads[t] * 2 * slots, sizeof *scratch);
            ar_gbt_hist_build_ref(&bm, rows, gh, n, ref);
            ar_gbt_hist_build(&bm, rows, gh, n, threads[t], scratch, got);
            double err = 0;
            for (size_t i = 0; i < 2 * slots; i++)
                err = fmax(err, fabs(ref[i] - got[i]));
            CHECK(err <= 1e-9);
            if (threads[t] == 1) /* same additions in the same order: same bits */
                CHECK(memcmp(ref, got, 2 * slots * sizeof *ref) == 0);
            ar_free(scratch);
        }
        /* subtraction: parent - child == other child */
        if (n > 2) {
            double *left = ar_allocn(2 * slots, sizeof *left);
            double *right = ar_allocn(2 * slots, sizeof *right);
            double *sub = ar_allocn(2 * slots, sizeof *sub);
            ar_gbt_hist_build_ref(&bm, rows, gh, n / 2, left);
            ar_gbt_hist_build_ref(&bm, rows + n / 2, gh + 2 * (n / 2), n - n / 2, right);
            ar_gbt_hist_subtract(ref, left, slots, sub);
            double err = 0;
            for (size_t i = 0; i < 2 * slots; i++)
                err = fmax(err, fabs(sub[i] - right[i]));
            CHECK(err <= 1e-9);
            ar_free(left);
            ar_free(right);
            ar_free(sub);
        }
        ar_free(ref);
        ar_free(got);
        ar_gbt_binmat_release(&bm);
        ar_gbt_cuts_release(&c);
        ar_free(x);
        ar_free(gh);
        ar_free(rows);
    }
}

static void test_gain(void)
{
    struct ar_gbt_tparam p = {0.3, 0, 1, 0, 1, 0};
    /* G = -4, H = 3, lambda 1: weight 1, gain 16/4 = 4 */
    CHECK_NEAR(ar_gbt_calc_weight(&p, -4, 3), 1.0, 1e-12);
    CHECK_NEAR(ar_gbt_calc_gain(&p, -4, 3), 4.0, 1e-6);
    /* alpha 1: |G| soft-thresholded to 3: weight 0.75, gain 9/4 */
    p.alpha = 1;
    CHECK_NEAR(ar_gbt_calc_weight(&p, -4, 3), 0.75, 1e-12);
    CHECK_NEAR(ar_gbt_calc_gain(&p, -4, 3), 2.25, 1e-6);
    p.alpha = 0;
    /* max_delta_step 0.5 caps the weight; gain -(2 G w + (H + lambda) w^2) */
    p.max_delta_step = 0.5;
    CHECK_NEAR(ar_gbt_calc_weight(&p, -4, 3), 0.5, 1e-12);
    CHECK_NEAR(ar_gbt_calc_gain(&p, -4, 3), -(2 * -4 * 0.5 + 4 * 0.25), 1e-6);
    p.max_delta_step = 0;
    /* min_child_weight: weight 0 below it */
    p.min_child_weight = 5;
    CHECK_NEAR(ar_gbt_calc_weight(&p, -4, 3), 0.0, 0);
}

/* The two-bins-per-step split scan (alpha 0) against the scalar one: alpha 1e-300 takes the
 * scalar path with the same arithmetic (threshold_l1(g) is g for these g), so every field of
 * the best split must match. Random histograms with empty bins, ties (repeated bins), odd bin
 * counts, missing values and min_child_weight cutting both ends. */
static void test_split_scan_same(void)
{
    struct ar_rng r;
    ar_rng_init(&r, 2024, 0);
    for (int trial = 0; trial < 300; trial++) {
        const size_t d = 1 + ar_rng_below(&r, 5), n = 40 + ar_rng_below(&r, 400);
        float *x = ar_allocn(n * d, sizeof *x);
        CHECK(x != NULL);
        if (!x)
            return;
        const size_t levels = 2 + ar_rng_below(&r, 40);
        for (size_t i = 0; i < n * d; i++)
            x[i] = ar_rng_uniform(&r) < 0.05 * (double)(trial % 3)
                       ? NAN
                       : (float)ar_rng_below(&r, levels);
        struct ar_batch b = dense_batch(x, n, d, NULL);
        struct ar_gbt_cuts c;
        struct ar_gbt_binmat bm;
        CHECK_OK(ar_gbt_quantize(&b, NULL, 16 + (int)ar_rng_below(&r, 40), 1, &c, &bm));
        size_t slots = bm.hist_off[d];
        double *hist = ar_callocn(2 * slots, sizeof *hist);
        uint32_t feats[8];
        for (size_t f = 0; f < d; f++)
            feats[f] = (uint32_t)f;
        double sg = 0, sh = 0;
        for (size_t i = 0; i < n; i++) {
            double g = trial % 7 == 0 ? 0.25 : ar_rng_normal(&r), h = ar_rng_uniform(&r);
            if (i == 0)
                sg += g, sh += h;
            else if (ar_rng_uniform(&r) < 0.9)
                sg += g, sh += h;
            else
                continue;
            for (size_t f = 0; f < d; f++) {
                size_t slot = bm.hist_off[f] + ar_gbt_binmat_get(&bm, i, f);
                hist[2 * slot] += g;
                hist[2 * slot + 1] += h;
            }
        }
        struct ar_gbt_tparam p = {0.3, 0, (double)(trial % 4), 0, 1, 0};
        struct ar_gbt_bounds bd = {-INFINITY, INFINITY};
        struct ar_gbt_split s1, s2;
        bool f1, f2;
        ar_gbt_split_find(&p, &c, &bm, hist, sg, sh, feats, d, NULL, bd, &s1, &f1);
        p.alpha = 1e-300;
        ar_gbt_split_find(&p, &c, &bm, hist, sg, sh, feats, d, NULL, bd, &s2, &f2);
        CHECK(f1 == f2);
        if (f1 && f2) {
            CHECK(memcmp(&s1.loss_chg, &s2.loss_chg, sizeof s1.loss_chg) == 0);
            CHECK_INT(s1.feature, s2.feature);
            CHECK_INT(s1.bin, s2.bin);
            CHECK(s1.default_left == s2.default_left);
            CHECK(s1.lg == s2.lg && s1.lh == s2.lh && s1.rg == s2.rg && s1.rh == s2.rh);
        }
        ar_free(hist);
        ar_gbt_binmat_release(&bm);
        ar_gbt_cuts_release(&c);
        ar_free(x);
    }
}

/* logloss skips the logarithm a 0/1 label zeroes: the mean must keep every bit of the
 * two-term formula, over probabilities at and near 0 and 1, fractional labels and weights. */
static void test_logloss_same(void)
{
    static const float ps[] = {0.0f, 1e-30f, 1e-17f, 1e-9f, 0.25f, 0.5f, 0.999999f, 1.0f};
    struct ar_rng r;
    ar_rng_init(&r, 9, 1);
    const size_t n = 4000;
    float *y = ar_allocn(n, sizeof *y), *p = ar_allocn(n, sizeof *p), *w = ar_allocn(n, sizeof *w);
    CHECK(y && p && w);
    if (!y || !p || !w)
        return;
    for (size_t i = 0; i < n; i++) {
        double u = ar_rng_uniform(&r);
        y[i] = u < 0.45 ? 0.0f : u < 0.9 ? 1.0f : (float)ar_rng_uniform(&r);
        p[i] = i % 3 == 0 ? ps[ar_rng_below(&r, 8)] : (float)ar_rng_uniform(&r);
        w[i] = (float)ar_rng_uniform(&r) * 3.0f;
    }
    struct ar_gbt_metric m;
    CHECK_OK(ar_gbt_metric_parse("logloss", AR_GBT_OBJ_BINARY_LOGISTIC, &m));
    for (int weighted = 0; weighted < 2; weighted++) {
        const float eps = 1e-16f;
        double s = 0.0, ws = 0.0;
        for (size_t i = 0; i < n; i++) {
            float pi = p[i], yi = y[i], pneg = 1.0f - pi, l;
            if (pi < eps)
                l = -yi * logf(eps) - (1.0f - yi) * logf(1.0f - eps);
            else if (pneg < eps)
                l = -yi * logf(1.0f - eps) - (1.0f - yi) * logf(eps);
            else
                l = -yi * logf(pi) - (1.0f - yi) * logf(pneg);
            double wi = weighted ? (double)w[i] : 1.0;
            s += (double)l * wi;
            ws += wi;
        }
        double want = s / ws, got = -1.0;
        CHECK_OK(ar_gbt_metric_eval(&m, AR_GBT_OBJ_BINARY_LOGISTIC, 1, y, weighted ? w : NULL, p, p,
                                    n, &got));
        CHECK(memcmp(&want, &got, sizeof want) == 0);
    }
    ar_free(y);
    ar_free(p);
    ar_free(w);
}

static void test_tiny_tree(void)
{
    /* separable: y = 1 when x0 >= 5 */
    float x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = (float)(i % 10);
        y[i] = x[i] >= 5 ? 1.0f : 0.0f;
    }
    struct ar_batch b = dense_batch(x, 20, 1, y);
    const char *kv[] = {"num_round", "1", "max_depth",        "1", "eta", "1",
                        "lambda",    "0", "min_child_weight", "0"};
    struct ar_gbt_params p;
    CHECK_OK(parse(kv, 5, &p));
    struct ar_gbt_model *m;
    CHECK_OK(ar_gbt_train_batch(&p, &b, NULL, NULL, &m));
    CHECK_INT(m->n_trees, 1);
    CHECK_INT(m->tree_off[1], 3);
    CHECK_INT(m->nodes[0].feature, 0);
    CHECK_NEAR(m->nodes[0].cond, 5.0, 0);
    /* squared error from 0.5: leaves -0.5 and +0.5 with lambda 0, eta 1 */
    CHECK_NEAR(m->nodes[1].cond, -0.5, 1e-6);
    CHECK_NEAR(m->nodes[2].cond, 0.5, 1e-6);
    struct ar_table t;
    memset(&t, 0, sizeof t);
    CHECK_OK(ar_gbt_predict(&m->base, &b, &t));
    const struct ar_table_col *c = ar_table_find(&t, "score");
    int exact = 1;
    for (int i = 0; i < 20; i++)
        exact &= c->data[i] == y[i];
    CHECK(exact);
    ar_table_release(&t);
    ar_gbt_model_free(&m->base);
    ar_hp_free(ar_gbt_hp, &p);
}

/* A random multiclass problem trained with the given thread count; returns the JSON. */
static char *train_json(int threads, size_t *len, struct ar_gbt_model **keep, float *x, float *y,
                        size_t n)
{
    CHECK_OK(ar_par_init(threads));
    const char *kv[] = {"num_round",        "4",   "objective", "multi:softprob",
                        "num_class",        "3",   "subsample", "0.8",
                        "colsample_bynode", "0.7", "seed",      "5"};
    struct ar_gbt_params p;
    CHECK_OK(parse(kv, 6, &p));
    struct ar_batch b = dense_batch(x, n, 4, y);
    struct ar_gbt_model *m = NULL;
    CHECK_OK(ar_gbt_train_batch(&p, &b, NULL, NULL, &m));
    char *text = NULL;
    if (m)
        CHECK_OK(ar_gbt_model_to_json(m, &text, len));
    if (keep)
        *keep = m;
    else if (m)
        ar_gbt_model_free(&m->base);
    ar_hp_free(ar_gbt_hp, &p);
    return text;
}

static void test_roundtrip_determinism(void)
{
    size_t n = 6000;
    float *x = ar_allocn(n * 4, sizeof *x), *y = ar_allocn(n, sizeof *y);
    struct ar_rng r;
    ar_rng_init(&r, 9, 0);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 4; j++)
            x[i * 4 + j] = ar_rng_uniform(&r) < 0.05 ? NAN : (float)ar_rng_normal(&r);
        y[i] = (float)((x[i * 4] > 0) + (x[i * 4 + 1] > 0.5f));
    }
    size_t l1, l2, l3;
    struct ar_gbt_model *m;
    char *a = train_json(2, &l1, &m, x, y, n);
    char *b = train_json(2, &l2, NULL, x, y, n);
    CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
    char *c = train_json(1, &l3, NULL, x, y, n); /* other thread counts: same quality */
    CHECK(c != NULL);
    /* save -> load -> predict bit-identical, and the re-written text is identical */
    CHECK_OK(ar_gbt_model_save_file(m, "build/test_xgboost_model.json"));
    struct ar_gbt_model *m2;
    CHECK_OK(ar_gbt_model_load_file("build/test_xgboost_model.json", &m2));
    char *d;
    size_t l4;
    CHECK_OK(ar_gbt_model_to_json(m2, &d, &l4));
    CHECK(l4 == l1 && memcmp(a, d, l1) == 0);
    struct ar_batch bt = dense_batch(x, n, 4, y);
    struct ar_table t1, t2;
    memset(&t1, 0, sizeof t1);
    memset(&t2, 0, sizeof t2);
    CHECK_OK(ar_gbt_predict(&m->base, &bt, &t1));
    CHECK_OK(ar_gbt_predict(&m2->base, &bt, &t2));
    CHECK(t1.cols[0].width == 3 &&
          memcmp(t1.cols[0].data, t2.cols[0].data, n * 3 * sizeof(float)) == 0);
    /* every truncation of the file fails cleanly */
    int all_fail = 1;
    for (size_t cut = 0; cut < l1; cut += (cut < 200 ? 1 : 997)) {
        struct ar_gbt_model *bad = NULL;
        int rc = ar_gbt_model_from_json(a, cut, &bad);
        if (rc == AR_OK || bad) {
            all_fail = 0;
            ar_gbt_model_free(bad ? &bad->base : NULL);
        }
    }
    CHECK(all_fail);
    struct ar_gbt_model *bad = NULL;
    CHECK_ERR(ar_gbt_model_from_json("binf....", 8, &bad), AR_ERR_UNSUPPORTED, "binary format");
    CHECK_ERR(ar_gbt_model_from_json("{\"a\":1}", 7, &bad), AR_ERR_FORMAT, "learner");
    const char *cyc =
        "{\"learner\":{\"attributes\":{},\"learner_model_param\":{\"base_score\":\"0.5\","
        "\"num_class\":\"0\",\"num_feature\":\"1\"},\"objective\":{\"name\":\"reg:squarederror\"},"
        "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"gbtree_model_param\":{"
        "\"num_trees\":\"1\"},\"tree_info\":[0],\"trees\":[{\"id\":0,\"tree_param\":{"
        "\"num_nodes\":\"3\"},\"left_children\":[1,0,-1],\"right_children\":[2,2,-1],"
        "\"parents\":[2147483647,0,0],\"split_indices\":[0,0,0],\"split_conditions\":[1.0,1.0,"
        "1.0],\"default_left\":[0,0,0],\"base_weights\":[0.0,0.0,0.0],\"loss_changes\":[0.0,0.0,"
        "0.0],\"sum_hessian\":[1.0,1.0,1.0]}]}}}}";
    CHECK_ERR(ar_gbt_model_from_json(cyc, strlen(cyc), &bad), AR_ERR_FORMAT, "twice");
    ar_table_release(&t1);
    ar_table_release(&t2);
    ar_gbt_model_free(&m->base);
    ar_gbt_model_free(&m2->base);
    ar_free(a);
    ar_free(b);
    ar_free(c);
    ar_free(d);
    ar_free(x);
    ar_free(y);
    remove("build/test_xgboost_model.json");
}

static void test_bad_input(void)
{
    struct ar_gbt_params p;
    const char *unknown[] = {"num_round", "3", "bogus", "1"};
    CHECK_ERR(parse(unknown, 2, &p), AR_ERR_PARAM, "Extraneous hyperparameter found: bogus");
    ar_hp_free(ar_gbt_hp, &p);
    const char *noround[] = {"eta", "0.1"};
    CHECK_ERR(parse(noround, 1, &p), AR_ERR_PARAM, "Missing required hyperparameter: num_round");
    ar_hp_free(ar_gbt_hp, &p);
    const char *alias[] = {"num_round", "3", "learning_rate", "0.1", "reg_lambda", "2"};
    CHECK_OK(parse(alias, 3, &p));
    CHECK_NEAR(p.eta, 0.1, 0);
    CHECK_NEAR(p.lambda, 2, 0);
    ar_hp_free(ar_gbt_hp, &p);
    const char *range[] = {"num_round", "3", "subsample", "0"};
    CHECK_ERR(parse(range, 2, &p), AR_ERR_PARAM, "subsample");
    ar_hp_free(ar_gbt_hp, &p);
    const char *multi[] = {"num_round", "3", "objective", "multi:softmax"};
    CHECK_OK(parse(multi, 2, &p));
    CHECK_ERR(ar_gbt_params_validate(&p), AR_ERR_PARAM, "num_class is required");
    ar_hp_free(ar_gbt_hp, &p);
    const char *nc[] = {"num_round", "3", "num_class", "3"};
    CHECK_OK(parse(nc, 2, &p));
    CHECK_ERR(ar_gbt_params_validate(&p), AR_ERR_PARAM, "num_class needs an objective");
    ar_hp_free(ar_gbt_hp, &p);
    const char *rank[] = {"num_round", "3", "objective", "rank:pairwise"};
    CHECK_OK(parse(rank, 2, &p));
    CHECK_ERR(ar_gbt_params_validate(&p), AR_ERR_UNSUPPORTED, "rank:pairwise");
    ar_hp_free(ar_gbt_hp, &p);
    const char *mono[] = {"num_round", "3", "monotone_constraints", "(1,0)"};
    CHECK_OK(parse(mono, 2, &p));
    CHECK_ERR(ar_gbt_params_validate(&p), AR_ERR_PARAM, "tree_method");
    ar_hp_free(ar_gbt_hp, &p);
    const char *depth0[] = {"num_round", "3", "max_depth", "0"};
    CHECK_OK(parse(depth0, 2, &p));
    CHECK_ERR(ar_gbt_params_validate(&p), AR_ERR_PARAM, "lossguide");
    ar_hp_free(ar_gbt_hp, &p);

    /* labels */
    float x[4] = {1, 2, 3, 4}, y[4] = {0, 1, 2, 1};
    struct ar_batch b = dense_batch(x, 4, 1, y);
    struct ar_gbt_model *m = NULL;
    const char *logi[] = {"num_round", "1", "objective", "binary:logistic"};
    CHECK_OK(parse(logi, 2, &p));
    CHECK_ERR(ar_gbt_train_batch(&p, &b, NULL, NULL, &m), AR_ERR_INVALID,
              "label must be in [0,1] for logistic regression (row 3");
    ar_hp_free(ar_gbt_hp, &p);
    const char *sm[] = {"num_round", "1", "objective", "multi:softprob", "num_class", "2"};
    CHECK_OK(parse(sm, 3, &p));
    CHECK_ERR(ar_gbt_train_batch(&p, &b, NULL, NULL, &m), AR_ERR_INVALID,
              "label must be in [0, num_class)");
    ar_hp_free(ar_gbt_hp, &p);
    y[0] = -1;
    const char *po[] = {"num_round", "1", "objective", "count:poisson"};
    CHECK_OK(parse(po, 2, &p));
    CHECK_ERR(ar_gbt_train_batch(&p, &b, NULL, NULL, &m), AR_ERR_INVALID, "nonnegative");
    ar_hp_free(ar_gbt_hp, &p);
    CHECK(m == NULL);
}

void test_suite_xgboost(void)
{
    test_quantize_same();
    test_split_scan_same();
    test_logloss_same();
    int saved = ar_par_threads();
    test_cuts();
    test_hist_kernel();
    test_gain();
    test_tiny_tree();
    test_roundtrip_determinism();
    test_bad_input();
    ar_par_init(saved);
}
