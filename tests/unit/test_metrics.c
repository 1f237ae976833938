/* core/metrics: hand-computed values for every metric, ties, weights, n = 1, and the error
 * cases (empty input, bad weights, one class, labels and predictions outside the domain). */
#include <math.h>

#include "core/metrics.h"
#include "tests/unit/testhelp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define REL  1e-14

static void test_auc(void)
{
    double v = -1;
    /* 3 of 4 positive/negative pairs ordered correctly. */
    const float y[] = {0, 0, 1, 1}, s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    CHECK_OK(ar_metric_auc(y, s, NULL, 4, &v));
    CHECK_REL(v, 0.75, REL);
    /* A tied positive/negative pair counts one half: (1 + 1 + 0.5 + 1) / 4. */
    const float yt[] = {0, 1, 0, 1}, st[] = {0.5f, 0.5f, 0.2f, 0.8f};
    CHECK_OK(ar_metric_auc(yt, st, NULL, 4, &v));
    CHECK_REL(v, 0.875, REL);
    /* All scores equal: the diagonal. */
    const float se[] = {0.3f, 0.3f, 0.3f, 0.3f};
    CHECK_OK(ar_metric_auc(yt, se, NULL, 4, &v));
    CHECK_REL(v, 0.5, REL);
    /* Weights: pairs weigh w_pos * w_neg; (3 * 1 + 4 * (1 + 2)) / (7 * 3). */
    const float w[] = {1, 2, 3, 4};
    CHECK_OK(ar_metric_auc(y, s, w, 4, &v));
    CHECK_REL(v, 15.0 / 21.0, REL);
    /* Integer weights act as repeated rows. */
    const float yr[] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1},
                sr[] = {0.1f, 0.4f, 0.4f, 0.35f, 0.35f, 0.35f, 0.8f, 0.8f, 0.8f, 0.8f};
    double vr = -1;
    CHECK_OK(ar_metric_auc(yr, sr, NULL, N(yr), &vr));
    CHECK_REL(v, vr, REL);
    /* Perfectly inverted ranking. */
    const float si[] = {0.9f, 0.8f, 0.2f, 0.1f};
    CHECK_OK(ar_metric_auc(y, si, NULL, 4, &v));
    CHECK_NEAR(v, 0.0, 0);

    v = 42;
    const float one[] = {1, 1, 1};
    CHECK_ERR(ar_metric_auc(one, s, NULL, 3, &v), AR_ERR_INVALID, "only one class");
    CHECK_ERR(ar_metric_auc(y, s, NULL, 1, &v), AR_ERR_INVALID, "only one class"); /* n = 1 */
    CHECK_ERR(ar_metric_auc(y, s, NULL, 0, &v), AR_ERR_INVALID, "empty");
    const float wz[] = {1, 1, 0, 0};
    CHECK_ERR(ar_metric_auc(y, s, wz, 4, &v), AR_ERR_INVALID, "positives have zero");
    const float y2[] = {0, 2, 1, 1};
    CHECK_ERR(ar_metric_auc(y2, s, NULL, 4, &v), AR_ERR_INVALID, "y[1] = 2: must be 0 or 1");
    const float sn[] = {0.1f, NAN, 0.3f, 0.4f};
    CHECK_ERR(ar_metric_auc(y, sn, NULL, 4, &v), AR_ERR_INVALID, "score[1] = nan");
    const float wneg[] = {1, -1, 1, 1};
    CHECK_ERR(ar_metric_auc(y, s, wneg, 4, &v), AR_ERR_INVALID, "weight[1] = -1");
    CHECK(v == 42); /* untouched on error */
}

