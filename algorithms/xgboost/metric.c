/* Evaluation metrics with XGBoost 1.7.4's definitions (src/metric/elementwise_metric.cu,
 * multiclass_metric.cu, auc.cc): weighted means in double of float per-row losses with
 * XGBoost's clamps, AUC/AUC-PR over groups of tied scores, and the SageMaker container's
 * margin-based classification and regression metrics (accuracy, f1, precision, recall, r2,
 * mse: class = margin > 0 or argmax of the margins, unweighted as the container computes
 * them with scikit-learn). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"

static float row_loss(const struct ar_gbt_metric *m, float y, float p)
{
    const float eps = 1e-16f;
    switch (m->kind) {
    case AR_GBT_M_RMSE:
    case AR_GBT_M_MSE: {
        float d = p - y;
        return d * d;
    }
    case AR_GBT_M_RMSLE: {
        float d = log1pf(p) - log1pf(y);
        return d * d;
    }
    case AR_GBT_M_MAE:
        return fabsf(y - p);
    case AR_GBT_M_MAPE:
        return fabsf((y - p) / y);
    case AR_GBT_M_MPHE: {
        float z = p - y;
        return sqrtf(1.0f + z * z) - 1.0f;
    }
    case AR_GBT_M_LOGLOSS: {
        float pneg = 1.0f - p;
        if (p < eps)
            return -y * logf(eps) - (1.0f - y) * logf(1.0f - eps);
        if (pneg < eps)
            return -y * logf(1.0f - eps) - (1.0f - y) * logf(eps);
        /* a 0/1 label zeroes one term: skip its logarithm (the value differs at most in the
         * sign of a zero, which the weighted double sum absorbs) */
        if (y == 0.0f)
            return 0.0f - logf(pneg);
        if (y == 1.0f)
            return -logf(p);
        return -y * logf(p) - (1.0f - y) * logf(pneg);
    }
    case AR_GBT_M_ERROR:
        return p > (float)m->arg ? 1.0f - y : y;
    case AR_GBT_M_POISSON_NLOGLIK:
        if (p < eps)
            p = eps;
        return lgammaf(y + 1.0f) + p - logf(p) * y;
    case AR_GBT_M_GAMMA_NLOGLIK: {
        float theta = -1.0f / p;
        float b = -logf(-theta);
        float c = logf(y) - logf(y) - lgammaf(1.0f);
        return -((y * theta - b) + c);
    }
    case AR_GBT_M_GAMMA_DEVIANCE: {
        float t = y / (p + 1.0e-9f);
        return t - logf(t) - 1.0f;
    }
    case AR_GBT_M_TWEEDIE_NLOGLIK: {
        float rho = (float)m->arg;
        float a = y * expf((1.0f - rho) * logf(p)) / (1.0f - rho);
        float b = expf((2.0f - rho) * logf(p)) / (2.0f - rho);
        return -a + b;
    }
    default:
        return 0.0f;
    }
}

/* Descending by score, then ascending by index (a total order: qsort is not stable). */
static int cmp_desc(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    if (x != y)
        return (x < y) - (x > y);
    const uint32_t i = ((const uint32_t *)a)[1], j = ((const uint32_t *)b)[1];
    return (i > j) - (i < j);
}

/* The area one step between two distinct scores adds: XGBoost's interpolated precision-recall
 * segment for aucpr, a trapezoid of the ROC curve for auc. */
static double segment_area(bool pr, double total_pos, double fp_prev, double tp_prev, double fp,
                           double tp)
{
    if (!pr)
        return fabs(fp - fp_prev) * (tp + tp_prev) / 2.0;
    double pr_prev = tp_prev / total_pos, prc = tp / total_pos;
    double h = 0, a, b;
    if (tp == tp_prev) {
        a = 1.0;
        b = 0.0;
    } else {
        h = (fp - fp_prev) / (tp - tp_prev);
        a = 1.0 + h;
        b = (fp_prev - h * tp_prev) / total_pos;
    }
    if (b != 0.0)
        return (prc - pr_prev - b / a * (log(a * prc + b) - log(a * pr_prev + b))) / a;
    return (prc - pr_prev) / a;
}

/* AUC (ROC or PR) as XGBoost's BinaryAUC: sort by score descending, one area term per group
 * of equal scores. */
