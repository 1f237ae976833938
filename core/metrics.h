/* Evaluation metrics shared by every algorithm.
 *
 * Conventions: `y` holds labels (0/1 for binary, class index 0..k-1 as float for multiclass,
 * real values for regression), `p` predictions, `w` optional instance weights (NULL = every
 * weight 1). All inputs are borrowed for the call; nothing is kept. Results are double and are
 * formed with compensated (Neumaier) summation, so they match scikit-learn on the same float32
 * inputs (converted to double) to ~1e-12 relative.
 *
 * Every function returns AR_OK or AR_ERR_INVALID with a message naming the metric, the row and
 * the value: empty input (n == 0), a negative or non-finite weight, a zero total weight, a
 * non-finite label or prediction (NaN/inf are rejected everywhere, as scikit-learn does),
 * labels outside the metric's domain, a prediction outside the metric's domain, a bad
 * parameter, or an undefined value (AUC with one class) are errors, never a NaN result. On
 * error *out is left untouched. Zero-weight rows still have their domain checked.
 *
 * Definitions follow scikit-learn 1.2 where it has the metric and XGBoost 1.7 otherwise (noted
 * per function; formulas in metrics.c). XGBoost evaluates each row in float; we use double,
 * so XGBoost-only metrics agree with xgboost itself to ~1e-6 relative, and exactly with its
 * formula evaluated in double.
 */
#ifndef AR_CORE_METRICS_H
#define AR_CORE_METRICS_H

#include <stddef.h>

/* ---- binary classification (labels 0/1) ---- */

/* ROC AUC from scores, exact, ties as scikit-learn's roc_auc_score (trapezoids between
 * distinct thresholds), weighted as its sample_weight. Errors when only one class is present
 * or when either class has zero total weight. */
int ar_metric_auc(const float *y, const float *score, const float *w, size_t n, double *out);
/* Average precision as scikit-learn's average_precision_score (step sum over distinct
 * thresholds, no interpolation), weighted. Errors when only one class is present or the
 * positives have zero total weight. */
int ar_metric_average_precision(const float *y, const float *score, const float *w, size_t n,
                                double *out);
/* Mean binary cross-entropy of probabilities p (probability of class 1), clipped to
 * [eps, 1 - eps] as scikit-learn's log_loss(labels=[0, 1], eps=eps) (scikit-learn < 1.2 used
 * 1e-15 by default). Requires 0 <= eps < 0.5. */
int ar_metric_logloss(const float *y, const float *p, const float *w, size_t n, double eps,
                      double *out);
/* Weighted fraction with (p > threshold) != y: XGBoost's error / error@t. */
int ar_metric_error_at(const float *y, const float *p, const float *w, size_t n, double threshold,
                       double *out);

/* Weighted confusion counts for predicted labels (0/1) against true labels (0/1). */
struct ar_confusion {
    double tp, fp, tn, fn;
};
int ar_metric_confusion(const float *y, const float *pred, const float *w, size_t n,
                        struct ar_confusion *out);
/* From counts, as scikit-learn with zero_division=0 (an undefined ratio is 0). fbeta is
 * (1 + b^2) P R / (b^2 P + R), the recall when beta is +inf; beta must be >= 0. */
double ar_metric_precision(const struct ar_confusion *c);
double ar_metric_recall(const struct ar_confusion *c);
double ar_metric_fbeta(const struct ar_confusion *c, double beta);

/* ---- any classification (labels are class indices: non-negative integers) ---- */

/* Weighted fraction of pred == y. */
int ar_metric_accuracy(const float *y, const float *pred, const float *w, size_t n, double *out);
/* Macro-averaged precision, recall and F-beta over classes 0..k-1 as scikit-learn's
 * precision_recall_fscore_support(average="macro", labels=range(k), zero_division=0); y and
 * pred must be in [0, k), beta >= 0 (+inf allowed). Any output pointer may be NULL. */
int ar_metric_macro_prf(const float *y, const float *pred, const float *w, size_t n, size_t k,
                        double beta, double *precision, double *recall, double *fbeta);
/* Multiclass log loss of row-major n x k probabilities, each clipped to [eps, 1-eps], then
 * renormalised per row, as scikit-learn's log_loss(labels=range(k), eps=eps):
 * mean of -log(clip(p_y) / sum_j clip(p_j)). k >= 2, 0 <= eps < 0.5. */
int ar_metric_mlogloss(const float *y, const float *prob, size_t k, const float *w, size_t n,
                       double eps, double *out);
/* Weighted fraction whose argmax over the k scores differs from y (XGBoost merror; ties go to
 * the lowest index). */
