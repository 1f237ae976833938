/* Evaluation metrics: ranking (AUC, average precision), classification, regression, deviances
 * and clustering distances, with scikit-learn's or XGBoost 1.7's definitions.
 *
 * Every sum goes through a Neumaier accumulator in double. Row-wise means share one driver
 * (ewise_mean) that validates the input, evaluates a per-row loss and divides the weighted sum
 * by the total weight, exactly as XGBoost's GetFinal(esum, wsum) = esum / wsum and
 * scikit-learn's np.average(loss, weights=w).
 */
#include "core/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

/* ---- compensated summation ---- */

struct ksum {
    double s, c;
};

static inline void ksum_add(struct ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static inline double ksum_get(const struct ksum *k)
{
    return k->s + k->c;
}

/* ---- shared input checks ---- */

static double weight_at(const float *w, size_t i)
{
    return w ? (double)w[i] : 1.0;
}

/* n > 0, every weight finite and >= 0, total weight > 0; stores the total. */
static int check_weights(const char *name, const float *w, size_t n, double *total)
{
    if (n == 0)
        return ar_err_set(AR_ERR_INVALID, "%s: empty input (n = 0)", name);
    if (!w) {
        *total = (double)n;
        return AR_OK;
    }
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i]) || w[i] < 0.0f)
            return ar_err_set(AR_ERR_INVALID,
                              "%s: weight[%zu] = %g: weights must be finite and >= 0", name, i,
                              (double)w[i]);
        ksum_add(&s, (double)w[i]);
    }
    double t = ksum_get(&s);
    if (!(t > 0))
        return ar_err_set(AR_ERR_INVALID, "%s: total weight is 0 (all %zu weights are 0)", name, n);
    *total = t;
    return AR_OK;
}

static int check_finite(const char *name, const char *what, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return ar_err_set(AR_ERR_INVALID, "%s: %s[%zu] = %g is not finite", name, what, i,
                              (double)v[i]);
    return AR_OK;
}

static int check_binary(const char *name, const char *what, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != 0.0f && v[i] != 1.0f)
            return ar_err_set(AR_ERR_INVALID, "%s: %s[%zu] = %g: must be 0 or 1", name, what, i,
                              (double)v[i]);
    return AR_OK;
}

/* Class indices: integers in [0, k) (k == 0: any non-negative integer). */
static int check_class(const char *name, const char *what, const float *v, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++) {
        float x = v[i];
        if (!isfinite(x) || x < 0.0f || x != floorf(x) || (k > 0 && (double)x >= (double)k)) {
            if (k > 0)
                return ar_err_set(AR_ERR_INVALID,
                                  "%s: %s[%zu] = %g: must be an integer class index in [0, %zu)",
                                  name, what, i, (double)x, k);
            return ar_err_set(AR_ERR_INVALID,
                              "%s: %s[%zu] = %g: must be a non-negative integer class index", name,
                              what, i, (double)x);
        }
    }
    return AR_OK;
}

/* ---- element-wise means ---- */

/* Per-row loss; returns NULL or the rule the row broke (the driver adds metric, row, values).
 * `prm` is the metric's scalar parameter (eps, threshold, delta, rho), unused by most. */
typedef const char *(*row_loss_fn)(double y, double p, double prm, double *loss);

static int ewise_sum(const char *name, const float *y, const float *p, const float *w, size_t n,
                     row_loss_fn fn, double prm, double *esum, double *wsum)
{
    AR_TRY(check_weights(name, w, n, wsum));
    AR_TRY(check_finite(name, "y", y, n));
    AR_TRY(check_finite(name, "p", p, n));
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++) {
        double loss;
        const char *bad = fn((double)y[i], (double)p[i], prm, &loss);
        if (bad)
            return ar_err_set(AR_ERR_INVALID, "%s: row %zu (y = %g, p = %g): %s", name, i,
                              (double)y[i], (double)p[i], bad);
        ksum_add(&s, weight_at(w, i) * loss);
    }
    *esum = ksum_get(&s);
    return AR_OK;
}

static int ewise_mean(const char *name, const float *y, const float *p, const float *w, size_t n,
                      row_loss_fn fn, double prm, double *out)
{
    double esum, wsum;
    AR_TRY(ewise_sum(name, y, p, w, n, fn, prm, &esum, &wsum));
    *out = esum / wsum;
    return AR_OK;
}