static int auc_eval(bool pr, const float *y, const float *score, const float *w, size_t n,
                    double *out)
{
    uint32_t *idx = ar_allocn(n ? n : 1, sizeof *idx);
    if (!idx)
        return AR_ERR_NOMEM;
    double total_pos = 0.0, total_neg = 0.0;
    for (size_t i = 0; i < n; i++) {
        idx[i] = (uint32_t)i;
        double wi = w ? (double)w[i] : 1.0;
        total_pos += wi * (double)y[i];
        total_neg += wi * (1.0 - (double)y[i]);
    }
    if (!(total_pos > 0.0) || !(total_neg > 0.0)) {
        ar_free(idx);
        return ar_err_set(AR_ERR_INVALID,
                          "%s: the dataset only contains %s samples, so the metric is undefined",
                          pr ? "aucpr" : "auc", total_pos > 0.0 ? "positive" : "negative");
    }
    /* sort indices by descending score (stable merge via qsort on (score, index)) */
    struct si {
        float s;
        uint32_t i;
    } *v = ar_allocn(n, sizeof *v);
    if (!v) {
        ar_free(idx);
        return AR_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].i = (uint32_t)i;
    }
    qsort(v, n, sizeof *v, cmp_desc);
    double auc = 0.0, fp = 0.0, tp = 0.0, fp_prev = 0.0, tp_prev = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && v[k].s != v[k - 1].s) {
            auc += segment_area(pr, total_pos, fp_prev, tp_prev, fp, tp);
            tp_prev = tp;
            fp_prev = fp;
        }
        uint32_t i = v[k].i;
        double wi = w ? (double)w[i] : 1.0;
        fp += (1.0 - (double)y[i]) * wi;
        tp += (double)y[i] * wi;
    }
    auc += segment_area(pr, total_pos, fp_prev, tp_prev, fp, tp);
    *out = pr ? auc : auc / (fp * tp);
    ar_free(v);
    ar_free(idx);
    return AR_OK;
}

/* Predicted class of row i from margins (container metrics). */
static int margin_class(const float *margin, int k, size_t i)
{
    if (k == 1)
        return margin[i] > 0.0f;
    const float *r = margin + i * (size_t)k;
    int arg = 0;
    for (int c = 1; c < k; c++)
        if (r[c] > r[arg])
            arg = c;
    return arg;
}

static int container_metric(const struct ar_gbt_metric *m, int k, const float *labels,
                            const float *margin, size_t n, double *out)
{
    int nc = k == 1 ? 2 : k;
    double *tp = ar_callocn((size_t)nc * 3, sizeof *tp);
    if (!tp)
        return AR_ERR_NOMEM;
    double *fp = tp + nc, *fn = fp + nc;
    double correct = 0;
    for (size_t i = 0; i < n; i++) {
        int y = (int)labels[i], p = margin_class(margin, k, i);
        if (y < 0 || y >= nc) {
            ar_free(tp);
            return ar_err_set(AR_ERR_INVALID, "%s: label %g of row %zu is not a class in [0, %d)",
                              m->name, (double)labels[i], i + 1, nc);
        }
        if (y == p) {
            tp[y] += 1;
            correct += 1;
        } else {
            fp[p] += 1;
            fn[y] += 1;
        }
    }
    double sum = 0;
    int present = 0;
    switch (m->kind) {
    case AR_GBT_M_ACCURACY:
    case AR_GBT_M_PRECISION_MICRO:
    case AR_GBT_M_RECALL_MICRO:
        *out = correct / (double)n;
        break;
    case AR_GBT_M_BALANCED_ACCURACY:
        for (int c = 0; c < nc; c++)
            if (tp[c] + fn[c] > 0) {
                sum += tp[c] / (tp[c] + fn[c]);
                present++;
            }
        *out = present ? sum / present : 0.0;
        break;
    case AR_GBT_M_PRECISION:
        *out = tp[1] + fp[1] > 0 ? tp[1] / (tp[1] + fp[1]) : 0.0;
        break;
    case AR_GBT_M_RECALL:
        *out = tp[1] + fn[1] > 0 ? tp[1] / (tp[1] + fn[1]) : 0.0;
        break;
    case AR_GBT_M_F1_BINARY:
        *out = 2 * tp[1] + fp[1] + fn[1] > 0 ? 2 * tp[1] / (2 * tp[1] + fp[1] + fn[1]) : 0.0;
        break;
    case AR_GBT_M_PRECISION_MACRO:
    case AR_GBT_M_RECALL_MACRO:
    case AR_GBT_M_F1_MACRO:
        for (int c = 0; c < nc; c++) {
            double v;
            if (m->kind == AR_GBT_M_PRECISION_MACRO)
                v = tp[c] + fp[c] > 0 ? tp[c] / (tp[c] + fp[c]) : 0.0;
            else if (m->kind == AR_GBT_M_RECALL_MACRO)
                v = tp[c] + fn[c] > 0 ? tp[c] / (tp[c] + fn[c]) : 0.0;
            else
                v = 2 * tp[c] + fp[c] + fn[c] > 0 ? 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) : 0.0;
            sum += v;
        }
        *out = sum / nc;
        break;
    default:
        break;
    }
    ar_free(tp);
    return AR_OK;
}

