/* Evaluation metrics shared by every algorithm.
 *
 * Conventions: `y` holds labels (0/1 for binary, class index 0..k-1 as float for multiclass,
 * real values for regression), `p` predictions, `w` optional instance weights (NULL = every
 * weight 1). Results are double and are formed with compensated (Neumaier) summation, so they
 * match scikit-learn on the same float32 inputs to ~1e-12 relative. Every function returns
 * AR_OK or AR_ERR_INVALID with a message: empty input, a zero total weight, a negative weight,
 * labels outside the metric's domain, or an undefined value (AUC with one class) are errors,
 * never a NaN result. Definitions follow scikit-learn where it has the metric and XGBoost 1.7
 * otherwise (noted per function).
 */
#ifndef AR_CORE_METRICS_H
#define AR_CORE_METRICS_H

#include <stddef.h>

/* ---- binary classification (labels 0/1) ---- */

/* ROC AUC from scores, exact, ties as scikit-learn's roc_auc_score (trapezoids between
 * distinct thresholds), weighted as its sample_weight. Errors when only one class is present. */
int ar_metric_auc(const float *y, const float *score, const float *w, size_t n, double *out);
/* Average precision as scikit-learn's average_precision_score (step sum, no interpolation). */
int ar_metric_average_precision(const float *y, const float *score, const float *w, size_t n,
                                double *out);
/* Mean binary cross-entropy of probabilities p, clipped to [eps, 1 - eps] (scikit-learn uses
 * 1e-15; XGBoost's logloss uses 1e-16). */
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
/* From counts, as scikit-learn with zero_division=0 (an undefined ratio is 0). */
double ar_metric_precision(const struct ar_confusion *c);
double ar_metric_recall(const struct ar_confusion *c);
double ar_metric_fbeta(const struct ar_confusion *c, double beta);

/* ---- any classification (labels are class indices) ---- */

/* Weighted fraction of pred == y. */
int ar_metric_accuracy(const float *y, const float *pred, const float *w, size_t n, double *out);
/* Macro-averaged precision, recall and F-beta over classes 0..k-1 as scikit-learn's
 * precision_recall_fscore_support(average="macro", labels=range(k), zero_division=0).
 * Any output pointer may be NULL. */
int ar_metric_macro_prf(const float *y, const float *pred, const float *w, size_t n, size_t k,
                        double beta, double *precision, double *recall, double *fbeta);
/* Multiclass log loss of row-major n x k probabilities, clipped to [eps, 1-eps] then
 * renormalised per row as scikit-learn's log_loss does. */
int ar_metric_mlogloss(const float *y, const float *prob, size_t k, const float *w, size_t n,
                       double eps, double *out);
/* Weighted fraction whose argmax over the k scores differs from y (XGBoost merror; ties go to
 * the lowest index). */
int ar_metric_merror(const float *y, const float *prob, size_t k, const float *w, size_t n,
                     double *out);
/* Fraction whose label is among the top_k highest of the k scores, as scikit-learn's
 * top_k_accuracy_score. */
int ar_metric_top_k_accuracy(const float *y, const float *score, size_t k, size_t top_k,
                             const float *w, size_t n, double *out);

/* ---- regression ---- */

int ar_metric_mse(const float *y, const float *p, const float *w, size_t n, double *out);
int ar_metric_rmse(const float *y, const float *p, const float *w, size_t n, double *out);
int ar_metric_mae(const float *y, const float *p, const float *w, size_t n, double *out);
/* Mean |y - p| / max(|y|, DBL_EPSILON): scikit-learn's mean_absolute_percentage_error. */
int ar_metric_mape(const float *y, const float *p, const float *w, size_t n, double *out);
/* Coefficient of determination, as scikit-learn's r2_score (constant y: 1 if perfect else 0). */
int ar_metric_r2(const float *y, const float *p, const float *w, size_t n, double *out);
/* sqrt(mean (log1p(p) - log1p(y))^2); y and p must be > -1 (XGBoost rmsle). */
int ar_metric_rmsle(const float *y, const float *p, const float *w, size_t n, double *out);
/* Mean pseudo-Huber error with slope delta: delta^2 (sqrt(1 + ((p-y)/delta)^2) - 1) (mphe). */
int ar_metric_mphe(const float *y, const float *p, const float *w, size_t n, double delta,
                   double *out);
/* XGBoost poisson-nloglik: mean of lgamma(y + 1) - y log(p) + p, with p floored at 1e-16. */
int ar_metric_poisson_nloglik(const float *y, const float *p, const float *w, size_t n,
                              double *out);
/* XGBoost gamma-nloglik (shape psi = 1): mean of -(-y/p - log p) ... see metrics.c. */
int ar_metric_gamma_nloglik(const float *y, const float *p, const float *w, size_t n, double *out);
/* Gamma deviance: 2 * mean(log(p / y) + y / p - 1) (scikit-learn mean_gamma_deviance;
 * XGBoost's gamma-deviance reports half of this sum over the weights: see metrics.c). */
int ar_metric_gamma_deviance(const float *y, const float *p, const float *w, size_t n, double *out);
/* scikit-learn mean_poisson_deviance and mean_tweedie_deviance(power = rho). */
int ar_metric_poisson_deviance(const float *y, const float *p, const float *w, size_t n,
                               double *out);
int ar_metric_tweedie_deviance(const float *y, const float *p, const float *w, size_t n, double rho,
                               double *out);
/* XGBoost tweedie-nloglik@rho: mean of -y p^(1-rho)/(1-rho) + p^(2-rho)/(2-rho). */
int ar_metric_tweedie_nloglik(const float *y, const float *p, const float *w, size_t n, double rho,
                              double *out);

/* ---- clustering ---- */

/* Sum / mean of squared Euclidean distances of the n rows of x (row stride ldx, d columns) to
 * their nearest of the k centres (row-major k x d), computed in double. */
int ar_metric_ssd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out);
int ar_metric_msd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out);

#endif