/* ---- ranking: AUC and average precision ---- */

struct scored {
    float s, y, w;
};

static int scored_cmp_desc(const void *a, const void *b)
{
    float x = ((const struct scored *)a)->s, z = ((const struct scored *)b)->s;
    return (x < z) - (x > z);
}

/* Validates (y 0/1, finite scores, weights), then sorts (score, y, w) by score descending.
 * *pos / *neg are the weighted class totals; both classes must be present by count. */
static int ranked_new(const char *name, const float *y, const float *score, const float *w,
                      size_t n, struct scored **out, double *pos, double *neg)
{
    double wsum;
    AR_TRY(check_weights(name, w, n, &wsum));
    AR_TRY(check_binary(name, "y", y, n));
    AR_TRY(check_finite(name, "score", score, n));
    size_t n_pos = 0;
    struct ksum sp = {0, 0}, sn = {0, 0};
    for (size_t i = 0; i < n; i++) {
        n_pos += y[i] == 1.0f;
        ksum_add(y[i] == 1.0f ? &sp : &sn, weight_at(w, i));
    }
    if (n_pos == 0 || n_pos == n)
        return ar_err_set(AR_ERR_INVALID,
                          "%s: only one class present in y (all %zu labels are %d): undefined",
                          name, n, n_pos ? 1 : 0);
    struct scored *r = ar_allocn(n, sizeof *r);
    if (!r)
        return AR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        r[i] = (struct scored){score[i], y[i], w ? w[i] : 1.0f};
    qsort(r, n, sizeof *r, scored_cmp_desc);
    *out = r;
    *pos = ksum_get(&sp);
    *neg = ksum_get(&sn);
    return AR_OK;
}

/* Walks the distinct thresholds from the highest score down. At the end of each tie group,
 * tp / fp are the weighted positives / negatives scored >= that threshold (scikit-learn's
 * _binary_clf_curve). AUC: trapezoids between consecutive (fp, tp) points, from (0, 0), over
 * pos * neg. AP: sum over groups of (tp - tp_prev) / pos * tp / (tp + fp). */
static void ranked_sweep(const struct scored *r, size_t n, double *area, double *ap)
{
    struct ksum tp = {0, 0}, fp = {0, 0}, a = {0, 0}, s = {0, 0};
    double tp_prev = 0, fp_prev = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && r[j].s == r[i].s; j++)
            ksum_add(r[j].y == 1.0f ? &tp : &fp, (double)r[j].w);
        double t = ksum_get(&tp), f = ksum_get(&fp);
        ksum_add(&a, (f - fp_prev) * (t + tp_prev) * 0.5);
        if (t > tp_prev)
            ksum_add(&s, (t - tp_prev) * (t / (t + f)));
        tp_prev = t;
        fp_prev = f;
        i = j;
    }
    *area = ksum_get(&a);
    *ap = ksum_get(&s);
}

int ar_metric_auc(const float *y, const float *score, const float *w, size_t n, double *out)
{
    struct scored *r;
    double pos, neg, area, ap;
    AR_TRY(ranked_new("auc", y, score, w, n, &r, &pos, &neg));
    if (!(pos > 0) || !(neg > 0)) {
        ar_free(r);
        return ar_err_set(AR_ERR_INVALID, "auc: the %s have zero total weight: undefined",
                          pos > 0 ? "negatives" : "positives");
    }
    ranked_sweep(r, n, &area, &ap);
    ar_free(r);
    *out = area / (pos * neg);
    return AR_OK;
}

int ar_metric_average_precision(const float *y, const float *score, const float *w, size_t n,
                                double *out)
{
    struct scored *r;
    double pos, neg, area, ap;
    AR_TRY(ranked_new("average_precision", y, score, w, n, &r, &pos, &neg));
    if (!(pos > 0)) {
        ar_free(r);
        return ar_err_set(AR_ERR_INVALID,
                          "average_precision: the positives have zero total weight: undefined");
    }
    ranked_sweep(r, n, &area, &ap);
    ar_free(r);
    *out = ap / pos;
    return AR_OK;
}

/* ---- binary classification ---- */

/* scikit-learn log_loss on a 1-D probability: q = clip(p, eps, 1 - eps), the row becomes
 * (1 - q, q), is divided by its sum, and the loss is -log of the true class's entry. */