static void test_average_precision(void)
{
    double v = -1;
    /* Descending: 0.8 (+) P = 1, 0.4 (-), 0.35 (+) P = 2/3; each adds recall 1/2. */
    const float y[] = {0, 0, 1, 1}, s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    CHECK_OK(ar_metric_average_precision(y, s, NULL, 4, &v));
    CHECK_REL(v, 0.5 + 1.0 / 3.0, REL);
    /* Ties: the group {0.5: +, -} has P = 1/2, then 0.2 (+) P = 2/3. */
    const float yt[] = {1, 0, 1}, st[] = {0.5f, 0.5f, 0.2f};
    CHECK_OK(ar_metric_average_precision(yt, st, NULL, 3, &v));
    CHECK_REL(v, 0.25 + 1.0 / 3.0, REL);
    /* Weights: 0.8 (+, 4) P = 1, recall 4/7; 0.35 (+, 3) P = 7 / 9, recall 3/7. */
    const float w[] = {1, 2, 3, 4};
    CHECK_OK(ar_metric_average_precision(y, s, w, 4, &v));
    CHECK_REL(v, 4.0 / 7.0 + 3.0 / 7.0 * 7.0 / 9.0, REL);
    const float zero[] = {0, 0};
    CHECK_ERR(ar_metric_average_precision(zero, s, NULL, 2, &v), AR_ERR_INVALID, "only one class");
    CHECK_ERR(ar_metric_average_precision(y, s, NULL, 0, &v), AR_ERR_INVALID, "empty");
}

static void test_logloss_error(void)
{
    double v = -1;
    const float y[] = {1, 0}, p[] = {0.8f, 0.4f};
    CHECK_OK(ar_metric_logloss(y, p, NULL, 2, 1e-15, &v));
    CHECK_REL(v, -(log((double)0.8f) + log(1 - (double)0.4f)) / 2, REL);
    const float w[] = {3, 1};
    CHECK_OK(ar_metric_logloss(y, p, w, 2, 1e-15, &v));
    CHECK_REL(v, -(3 * log((double)0.8f) + log(1 - (double)0.4f)) / 4, REL);
    /* Clipping: p = 0 for a positive costs -log(eps). n = 1. */
    const float y1[] = {1}, p0[] = {0};
    CHECK_OK(ar_metric_logloss(y1, p0, NULL, 1, 1e-15, &v));
    CHECK_REL(v, -log(1e-15), 1e-12);
    CHECK_ERR(ar_metric_logloss(y1, p0, NULL, 1, 0.5, &v), AR_ERR_INVALID, "eps");
    const float yb[] = {0.5f};
    CHECK_ERR(ar_metric_logloss(yb, p0, NULL, 1, 1e-15, &v), AR_ERR_INVALID, "must be 0 or 1");

    /* error@t: pred > t is class 1. */
    const float ye[] = {0, 1, 1, 0}, pe[] = {0.2f, 0.6f, 0.4f, 0.7f};
    CHECK_OK(ar_metric_error_at(ye, pe, NULL, 4, 0.5, &v));
    CHECK_REL(v, 0.5, REL);
    CHECK_OK(ar_metric_error_at(ye, pe, NULL, 4, 0.3, &v));
    CHECK_REL(v, 0.25, REL);
    const float we[] = {1, 1, 6, 2};
    CHECK_OK(ar_metric_error_at(ye, pe, we, 4, 0.5, &v));
    CHECK_REL(v, 0.8, REL);
    const float wz[] = {0, 0, 0, 0};
    CHECK_ERR(ar_metric_error_at(ye, pe, wz, 4, 0.5, &v), AR_ERR_INVALID, "total weight is 0");
}

static void test_confusion(void)
{
    struct ar_confusion c;
    const float y[] = {1, 1, 1, 0}, pred[] = {1, 0, 0, 1};
    CHECK_OK(ar_metric_confusion(y, pred, NULL, 4, &c));
    CHECK(c.tp == 1 && c.fn == 2 && c.fp == 1 && c.tn == 0);
    CHECK_REL(ar_metric_precision(&c), 0.5, REL);
    CHECK_REL(ar_metric_recall(&c), 1.0 / 3.0, REL);
    CHECK_REL(ar_metric_fbeta(&c, 1.0), 0.4, REL);
    CHECK_REL(ar_metric_fbeta(&c, 2.0), 5.0 / 14.0, REL);
    CHECK_REL(ar_metric_fbeta(&c, INFINITY), 1.0 / 3.0, REL);
    const float w[] = {2, 1, 1, 0.5f};
    CHECK_OK(ar_metric_confusion(y, pred, w, 4, &c));
    CHECK(c.tp == 2 && c.fn == 2 && c.fp == 0.5 && c.tn == 0);
    /* zero_division = 0 */
    struct ar_confusion z = {0, 0, 5, 0};
    CHECK(ar_metric_precision(&z) == 0 && ar_metric_recall(&z) == 0 && ar_metric_fbeta(&z, 1) == 0);
    const float bad[] = {1, 0, 3, 0};
    CHECK_ERR(ar_metric_confusion(y, bad, NULL, 4, &c), AR_ERR_INVALID, "pred[2] = 3");
}