int ar_metric_merror(const float *y, const float *prob, size_t k, const float *w, size_t n,
                     double *out);
/* Weighted fraction whose label is among the top_k highest of the k scores, as scikit-learn's
 * top_k_accuracy_score for multiclass input: scores are ranked by a stable ascending sort
 * reversed, so among equal scores the higher class index ranks first. Label y is a hit when
 * #{j: s_j > s_y} + #{j > y: s_j == s_y} < top_k. top_k >= 1; top_k >= k gives 1. */
int ar_metric_top_k_accuracy(const float *y, const float *score, size_t k, size_t top_k,
                             const float *w, size_t n, double *out);

/* ---- regression ---- */

/* Weighted mean of (y - p)^2, its square root, and mean |y - p| (scikit-learn / XGBoost). */
int ar_metric_mse(const float *y, const float *p, const float *w, size_t n, double *out);
int ar_metric_rmse(const float *y, const float *p, const float *w, size_t n, double *out);
int ar_metric_mae(const float *y, const float *p, const float *w, size_t n, double *out);
/* Mean |y - p| / max(|y|, DBL_EPSILON): scikit-learn's mean_absolute_percentage_error
 * (not XGBoost's mape, which divides by |y| itself). */
int ar_metric_mape(const float *y, const float *p, const float *w, size_t n, double *out);
/* Coefficient of determination, as scikit-learn's r2_score: 1 - sum w (y-p)^2 /
 * sum w (y - ybar)^2. When y is constant over the positive-weight rows: 1 if every
 * positive-weight prediction is exact, else 0. Needs n >= 2 (scikit-learn returns NaN). */
int ar_metric_r2(const float *y, const float *p, const float *w, size_t n, double *out);
/* sqrt(mean (log1p(p) - log1p(y))^2); y and p must be > -1 (XGBoost rmsle). */
int ar_metric_rmsle(const float *y, const float *p, const float *w, size_t n, double *out);
/* Mean pseudo-Huber error with slope delta > 0 (XGBoost mphe with huber_slope = delta):
 * delta^2 (sqrt(1 + ((y - p)/delta)^2) - 1). */
int ar_metric_mphe(const float *y, const float *p, const float *w, size_t n, double delta,
                   double *out);
/* XGBoost poisson-nloglik: mean of lgamma(y + 1) + p - y log(p), with p floored at 1e-16.
 * y >= 0, p >= 0. */
int ar_metric_poisson_nloglik(const float *y, const float *p, const float *w, size_t n,
                              double *out);
/* XGBoost gamma-nloglik (dispersion 1): mean of y / p + log(p), with p floored at 1e-6.
 * y > 0, p >= 0. */
int ar_metric_gamma_nloglik(const float *y, const float *p, const float *w, size_t n, double *out);
/* scikit-learn mean_gamma_deviance: mean of 2 (log(p / y) + y / p - 1); y > 0 and p > 0. */
int ar_metric_gamma_deviance(const float *y, const float *p, const float *w, size_t n, double *out);
/* XGBoost gamma-deviance: the same with y and p shifted by 1e-6 (y' = y + 1e-6,
 * p' = p + 1e-6): 2 sum w (log(p'/y') + y'/p' - 1) / sum w; y >= 0 and p >= 0. */
int ar_metric_gamma_deviance_xgb(const float *y, const float *p, const float *w, size_t n,
                                 double *out);
/* scikit-learn mean_poisson_deviance (y >= 0, p > 0) and mean_tweedie_deviance(power = rho):
 * rho < 0 needs p > 0; rho == 0 any; 0 < rho < 1 is an error; 1 <= rho < 2 needs y >= 0 and
 * p > 0; rho >= 2 needs y > 0 and p > 0. */
int ar_metric_poisson_deviance(const float *y, const float *p, const float *w, size_t n,
                               double *out);
int ar_metric_tweedie_deviance(const float *y, const float *p, const float *w, size_t n, double rho,
                               double *out);
/* XGBoost tweedie-nloglik@rho: mean of -y p^(1-rho)/(1-rho) + p^(2-rho)/(2-rho), with
 * 1 < rho < 2 (XGBoost accepts rho = 1, where the value is infinite), y >= 0, p > 0. */
int ar_metric_tweedie_nloglik(const float *y, const float *p, const float *w, size_t n, double rho,
                              double *out);

/* ---- clustering ---- */

/* Sum / mean of squared Euclidean distances of the n rows of x (row stride ldx >= d, d >= 1
 * columns) to their nearest of the k >= 1 centres (row-major k x d), computed in double.
 * Rows are split across ar_par_threads() threads; partials merge in thread order. */
int ar_metric_ssd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out);
int ar_metric_msd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out);

#endif