static const char *row_logloss(double y, double p, double eps, double *loss)
{
    if (y != 0.0 && y != 1.0)
        return "label must be 0 or 1";
    double q = fmin(fmax(p, eps), 1.0 - eps);
    double s = (1.0 - q) + q;
    *loss = -log((y == 1.0 ? q : 1.0 - q) / s);
    return NULL;
}

int ar_metric_logloss(const float *y, const float *p, const float *w, size_t n, double eps,
                      double *out)
{
    if (!(eps >= 0 && eps < 0.5))
        return ar_err_set(AR_ERR_INVALID, "logloss: eps = %g must be in [0, 0.5)", eps);
    return ewise_mean("logloss", y, p, w, n, row_logloss, eps, out);
}

/* XGBoost EvalError: pred > t ? 1 - label : label. */
static const char *row_error(double y, double p, double t, double *loss)
{
    if (y != 0.0 && y != 1.0)
        return "label must be 0 or 1";
    *loss = p > t ? 1.0 - y : y;
    return NULL;
}

int ar_metric_error_at(const float *y, const float *p, const float *w, size_t n, double threshold,
                       double *out)
{
    if (!isfinite(threshold))
        return ar_err_set(AR_ERR_INVALID, "error: threshold %g is not finite", threshold);
    return ewise_mean("error", y, p, w, n, row_error, threshold, out);
}

int ar_metric_confusion(const float *y, const float *pred, const float *w, size_t n,
                        struct ar_confusion *out)
{
    double wsum;
    AR_TRY(check_weights("confusion", w, n, &wsum));
    AR_TRY(check_binary("confusion", "y", y, n));
    AR_TRY(check_binary("confusion", "pred", pred, n));
    struct ksum c[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}}; /* index 2 * y + pred */
    for (size_t i = 0; i < n; i++)
        ksum_add(&c[2 * (y[i] == 1.0f) + (pred[i] == 1.0f)], weight_at(w, i));
    out->tn = ksum_get(&c[0]);
    out->fp = ksum_get(&c[1]);
    out->fn = ksum_get(&c[2]);
    out->tp = ksum_get(&c[3]);
    return AR_OK;
}

static double ratio0(double num, double den)
{
    return den == 0 ? 0.0 : num / den;
}

/* scikit-learn's F-beta from precision and recall (zero_division = 0). */
static double fbeta_from(double prec, double rec, double beta)
{
    if (isinf(beta))
        return rec;
    double b2 = beta * beta, den = b2 * prec + rec;
    return den == 0 ? 0.0 : (1 + b2) * prec * rec / den;
}

double ar_metric_precision(const struct ar_confusion *c)
{
    return ratio0(c->tp, c->tp + c->fp);
}

double ar_metric_recall(const struct ar_confusion *c)
{
    return ratio0(c->tp, c->tp + c->fn);
}

double ar_metric_fbeta(const struct ar_confusion *c, double beta)
{
    return fbeta_from(ar_metric_precision(c), ar_metric_recall(c), beta);
}

/* ---- any classification ---- */

int ar_metric_accuracy(const float *y, const float *pred, const float *w, size_t n, double *out)
{
    double wsum;
    AR_TRY(check_weights("accuracy", w, n, &wsum));
    AR_TRY(check_class("accuracy", "y", y, n, 0));
    AR_TRY(check_class("accuracy", "pred", pred, n, 0));
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (y[i] == pred[i])
            ksum_add(&s, weight_at(w, i));
    *out = ksum_get(&s) / wsum;
    return AR_OK;
}