static void test_multiclass(void)
{
    double v = -1, pr = -1, rc = -1, f = -1;
    const float y[] = {0, 1, 2, 2}, pred[] = {0, 2, 2, 1}, w[] = {1, 1, 2, 0};
    CHECK_OK(ar_metric_accuracy(y, pred, NULL, 4, &v));
    CHECK_REL(v, 0.5, REL);
    CHECK_OK(ar_metric_accuracy(y, pred, w, 4, &v));
    CHECK_REL(v, 0.75, REL);
    /* Per class (P, R): 0 (1, 1), 1 (0, 0), 2 (1/2, 1/2). */
    CHECK_OK(ar_metric_macro_prf(y, pred, NULL, 4, 3, 1.0, &pr, &rc, &f));
    CHECK_REL(pr, 0.5, REL);
    CHECK_REL(rc, 0.5, REL);
    CHECK_REL(f, 0.5, REL);
    /* An absent class 3 counts as 0 in the macro average. */
    CHECK_OK(ar_metric_macro_prf(y, pred, NULL, 4, 4, 1.0, &pr, NULL, NULL));
    CHECK_REL(pr, 1.5 / 4, REL);
    /* Weighted: class 1 is predicted only with weight 0 (P = 0/0 = 0, R = 0); class 2 has
     * tp 2, predicted 1 + 2, true 2 + 0: P = 2/3, R = 1, F2 = 5 (2/3) / (4 (2/3) + 1). */
    CHECK_OK(ar_metric_macro_prf(y, pred, w, 4, 3, 2.0, &pr, &rc, &f));
    CHECK_REL(pr, (1 + 0 + 2.0 / 3.0) / 3, REL);
    CHECK_REL(rc, 2.0 / 3.0, REL);
    CHECK_REL(f, (1 + 0 + 10.0 / 11.0) / 3, REL);
    CHECK_ERR(ar_metric_macro_prf(y, pred, NULL, 4, 2, 1.0, &pr, &rc, &f), AR_ERR_INVALID,
              "y[2] = 2: must be an integer class index in [0, 2)");
    const float frac[] = {0, 1.5f};
    CHECK_ERR(ar_metric_accuracy(frac, pred, NULL, 2, &v), AR_ERR_INVALID, "y[1] = 1.5");

    const float ym[] = {0, 2}, prob[] = {0.5f, 0.3f, 0.2f, 0.2f, 0.2f, 0.6f};
    CHECK_OK(ar_metric_mlogloss(ym, prob, 3, NULL, 2, 1e-15, &v));
    CHECK_REL(v, -(log(0.5) + log(0.6)) / 2, 1e-7);
    /* Exact with renormalisation: the float rows do not sum to exactly 1. */
    double s0 = (double)0.5f + (double)0.3f + (double)0.2f;
    double s1 = (double)0.2f + (double)0.2f + (double)0.6f;
    CHECK_REL(v, -(log((double)0.5f / s0) + log((double)0.6f / s1)) / 2, REL);
    /* Renormalisation: an unnormalised row of equal scores gives 1/3. */
    const float y1[] = {1}, flat[] = {0.5f, 0.5f, 0.5f};
    CHECK_OK(ar_metric_mlogloss(y1, flat, 3, NULL, 1, 1e-15, &v));
    CHECK_REL(v, log(3.0), REL);
    /* Clipping of 0 and 1. */
    const float y0[] = {0}, hard[] = {0, 1, 0};
    CHECK_OK(ar_metric_mlogloss(y0, hard, 3, NULL, 1, 1e-15, &v));
    CHECK_REL(v, -log(1e-15 / (1e-15 + (1 - 1e-15) + 1e-15)), 1e-12);
    CHECK_ERR(ar_metric_mlogloss(y0, hard, 1, NULL, 1, 1e-15, &v), AR_ERR_INVALID, "k = 1");
    const float yk[] = {3};
    CHECK_ERR(ar_metric_mlogloss(yk, hard, 3, NULL, 1, 1e-15, &v), AR_ERR_INVALID, "[0, 3)");

    /* merror: ties go to the lowest index. top-k: ties rank the higher index first. */
    const float tie[] = {0.4f, 0.4f, 0.2f};
    const float c0[] = {0}, c1[] = {1}, c2[] = {2};
    CHECK_OK(ar_metric_merror(c0, tie, 3, NULL, 1, &v));
    CHECK(v == 0);
    CHECK_OK(ar_metric_merror(c1, tie, 3, NULL, 1, &v));
    CHECK(v == 1);
    CHECK_OK(ar_metric_top_k_accuracy(c1, tie, 3, 1, NULL, 1, &v));
    CHECK(v == 1);
    CHECK_OK(ar_metric_top_k_accuracy(c0, tie, 3, 1, NULL, 1, &v));
    CHECK(v == 0);
    CHECK_OK(ar_metric_top_k_accuracy(c0, tie, 3, 2, NULL, 1, &v));
    CHECK(v == 1);
    CHECK_OK(ar_metric_top_k_accuracy(c2, tie, 3, 2, NULL, 1, &v));
    CHECK(v == 0);
    CHECK_OK(ar_metric_top_k_accuracy(c2, tie, 3, 3, NULL, 1, &v));
    CHECK(v == 1);
    const float yy[] = {0, 2, 1}, sc[] = {0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f, 0.2f, 0.7f, 0.1f};
    const float ww[] = {1, 2, 5};
    CHECK_OK(ar_metric_merror(yy, sc, 3, ww, 3, &v));
    CHECK_REL(v, 1.0 / 8.0, REL);
    CHECK_OK(ar_metric_top_k_accuracy(yy, sc, 3, 2, ww, 3, &v));
    CHECK_REL(v, 7.0 / 8.0, REL);
    CHECK_ERR(ar_metric_top_k_accuracy(yy, sc, 3, 0, ww, 3, &v), AR_ERR_INVALID, "top_k");
    const float scn[] = {0.1f, 0.5f, INFINITY};
    CHECK_ERR(ar_metric_merror(c0, scn, 3, NULL, 1, &v), AR_ERR_INVALID, "score[0][2] = inf");
}

