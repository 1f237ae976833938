/* Objectives as XGBoost 1.7.4 defines them (src/objective/regression_loss.h, regression_obj.cu,
 * multiclass_obj.cu, hinge.cu): label checks with XGBoost's wording, float gradient pairs
 * (weight and scale_pos_weight applied as XGBoost does), the base margin of base_score, and
 * the output transforms. */
#include <math.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/par.h"

static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

float ar_gbt_base_margin(enum ar_gbt_obj obj, float base_score)
{
    switch (obj) {
    case AR_GBT_OBJ_REG_LOGISTIC:
    case AR_GBT_OBJ_BINARY_LOGISTIC:
        return -logf(1.0f / base_score - 1.0f);
    case AR_GBT_OBJ_POISSON:
    case AR_GBT_OBJ_GAMMA:
    case AR_GBT_OBJ_TWEEDIE:
        return logf(base_score);
    default:
        return base_score;
    }
}

int ar_gbt_labels_check(enum ar_gbt_obj obj, int num_class, const float *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float y = labels[i];
        if (isnan(y) || isinf(y))
            return ar_err_set(AR_ERR_INVALID, "label of row %zu is not a finite number", i + 1);
        switch (obj) {
        case AR_GBT_OBJ_REG_LOGISTIC:
        case AR_GBT_OBJ_BINARY_LOGISTIC:
        case AR_GBT_OBJ_BINARY_LOGITRAW:
            if (!(y >= 0.0f && y <= 1.0f))
                return ar_err_set(AR_ERR_INVALID,
                                  "label must be in [0,1] for logistic regression (row %zu has "
                                  "label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_BINARY_HINGE:
            if (!(y >= 0.0f && y <= 1.0f))
                return ar_err_set(AR_ERR_INVALID,
                                  "label must be in [0,1] for binary:hinge (row %zu has label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_SQUAREDLOGERROR:
            if (!(y > -1.0f))
                return ar_err_set(AR_ERR_INVALID,
                                  "label must be greater than -1 for rmsle so that log(label + 1) "
                                  "can be valid (row %zu has label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_POISSON:
            if (y < 0.0f)
                return ar_err_set(AR_ERR_INVALID,
                                  "PoissonRegression: label must be nonnegative (row %zu has "
                                  "label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_GAMMA:
            if (!(y > 0.0f))
                return ar_err_set(AR_ERR_INVALID,
                                  "GammaRegression: label must be positive (row %zu has label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_TWEEDIE:
            if (y < 0.0f)
                return ar_err_set(AR_ERR_INVALID,
                                  "TweedieRegression: label must be nonnegative (row %zu has "
                                  "label %g)",
                                  i + 1, (double)y);
            break;
        case AR_GBT_OBJ_SOFTMAX:
        case AR_GBT_OBJ_SOFTPROB: {
            int k = (int)y;
            if (k < 0 || k >= num_class || y < 0.0f)
                return ar_err_set(AR_ERR_INVALID,
                                  "SoftmaxMultiClassObj: label must be in [0, num_class), "
                                  "num_class=%d (row %zu has label %g)",
                                  num_class, i + 1, (double)y);
            break;
        }
        default:
            break;
        }
    }
    return AR_OK;
}

void ar_gbt_gradients(const struct ar_gbt_config *cfg, const float *margin, const float *prob,
                      const float *labels, const float *weights, size_t n, int n_threads,
                      float *out)
{
    if (cfg->obj != AR_GBT_OBJ_REG_LOGISTIC && cfg->obj != AR_GBT_OBJ_BINARY_LOGISTIC)
        prob = NULL;
    const enum ar_gbt_obj obj = cfg->obj;
    const int k = cfg->n_groups;
    const float spw = cfg->scale_pos_weight, rho = cfg->tweedie_rho, slope = cfg->huber_slope;
    const float mds = cfg->obj_max_delta_step;
    const int nt = n_threads > 0 ? n_threads : 1;
#pragma omp parallel num_threads(nt)
    {
        size_t lo, hi;
        ar_par_range(n, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        if (prob && !weights) {
            /* the common case on its own: the logistic formula below without the switch */
            for (size_t i = lo; i < hi; i++) {
                const float y = labels[i], w = y == 1.0f ? 1.0f * spw : 1.0f, p = prob[i];
                const float q = p * (1.0f - p);
                out[2 * i] = (p - y) * w;
                out[2 * i + 1] = (q > 1e-16f ? q : 1e-16f) * w;
            }
            lo = hi;
        }
        for (size_t i = lo; i < hi; i++) {
            float w = weights ? weights[i] : 1.0f;
            float y = labels[i];
            float x = margin[i * (size_t)k];
            float g = 0.0f, h = 0.0f;
            switch (obj) {
            case AR_GBT_OBJ_SQUAREDERROR:
            case AR_GBT_OBJ_LINEAR:
                if (y == 1.0f)
                    w *= spw;
                g = (x - y) * w;
                h = 1.0f * w;
                break;
            case AR_GBT_OBJ_SQUAREDLOGERROR: {
                if (y == 1.0f)
                    w *= spw;
                float p = fmaxf(x, -1.0f + 1e-6f);
                g = (log1pf(p) - log1pf(y)) / (p + 1.0f) * w;
                float r = (-log1pf(p) + log1pf(y) + 1.0f) / powf(p + 1.0f, 2.0f);
                h = fmaxf(r, 1e-6f) * w;
                break;
            }
            case AR_GBT_OBJ_REG_LOGISTIC:
            case AR_GBT_OBJ_BINARY_LOGISTIC:
            case AR_GBT_OBJ_BINARY_LOGITRAW: {
                if (y == 1.0f)
                    w *= spw;
                float p = prob ? prob[i] : sigmoid(x);
                g = (p - y) * w;
                float q = p * (1.0f - p);
                h = (q > 1e-16f ? q : 1e-16f) * w; /* fmaxf(q, 1e-16f), NaN included */
                break;
            }
            case AR_GBT_OBJ_PSEUDOHUBER: {
                float z = x - y;
                float scale_sqrt = sqrtf(1.0f + (z * z) / (slope * slope));
                float scale = scale_sqrt * scale_sqrt * scale_sqrt;
                g = z / scale_sqrt * w;
                h = (slope * slope) / scale * w;
                break;
            }
            case AR_GBT_OBJ_ABSOLUTEERROR: {
                float d = x - y;
                g = (float)((d > 0.0f) - (d < 0.0f)) * w;
                h = w;
                break;
            }
            case AR_GBT_OBJ_BINARY_HINGE: {
                float yy = y * 2.0f - 1.0f;
                if (x * yy < 1.0f) {
                    g = -yy * w;
                    h = w;
                } else {
                    g = 0.0f;
                    h = 1.17549435e-38f; /* FLT_MIN */
                }
                break;
            }
            case AR_GBT_OBJ_POISSON:
                g = (expf(x) - y) * w;
                h = expf(x + mds) * w;
                break;
            case AR_GBT_OBJ_GAMMA:
                g = (1.0f - y / expf(x)) * w;
                h = y / expf(x) * w;
                break;
            case AR_GBT_OBJ_TWEEDIE:
                g = (-y * expf((1.0f - rho) * x) + expf((2.0f - rho) * x)) * w;
                h = (-y * (1.0f - rho) * expf((1.0f - rho) * x) +
                     (2.0f - rho) * expf((2.0f - rho) * x)) *
                    w;
                break;
            case AR_GBT_OBJ_SOFTMAX:
            case AR_GBT_OBJ_SOFTPROB: {
                const float *row = margin + i * (size_t)k;
                float *o = out + 2 * i * (size_t)k;
                float wmax = row[0];
                for (int c = 1; c < k; c++)
                    wmax = fmaxf(row[c], wmax);
                double wsum = 0.0;
                for (int c = 0; c < k; c++) {
                    o[2 * c] = expf(row[c] - wmax);
                    wsum += (double)o[2 * c];
                }
                int label = (int)y;
                for (int c = 0; c < k; c++) {
                    float p = o[2 * c] / (float)wsum;
                    float hh = fmaxf(2.0f * p * (1.0f - p) * w, 1e-16f);
                    o[2 * c] = (label == c ? p - 1.0f : p) * w;
                    o[2 * c + 1] = hh;
                }
                continue;
            }
            default:
                break;
            }
            out[2 * i] = g;
            out[2 * i + 1] = h;
        }
    }
}

/* Rows below which the transform stays on the calling thread. */
#define TRANSFORM_PAR_ROWS 65536

static void transform_rows(enum ar_gbt_obj obj, size_t k, const float *margin, size_t lo, size_t hi,
                           bool eval, float *out)
{
    for (size_t i = lo; i < hi; i++) {
        switch (obj) {
        case AR_GBT_OBJ_REG_LOGISTIC:
        case AR_GBT_OBJ_BINARY_LOGISTIC:
            out[i] = sigmoid(margin[i]);
            break;
        case AR_GBT_OBJ_POISSON:
        case AR_GBT_OBJ_GAMMA:
        case AR_GBT_OBJ_TWEEDIE:
            out[i] = expf(margin[i]);
            break;
        case AR_GBT_OBJ_BINARY_HINGE:
            out[i] = margin[i] > 0.0f ? 1.0f : 0.0f;
            break;
        case AR_GBT_OBJ_SOFTMAX:
        case AR_GBT_OBJ_SOFTPROB: {
            const float *row = margin + i * k;
            float wmax = row[0];
            size_t arg = 0;
            for (size_t c = 1; c < k; c++) {
                if (row[c] > row[arg])
                    arg = c;
                wmax = fmaxf(row[c], wmax);
            }
            if (obj == AR_GBT_OBJ_SOFTMAX && !eval) {
                out[i] = (float)arg;
                break;
            }
            float *o = out + i * k;
            double wsum = 0.0;
            for (size_t c = 0; c < k; c++) {
                o[c] = expf(row[c] - wmax);
                wsum += (double)o[c];
            }
            for (size_t c = 0; c < k; c++)
                o[c] /= (float)wsum;
            break;
        }
        default:
            out[i] = margin[i];
            break;
        }
    }
}

void ar_gbt_transform(enum ar_gbt_obj obj, int n_groups, const float *margin, size_t n, bool eval,
                      float *out)
{
    const size_t k = (size_t)n_groups;
    const int nt = ar_par_threads();
    if (n < TRANSFORM_PAR_ROWS || nt <= 1) {
        transform_rows(obj, k, margin, 0, n, eval, out);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        size_t lo, hi;
        ar_par_range(n, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        transform_rows(obj, k, margin, lo, hi, eval, out);
    }
}