int ar_metric_macro_prf(const float *y, const float *pred, const float *w, size_t n, size_t k,
                        double beta, double *precision, double *recall, double *fbeta)
{
    const char *name = "macro_prf";
    double wsum;
    if (k == 0)
        return ar_err_set(AR_ERR_INVALID, "%s: number of classes k must be >= 1", name);
    if (!(beta >= 0))
        return ar_err_set(AR_ERR_INVALID, "%s: beta = %g must be >= 0", name, beta);
    AR_TRY(check_weights(name, w, n, &wsum));
    AR_TRY(check_class(name, "y", y, n, k));
    AR_TRY(check_class(name, "pred", pred, n, k));
    /* Per class: true positives, predicted count, true count. */
    struct ksum *acc = ar_callocn(3 * k, sizeof *acc);
    if (!acc)
        return AR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t cy = (size_t)y[i], cp = (size_t)pred[i];
        double wi = weight_at(w, i);
        if (cy == cp)
            ksum_add(&acc[3 * cy], wi);
        ksum_add(&acc[3 * cp + 1], wi);
        ksum_add(&acc[3 * cy + 2], wi);
    }
    struct ksum sp = {0, 0}, sr = {0, 0}, sf = {0, 0};
    for (size_t c = 0; c < k; c++) {
        double tp = ksum_get(&acc[3 * c]);
        double pc = ratio0(tp, ksum_get(&acc[3 * c + 1]));
        double rc = ratio0(tp, ksum_get(&acc[3 * c + 2]));
        ksum_add(&sp, pc);
        ksum_add(&sr, rc);
        ksum_add(&sf, fbeta_from(pc, rc, beta));
    }
    ar_free(acc);
    if (precision)
        *precision = ksum_get(&sp) / (double)k;
    if (recall)
        *recall = ksum_get(&sr) / (double)k;
    if (fbeta)
        *fbeta = ksum_get(&sf) / (double)k;
    return AR_OK;
}

/* Shared checks for the n x k score matrices. */
static int check_matrix(const char *name, const float *y, const float *m, size_t k, size_t kmin,
                        const float *w, size_t n, double *wsum)
{
    if (k < kmin)
        return ar_err_set(AR_ERR_INVALID, "%s: number of classes k = %zu must be >= %zu", name, k,
                          kmin);
    AR_TRY(check_weights(name, w, n, wsum));
    AR_TRY(check_class(name, "y", y, n, k));
    size_t nk;
    if (ar_mul_overflow(n, k, &nk))
        return ar_err_set(AR_ERR_INVALID, "%s: n x k = %zu x %zu overflows", name, n, k);
    for (size_t i = 0; i < nk; i++)
        if (!isfinite(m[i]))
            return ar_err_set(AR_ERR_INVALID, "%s: score[%zu][%zu] = %g is not finite", name, i / k,
                              i % k, (double)m[i]);
    return AR_OK;
}

int ar_metric_mlogloss(const float *y, const float *prob, size_t k, const float *w, size_t n,
                       double eps, double *out)
{
    double wsum;
    if (!(eps >= 0 && eps < 0.5))
        return ar_err_set(AR_ERR_INVALID, "mlogloss: eps = %g must be in [0, 0.5)", eps);
    AR_TRY(check_matrix("mlogloss", y, prob, k, 2, w, n, &wsum));
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const float *row = prob + i * k;
        struct ksum rs = {0, 0};
        for (size_t j = 0; j < k; j++)
            ksum_add(&rs, fmin(fmax((double)row[j], eps), 1.0 - eps));
        double py = fmin(fmax((double)row[(size_t)y[i]], eps), 1.0 - eps);
        double loss = -log(py / ksum_get(&rs));
        if (!isfinite(loss)) /* only when eps = 0 and the true class has probability 0 */
            return ar_err_set(AR_ERR_INVALID,
                              "mlogloss: row %zu: true class %zu has probability 0 (eps = 0)", i,
                              (size_t)y[i]);
        ksum_add(&s, weight_at(w, i) * loss);
    }
    *out = ksum_get(&s) / wsum;
    return AR_OK;
}

int ar_metric_merror(const float *y, const float *prob, size_t k, const float *w, size_t n,
                     double *out)
{
    double wsum;
    AR_TRY(check_matrix("merror", y, prob, k, 1, w, n, &wsum));
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const float *row = prob + i * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (row[j] > row[best])
                best = j;
        if (best != (size_t)y[i])
            ksum_add(&s, weight_at(w, i));
    }
    *out = ksum_get(&s) / wsum;
    return AR_OK;
}

int ar_metric_top_k_accuracy(const float *y, const float *score, size_t k, size_t top_k,
                             const float *w, size_t n, double *out)
{
    double wsum;
    if (top_k == 0)
        return ar_err_set(AR_ERR_INVALID, "top_k_accuracy: top_k must be >= 1");
    AR_TRY(check_matrix("top_k_accuracy", y, score, k, 1, w, n, &wsum));
    struct ksum s = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const float *row = score + i * k;
        size_t c = (size_t)y[i], ahead = 0;
        for (size_t j = 0; j < k; j++)
            ahead += row[j] > row[c] || (row[j] == row[c] && j > c);
        if (ahead < top_k)
            ksum_add(&s, weight_at(w, i));
    }
    *out = ksum_get(&s) / wsum;
    return AR_OK;
}