int ar_gbt_metric_eval(const struct ar_gbt_metric *m, enum ar_gbt_obj obj, int n_groups,
                       const float *labels, const float *weights, const float *pred,
                       const float *margin, size_t n, double *out)
{
    (void)obj;
    if (n == 0)
        return ar_err_set(AR_ERR_INVALID, "%s: no rows to evaluate", m->name);
    const size_t k = (size_t)n_groups;
    switch (m->kind) {
    case AR_GBT_M_AUC:
    case AR_GBT_M_AUCPR:
        return auc_eval(m->kind == AR_GBT_M_AUCPR, labels, pred, weights, n, out);
    case AR_GBT_M_MERROR:
    case AR_GBT_M_MLOGLOSS: {
        double s = 0.0, ws = 0.0;
        for (size_t i = 0; i < n; i++) {
            int y = (int)labels[i];
            if (y < 0 || (size_t)y >= k)
                return ar_err_set(AR_ERR_INVALID,
                                  "%s: label must be in [0, num_class) (row %zu has label %g)",
                                  m->name, i + 1, (double)labels[i]);
            const float *r = pred + i * k;
            float loss;
            if (m->kind == AR_GBT_M_MLOGLOSS) {
                float p = r[y];
                loss = -logf(p > 1e-16f ? p : 1e-16f);
            } else {
                size_t arg = 0;
                for (size_t c = 1; c < k; c++)
                    if (r[c] > r[arg])
                        arg = c;
                loss = arg != (size_t)y ? 1.0f : 0.0f;
            }
            double w = weights ? (double)weights[i] : 1.0;
            s += (double)loss * w;
            ws += w;
        }
        *out = s / ws;
        return AR_OK;
    }
    case AR_GBT_M_R2: {
        double mean = 0.0, ss_res = 0.0, ss_tot = 0.0;
        for (size_t i = 0; i < n; i++)
            mean += (double)labels[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = (double)labels[i] - (double)margin[i], t = (double)labels[i] - mean;
            ss_res += d * d;
            ss_tot += t * t;
        }
        *out = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
        return AR_OK;
    }
    case AR_GBT_M_MSE: {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = (double)labels[i] - (double)margin[i];
            s += d * d;
        }
        *out = s / (double)n;
        return AR_OK;
    }
    case AR_GBT_M_ACCURACY:
    case AR_GBT_M_BALANCED_ACCURACY:
    case AR_GBT_M_F1_BINARY:
    case AR_GBT_M_F1_MACRO:
    case AR_GBT_M_PRECISION:
    case AR_GBT_M_PRECISION_MACRO:
    case AR_GBT_M_PRECISION_MICRO:
    case AR_GBT_M_RECALL:
    case AR_GBT_M_RECALL_MACRO:
    case AR_GBT_M_RECALL_MICRO:
        return container_metric(m, n_groups, labels, margin, n, out);
    default: {
        double s = 0.0, ws = 0.0;
        for (size_t i = 0; i < n; i++) {
            double w = weights ? (double)weights[i] : 1.0;
            s += (double)row_loss(m, labels[i], pred[i]) * w;
            ws += w;
        }
        if (!(ws > 0.0))
            return ar_err_set(AR_ERR_INVALID, "%s: the weights sum to zero", m->name);
        double v = s / ws;
        if (m->kind == AR_GBT_M_RMSE || m->kind == AR_GBT_M_RMSLE)
            v = sqrt(v);
        else if (m->kind == AR_GBT_M_GAMMA_DEVIANCE)
            v = 2.0 * v;
        *out = v;
        return AR_OK;
    }
    }
}