static void test_regression(void)
{
    double v = -1;
    const float y[] = {1, 2, 3}, p[] = {2, 2, 5}, w[] = {1, 1, 2};
    CHECK_OK(ar_metric_mse(y, p, NULL, 3, &v));
    CHECK_REL(v, 5.0 / 3.0, REL);
    CHECK_OK(ar_metric_rmse(y, p, NULL, 3, &v));
    CHECK_REL(v, sqrt(5.0 / 3.0), REL);
    CHECK_OK(ar_metric_mae(y, p, NULL, 3, &v));
    CHECK_REL(v, 1.0, REL);
    CHECK_OK(ar_metric_mse(y, p, w, 3, &v));
    CHECK_REL(v, 2.25, REL);
    CHECK_OK(ar_metric_rmse(y, p, w, 3, &v));
    CHECK_REL(v, 1.5, REL);
    CHECK_OK(ar_metric_mae(y, p, w, 3, &v));
    CHECK_REL(v, 1.25, REL);
    CHECK_OK(ar_metric_mse(y, p, NULL, 1, &v)); /* n = 1 */
    CHECK_REL(v, 1.0, REL);
    CHECK_ERR(ar_metric_mse(y, p, NULL, 0, &v), AR_ERR_INVALID, "mse: empty input");
    const float yn[] = {1, INFINITY};
    CHECK_ERR(ar_metric_mae(yn, p, NULL, 2, &v), AR_ERR_INVALID, "y[1] = inf");

    const float ym[] = {1, 2, 4}, pm[] = {2, 1, 4};
    CHECK_OK(ar_metric_mape(ym, pm, NULL, 3, &v));
    CHECK_REL(v, 0.5, REL);
    const float y0[] = {0}, p1[] = {1};
    CHECK_OK(ar_metric_mape(y0, p1, NULL, 1, &v)); /* y = 0 divides by DBL_EPSILON */
    CHECK_REL(v, 1.0 / 2.220446049250313e-16, REL);

    const float yr[] = {1, 2, 3}, pr[] = {1, 2, 4};
    CHECK_OK(ar_metric_r2(yr, pr, NULL, 3, &v));
    CHECK_REL(v, 0.5, REL);
    /* Weighted: mean 9/4, ss_tot = 25/16 + 1/16 + 2 * 9/16 = 11/4, ss_res = 2 * 1. */
    CHECK_OK(ar_metric_r2(yr, pr, w, 3, &v));
    CHECK_REL(v, 3.0 / 11.0, REL);
    const float yc[] = {0.1f, 0.1f, 0.1f}, pc[] = {0.1f, 0.1f, 0.1f}, pd[] = {0.1f, 0.2f, 0.1f};
    CHECK_OK(ar_metric_r2(yc, pc, NULL, 3, &v));
    CHECK(v == 1.0);
    CHECK_OK(ar_metric_r2(yc, pd, NULL, 3, &v));
    CHECK(v == 0.0);
    /* y constant over the positive-weight rows only. */
    const float yz[] = {0.1f, 0.1f, 7}, wz[] = {0.3f, 0.7f, 0};
    CHECK_OK(ar_metric_r2(yz, pc, wz, 3, &v));
    CHECK(v == 1.0);
    CHECK_ERR(ar_metric_r2(yr, pr, NULL, 1, &v), AR_ERR_INVALID, "fewer than two");

    /* rmsle: (log 1 - log 2)^2 and (log 4 - log 1)^2. */
    const float yl[] = {0, 3}, pl[] = {1, 0};
    CHECK_OK(ar_metric_rmsle(yl, pl, NULL, 2, &v));
    CHECK_REL(v, log(2.0) * sqrt(2.5), REL);
    const float ybad[] = {-1};
    CHECK_ERR(ar_metric_rmsle(ybad, pl, NULL, 1, &v), AR_ERR_INVALID, "y > -1");
    CHECK_ERR(ar_metric_rmsle(pl, ybad, NULL, 1, &v), AR_ERR_INVALID, "p > -1");

    /* mphe: delta^2 (sqrt(1 + (r / delta)^2) - 1) = 16 (5/4 - 1) and 9 (5/3 - 1). */
    const float yh[] = {0, 0}, ph[] = {3, 4};
    CHECK_OK(ar_metric_mphe(yh, ph, NULL, 1, 4.0, &v));
    CHECK_REL(v, 4.0, REL);
    CHECK_OK(ar_metric_mphe(yh, ph + 1, NULL, 1, 3.0, &v));
    CHECK_REL(v, 6.0, REL);
    CHECK_OK(ar_metric_mphe(yh, ph, NULL, 2, 1.0, &v));
    CHECK_REL(v, ((sqrt(10.0) - 1) + (sqrt(17.0) - 1)) / 2, REL);
    CHECK_ERR(ar_metric_mphe(yh, ph, NULL, 2, 0.0, &v), AR_ERR_INVALID, "delta");
}