/* ---- regression ---- */

static const char *row_se(double y, double p, double prm, double *loss)
{
    (void)prm;
    *loss = (y - p) * (y - p);
    return NULL;
}

static const char *row_ae(double y, double p, double prm, double *loss)
{
    (void)prm;
    *loss = fabs(y - p);
    return NULL;
}

/* scikit-learn: |p - y| / max(|y|, float64 eps). */
static const char *row_ape(double y, double p, double prm, double *loss)
{
    (void)prm;
    *loss = fabs(p - y) / fmax(fabs(y), DBL_EPSILON);
    return NULL;
}

/* XGBoost EvalRowRMSLE: (log1p(y) - log1p(p))^2. */
static const char *row_sle(double y, double p, double prm, double *loss)
{
    (void)prm;
    if (!(y > -1.0))
        return "rmsle needs y > -1";
    if (!(p > -1.0))
        return "rmsle needs p > -1";
    double d = log1p(y) - log1p(p);
    *loss = d * d;
    return NULL;
}

/* XGBoost EvalRowMPHE (1.7, huber_slope = delta): delta^2 (sqrt(1 + ((y - p) / delta)^2) - 1). */
static const char *row_phe(double y, double p, double delta, double *loss)
{
    double z = (y - p) / delta;
    *loss = delta * delta * (sqrt(1.0 + z * z) - 1.0);
    return NULL;
}

/* XGBoost EvalPoissonNegLogLik: p floored at 1e-16; lgamma(y + 1) + p - log(p) y. */
static const char *row_poisson_nll(double y, double p, double prm, double *loss)
{
    (void)prm;
    if (y < 0)
        return "poisson-nloglik needs y >= 0";
    if (p < 0)
        return "poisson-nloglik needs p >= 0";
    p = fmax(p, 1e-16);
    *loss = lgamma(y + 1.0) + p - log(p) * y;
    return NULL;
}

/* XGBoost EvalGammaNLogLik with dispersion psi = 1: p floored at 1e-6, theta = -1/p,
 * b = -log(-theta) = log(p), loss = -(y theta - b) = y / p + log(p). */
static const char *row_gamma_nll(double y, double p, double prm, double *loss)
{
    (void)prm;
    if (!(y > 0))
        return "gamma-nloglik needs y > 0";
    if (p < 0)
        return "gamma-nloglik needs p >= 0";
    p = fmax(p, 1e-6);
    *loss = y / p + log(p);
    return NULL;
}

/* XGBoost EvalGammaDeviance: y' = y + 1e-6, p' = p + 1e-6 (kRtEps); per row
 * log(p'/y') + y'/p' - 1; GetFinal = 2 esum / wsum (the factor 2 is applied by the caller). */
static const char *row_gamma_dev_xgb(double y, double p, double prm, double *loss)
{
    (void)prm;
    if (y < 0)
        return "gamma-deviance needs y >= 0";
    if (p < 0)
        return "gamma-deviance needs p >= 0";
    y += 1e-6;
    p += 1e-6;
    *loss = log(p / y) + y / p - 1.0;
    return NULL;
}

/* scikit-learn _mean_tweedie_deviance, branch by branch (power = rho), with
 * mean_tweedie_deviance's domain rules. */
static const char *row_tweedie_dev(double y, double p, double rho, double *loss)
{
    if (rho < 0) {
        if (!(p > 0))
            return "tweedie deviance with power < 0 needs p > 0";
        *loss = 2 * (pow(fmax(y, 0.0), 2 - rho) / ((1 - rho) * (2 - rho)) -
                     y * pow(p, 1 - rho) / (1 - rho) + pow(p, 2 - rho) / (2 - rho));
    } else if (rho == 0) {
        *loss = (y - p) * (y - p);
    } else if (rho < 2) { /* 0 < rho < 1 is rejected before the rows */
        if (y < 0)
            return "poisson / tweedie deviance with 1 <= power < 2 needs y >= 0";
        if (!(p > 0))
            return "poisson / tweedie deviance with 1 <= power < 2 needs p > 0";
        if (rho == 1) /* 2 (xlogy(y, y / p) - y + p), xlogy(0, .) = 0 */
            *loss = 2 * ((y == 0 ? 0.0 : y * log(y / p)) - y + p);
        else
            *loss = 2 * (pow(y, 2 - rho) / ((1 - rho) * (2 - rho)) -
                         y * pow(p, 1 - rho) / (1 - rho) + pow(p, 2 - rho) / (2 - rho));
    } else {
        if (!(y > 0))
            return "gamma / tweedie deviance with power >= 2 needs y > 0";
        if (!(p > 0))
            return "gamma / tweedie deviance with power >= 2 needs p > 0";
        if (rho == 2)
            *loss = 2 * (log(p / y) + y / p - 1);
        else
            *loss = 2 * (pow(y, 2 - rho) / ((1 - rho) * (2 - rho)) -
                         y * pow(p, 1 - rho) / (1 - rho) + pow(p, 2 - rho) / (2 - rho));
    }
    return NULL;
}

/* XGBoost EvalTweedieNLogLik: a = y exp((1 - rho) log p) / (1 - rho),
 * b = exp((2 - rho) log p) / (2 - rho), loss = -a + b. */
static const char *row_tweedie_nll(double y, double p, double rho, double *loss)
{
    if (y < 0)
        return "tweedie-nloglik needs y >= 0";
    if (!(p > 0))
        return "tweedie-nloglik needs p > 0";
    double lp = log(p);
    *loss = -y * exp((1 - rho) * lp) / (1 - rho) + exp((2 - rho) * lp) / (2 - rho);
    return NULL;
}

int ar_metric_mse(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("mse", y, p, w, n, row_se, 0, out);
}

int ar_metric_rmse(const float *y, const float *p, const float *w, size_t n, double *out)
{
    double m;
    AR_TRY(ewise_mean("rmse", y, p, w, n, row_se, 0, &m));
    *out = sqrt(m);
    return AR_OK;
}

int ar_metric_mae(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("mae", y, p, w, n, row_ae, 0, out);
}

int ar_metric_mape(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("mape", y, p, w, n, row_ape, 0, out);
}

int ar_metric_r2(const float *y, const float *p, const float *w, size_t n, double *out)
{
    double esum, wsum;
    AR_TRY(ewise_sum("r2", y, p, w, n, row_se, 0, &esum, &wsum));
    if (n < 2)
        return ar_err_set(AR_ERR_INVALID, "r2: undefined with fewer than two samples (n = %zu)", n);
    /* Weighted mean, then the total sum of squares; y constant over the positive-weight rows
     * gives exactly 0 (the mean may be off by an ulp). */
    struct ksum sy = {0, 0}, ss = {0, 0};
    size_t first = n;
    int constant = 1;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (wi == 0)
            continue;
        if (first == n)
            first = i;
        constant &= y[i] == y[first];
        ksum_add(&sy, wi * (double)y[i]);
    }
    double mean = ksum_get(&sy) / wsum, den = 0;
    if (!constant) {
        for (size_t i = 0; i < n; i++) {
            double d = (double)y[i] - mean;
            ksum_add(&ss, weight_at(w, i) * d * d);
        }
        den = ksum_get(&ss);
    }
    if (den == 0)
        *out = esum == 0 ? 1.0 : 0.0;
    else
        *out = 1.0 - esum / den;
    return AR_OK;
}

int ar_metric_rmsle(const float *y, const float *p, const float *w, size_t n, double *out)
{
    double m;
    AR_TRY(ewise_mean("rmsle", y, p, w, n, row_sle, 0, &m));
    *out = sqrt(m);
    return AR_OK;
}

int ar_metric_mphe(const float *y, const float *p, const float *w, size_t n, double delta,
                   double *out)
{
    if (!(delta > 0) || !isfinite(delta))
        return ar_err_set(AR_ERR_INVALID, "mphe: slope delta = %g must be finite and > 0", delta);
    return ewise_mean("mphe", y, p, w, n, row_phe, delta, out);
}

int ar_metric_poisson_nloglik(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("poisson-nloglik", y, p, w, n, row_poisson_nll, 0, out);
}

int ar_metric_gamma_nloglik(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("gamma-nloglik", y, p, w, n, row_gamma_nll, 0, out);
}