static void test_deviances(void)
{
    double v = -1;
    const double ln2 = log(2.0);
    /* poisson-nloglik: lgamma(1) + 1 - 0 and lgamma(3) + 2 - 2 log 2. */
    const float y[] = {0, 2}, p[] = {1, 2};
    CHECK_OK(ar_metric_poisson_nloglik(y, p, NULL, 2, &v));
    CHECK_REL(v, (3.0 - ln2) / 2, REL);
    const float z[] = {0};
    CHECK_OK(ar_metric_poisson_nloglik(z, z, NULL, 1, &v)); /* p floored at 1e-16 */
    CHECK_REL(v, 1e-16, REL);
    const float neg[] = {-1};
    CHECK_ERR(ar_metric_poisson_nloglik(neg, p, NULL, 1, &v), AR_ERR_INVALID, "y >= 0");

    /* gamma-nloglik: y / p + log p. */
    const float yg[] = {3}, pg[] = {2};
    CHECK_OK(ar_metric_gamma_nloglik(yg, pg, NULL, 1, &v));
    CHECK_REL(v, 1.5 + ln2, REL);
    CHECK_OK(ar_metric_gamma_nloglik(yg, z, NULL, 1, &v)); /* p floored at 1e-6 */
    CHECK_REL(v, 3e6 + log(1e-6), REL);
    CHECK_ERR(ar_metric_gamma_nloglik(z, pg, NULL, 1, &v), AR_ERR_INVALID, "y > 0");

    /* scikit-learn gamma deviance: 2 (log(p/y) + y/p - 1). */
    const float a[] = {1, 2}, b[] = {2, 1};
    CHECK_OK(ar_metric_gamma_deviance(a, b, NULL, 1, &v));
    CHECK_REL(v, 2 * ln2 - 1, REL);
    CHECK_OK(ar_metric_gamma_deviance(a, b, NULL, 2, &v));
    CHECK_REL(v, ((2 * ln2 - 1) + (2 - 2 * ln2)) / 2, REL);
    CHECK_ERR(ar_metric_gamma_deviance(z, b, NULL, 1, &v), AR_ERR_INVALID, "y > 0");
    /* XGBoost's, shifted by 1e-6. */
    CHECK_OK(ar_metric_gamma_deviance_xgb(a, b, NULL, 1, &v));
    double ys = 1 + 1e-6, ps = 2 + 1e-6;
    CHECK_REL(v, 2 * (log(ps / ys) + ys / ps - 1), REL);
    CHECK_OK(ar_metric_gamma_deviance_xgb(z, z, NULL, 1, &v));
    CHECK_NEAR(v, 0.0, 0);
    CHECK_ERR(ar_metric_gamma_deviance_xgb(neg, b, NULL, 1, &v), AR_ERR_INVALID, "y >= 0");

    /* Poisson deviance: 2 (0 - 0 + 1) and 2 (2 log 2 - 2 + 1). */
    const float yp[] = {0, 2}, pp[] = {1, 1};
    CHECK_OK(ar_metric_poisson_deviance(yp, pp, NULL, 2, &v));
    CHECK_REL(v, 2 * ln2, REL);
    CHECK_OK(ar_metric_tweedie_deviance(yp, pp, NULL, 2, 1.0, &v));
    CHECK_REL(v, 2 * ln2, REL);
    CHECK_ERR(ar_metric_poisson_deviance(yp, z, NULL, 1, &v), AR_ERR_INVALID, "p > 0");

    /* Tweedie: power 0 is the squared error; perfect predictions give 0 for every power. */
    const float yt[] = {1, 2, 3}, pt[] = {2, 2, 5};
    CHECK_OK(ar_metric_tweedie_deviance(yt, pt, NULL, 3, 0.0, &v));
    CHECK_REL(v, 5.0 / 3.0, REL);
    const double powers[] = {-1.0, 1.5, 2.0, 3.0};
    for (size_t i = 0; i < N(powers); i++) {
        CHECK_OK(ar_metric_tweedie_deviance(yt, yt, NULL, 3, powers[i], &v));
        CHECK_NEAR(v, 0.0, 1e-14);
    }
    /* power 3, y = 1, p = 2: 2 (1/2 + (1/4)/2 - 1/2). */
    CHECK_OK(ar_metric_tweedie_deviance(a, b, NULL, 1, 3.0, &v));
    CHECK_REL(v, 0.25, REL);
    CHECK_ERR(ar_metric_tweedie_deviance(a, b, NULL, 1, 0.5, &v), AR_ERR_INVALID,
              "power <= 0 or >= 1");
    CHECK_ERR(ar_metric_tweedie_deviance(z, b, NULL, 1, 3.0, &v), AR_ERR_INVALID, "y > 0");
    CHECK_ERR(ar_metric_tweedie_deviance(a, z, NULL, 1, 1.5, &v), AR_ERR_INVALID, "p > 0");
    CHECK_ERR(ar_metric_tweedie_deviance(a, z, NULL, 1, -1.0, &v), AR_ERR_INVALID, "p > 0");
    CHECK_OK(ar_metric_tweedie_deviance(neg, b, NULL, 1, -1.0, &v)); /* any y for power < 0 */

    /* tweedie-nloglik@1.5, y = 1, p = 4: -4^-0.5 / -0.5 + 4^0.5 / 0.5 = 1 + 4. */
    const float y1[] = {1}, p4[] = {4};
    CHECK_OK(ar_metric_tweedie_nloglik(y1, p4, NULL, 1, 1.5, &v));
    CHECK_REL(v, 5.0, REL);
    CHECK_ERR(ar_metric_tweedie_nloglik(y1, p4, NULL, 1, 1.0, &v), AR_ERR_INVALID, "(1, 2)");
    CHECK_ERR(ar_metric_tweedie_nloglik(y1, z, NULL, 1, 1.5, &v), AR_ERR_INVALID, "p > 0");
}