int ar_metric_gamma_deviance(const float *y, const float *p, const float *w, size_t n, double *out)
{
    return ewise_mean("gamma_deviance", y, p, w, n, row_tweedie_dev, 2.0, out);
}

int ar_metric_gamma_deviance_xgb(const float *y, const float *p, const float *w, size_t n,
                                 double *out)
{
    double m;
    AR_TRY(ewise_mean("gamma-deviance", y, p, w, n, row_gamma_dev_xgb, 0, &m));
    *out = 2 * m;
    return AR_OK;
}

int ar_metric_poisson_deviance(const float *y, const float *p, const float *w, size_t n,
                               double *out)
{
    return ewise_mean("poisson_deviance", y, p, w, n, row_tweedie_dev, 1.0, out);
}

int ar_metric_tweedie_deviance(const float *y, const float *p, const float *w, size_t n, double rho,
                               double *out)
{
    if (!isfinite(rho) || (rho > 0 && rho < 1))
        return ar_err_set(AR_ERR_INVALID,
                          "tweedie_deviance: power = %g: defined only for power <= 0 or >= 1", rho);
    return ewise_mean("tweedie_deviance", y, p, w, n, row_tweedie_dev, rho, out);
}

int ar_metric_tweedie_nloglik(const float *y, const float *p, const float *w, size_t n, double rho,
                              double *out)
{
    if (!(rho > 1 && rho < 2))
        return ar_err_set(AR_ERR_INVALID, "tweedie-nloglik: rho = %g must be in (1, 2)", rho);
    return ewise_mean("tweedie-nloglik", y, p, w, n, row_tweedie_nll, rho, out);
}

/* ---- clustering ---- */

static int check_cluster(const char *name, const float *x, size_t n, size_t d, size_t ldx,
                         const float *centres, size_t k)
{
    if (n == 0)
        return ar_err_set(AR_ERR_INVALID, "%s: empty input (n = 0)", name);
    if (d == 0 || k == 0)
        return ar_err_set(AR_ERR_INVALID, "%s: need d >= 1 and k >= 1 (d = %zu, k = %zu)", name, d,
                          k);
    if (ldx < d)
        return ar_err_set(AR_ERR_INVALID, "%s: row stride %zu < d = %zu", name, ldx, d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * ldx + j]))
                return ar_err_set(AR_ERR_INVALID, "%s: x[%zu][%zu] = %g is not finite", name, i, j,
                                  (double)x[i * ldx + j]);
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(centres[c * d + j]))
                return ar_err_set(AR_ERR_INVALID, "%s: centre[%zu][%zu] = %g is not finite", name,
                                  c, j, (double)centres[c * d + j]);
    return AR_OK;
}

/* Per-thread partial, padded to its own cache line. */
struct ssd_part {
    struct ksum s;
    char pad[64 - sizeof(struct ksum)];
};

int ar_metric_ssd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out)
{
    AR_TRY(check_cluster("ssd", x, n, d, ldx, centres, k));
    int nt = ar_par_threads();
    struct ssd_part *part = ar_callocn((size_t)nt, sizeof *part);
    if (!part)
        return AR_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        int ith = ar_par_tid(), nth = ar_par_region_size();
        size_t lo, hi;
        ar_par_range(n, ith, nth, &lo, &hi);
        struct ksum s = {0, 0};
        for (size_t i = lo; i < hi; i++) {
            const float *row = x + i * ldx;
            double best = HUGE_VAL;
            for (size_t c = 0; c < k; c++) {
                const float *ctr = centres + c * d;
                double dist = 0;
                for (size_t j = 0; j < d; j++) {
                    double diff = (double)row[j] - (double)ctr[j];
                    dist += diff * diff;
                }
                best = fmin(best, dist);
            }
            ksum_add(&s, best);
        }
        part[ith].s = s;
    }
    struct ksum total = {0, 0};
    for (int t = 0; t < nt; t++) {
        ksum_add(&total, part[t].s.s);
        ksum_add(&total, part[t].s.c);
    }
    ar_free(part);
    *out = ksum_get(&total);
    return AR_OK;
}

int ar_metric_msd(const float *x, size_t n, size_t d, size_t ldx, const float *centres, size_t k,
                  double *out)
{
    double s;
    AR_TRY(ar_metric_ssd(x, n, d, ldx, centres, k, &s));
    *out = s / (double)n;
    return AR_OK;
}