static void test_cluster(void)
{
    double v = -1;
    /* Row stride 3: the third column is padding and must be ignored. */
    const float x[] = {0, 0, 99, 1, 1, 99, 4, 4, 99}, c[] = {0, 0, 3, 3};
    CHECK_OK(ar_metric_ssd(x, 3, 2, 3, c, 2, &v));
    CHECK_REL(v, 4.0, REL); /* 0 + min(2, 8) + min(32, 2) */
    CHECK_OK(ar_metric_msd(x, 3, 2, 3, c, 2, &v));
    CHECK_REL(v, 4.0 / 3.0, REL);
    CHECK_OK(ar_metric_ssd(x + 3, 1, 2, 3, c, 1, &v)); /* n = 1, k = 1 */
    CHECK_REL(v, 2.0, REL);
    CHECK_ERR(ar_metric_ssd(x, 0, 2, 3, c, 2, &v), AR_ERR_INVALID, "empty");
    CHECK_ERR(ar_metric_ssd(x, 3, 2, 1, c, 2, &v), AR_ERR_INVALID, "stride");
    CHECK_ERR(ar_metric_msd(x, 3, 2, 3, c, 0, &v), AR_ERR_INVALID, "k >= 1");
    const float xn[] = {0, NAN};
    CHECK_ERR(ar_metric_ssd(xn, 1, 2, 2, c, 2, &v), AR_ERR_INVALID, "x[0][1] = nan");
    /* Many rows across threads agree with the serial sum. */
    enum {
        M = 1000
    };
    static float big[M * 2];
    double want = 0;
    for (int i = 0; i < M; i++) {
        big[2 * i] = (float)(i % 7);
        big[2 * i + 1] = (float)(i % 5);
        double d0 = (double)big[2 * i] * big[2 * i] + (double)big[2 * i + 1] * big[2 * i + 1];
        double d1 = pow(big[2 * i] - 3.0, 2) + pow(big[2 * i + 1] - 3.0, 2);
        want += fmin(d0, d1);
    }
    CHECK_OK(ar_metric_ssd(big, M, 2, 2, c, 2, &v));
    CHECK_REL(v, want, REL);
}

void test_suite_metrics(void)
{
    test_auc();
    test_average_precision();
    test_logloss_error();
    test_confusion();
    test_multiclass();
    test_regression();
    test_deviances();
    test_cluster();
}
