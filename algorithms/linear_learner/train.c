/* The multi-model trainer: losses, the normalisation statistics, and one mini-batch step that
 * updates every model at once. The forward pass for all models is one product
 * (batch x features) . (features x models*outputs), the gradient another (BLAS for dense
 * batches, a CSR kernel for sparse ones). Normalisation is folded into the weights, so batches
 * are never copied or transformed. */
#include <math.h>
#include <string.h>

#include "algorithms/linear_learner/ll.h"
#include "core/blas.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/reduce.h"
#include "core/rng.h"

/* Values below 1e-30 become 0: denormal floats in Z or in the optimizer state make the GEMMs
 * and updates many times slower, and they carry no information at this scale. */
static inline float flush(float x)
{
    return fabsf(x) < 1e-30f ? 0.0f : x;
}

/* ---- losses ---- */

/* Float bits without aliasing trouble (vectorises to a no-op). */
static inline int32_t f2i(float x)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i;
}

static inline float i2f(int32_t i)
{
    float x;
    memcpy(&x, &i, sizeof x);
    return x;
}

/* a if the mask (0 or -1, from a comparison) is set, else b; on the bits so that loops
 * if-convert for every instruction set (float selects are not turned into blends at -O2). */
static inline float select_f(int32_t mask, float a, float b)
{
    return i2f((f2i(a) & mask) | (f2i(b) & ~mask));
}

/* e^x for x <= 0 in float, branch-free so loops over it vectorise (libm's expf is a call).
 * x = n ln2 + g with |g| <= ln2 / 2 (two-constant Cody-Waite), e^g by its degree-7 Taylor
 * polynomial (truncation < 6e-9 relative), 2^n put into the exponent. Arguments below -87 are
 * clamped (e^-87 = 1.6e-38, the result is then flushed by the callers' 1e-30 cut anyway). */
static inline float exp_nonpos(float x)
{
    /* max(x, -87) on the bits: negative floats order in reverse as integers */
    int32_t xi = f2i(x), lim = f2i(-87.0f);
    x = i2f(xi > lim ? lim : xi);
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float r = x * 1.44269504f + magic;
    float n = r - magic;
    float g = x - n * 0.693359375f; /* ln2 split: hi has 10 significant bits */
    g = g + n * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * g + 1.0f / 720.0f;
    p = p * g + 1.0f / 120.0f;
    p = p * g + 1.0f / 24.0f;
    p = p * g + 1.0f / 6.0f;
    p = p * g + 0.5f;
    p = p * g + 1.0f;
    p = p * g + 1.0f;
    uint32_t scale = (uint32_t)(f2i(r) - f2i(magic)) << 23; /* n in the exponent field */
    return i2f((int32_t)((uint32_t)f2i(p) + scale));
}

/* log(1 + e) for e in [0, 1]: 2 atanh(s), s = e / (2 + e) <= 1/3, by its series to s^13
 * (truncation < 2e-8 relative); exact to float rounding for small e too. */
static inline float log1p_unit(float e)
{
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* Logistic loss and gradient of one row over models [m0, m1) (binary, C = 1): z[m] becomes
 * w_m (sigmoid(z) - y), w_m = fwi x posw[m] for positives and fwi otherwise; cp[m] += that
 * gradient, lp[m] += fwi x loss, wp[m] += w_m. Each model is its own lane, so the sums are
 * formed in row order exactly as a scalar loop would. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
logistic_row(float *restrict z, const float *restrict posw, size_t m0, size_t m1, float yf,
             float fwi, double *restrict cp, double *restrict lp, double *restrict wp)
{
    const int32_t pos_mask = -(int32_t)(yf == 1.0f);
    z += m0; /* one induction variable: gcc if-converts the loop only in this shape */
    posw += m0;
    cp += m0;
    lp += m0;
    wp += m0;
    const size_t n = m1 - m0;
#pragma omp simd
    for (size_t m = 0; m < n; m++) {
        float zm = z[m], az = fabsf(zm);
        float e = exp_nonpos(-az), inv = 1.0f / (1.0f + e);
        int32_t neg = f2i(zm) >> 31; /* -1 for negative z (and -0) */
        float sg = select_f(neg, e * inv, inv);
        float l = select_f(neg, 0.0f, zm) - zm * yf + log1p_unit(e);
        float wt = fwi * select_f(pos_mask, posw[m], 1.0f);
        float g = wt * (sg - yf);
        g = select_f(-(int32_t)(fabsf(g) >= 1e-30f), g, 0.0f);
        z[m] = g;
        cp[m] += (double)g;
        lp[m] += (double)(fwi * l);
        wp[m] += (double)wt;
    }
}

/* Sigmoid scores and (labels given) the weighted logistic loss of one row over M models:
 * z[m] becomes sigmoid(z[m]); lp[m] += wi x loss; wp[m] += wi. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
logistic_score_row(float *restrict z, size_t M, bool labels, float yf, double wi,
                   double *restrict lp, double *restrict wp)
{
    const double lw = labels ? wi : 0.0;
#pragma omp simd
    for (size_t m = 0; m < M; m++) {
        float zm = z[m], az = fabsf(zm);
        float e = exp_nonpos(-az), inv = 1.0f / (1.0f + e);
        int32_t neg = f2i(zm) >> 31;
        float l = select_f(neg, 0.0f, zm) - zm * yf + log1p_unit(e);
        z[m] = select_f(neg, e * inv, inv);
        lp[m] += lw * (double)l;
        wp[m] += wi;
    }
}

static inline double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static inline double loss_eval(int loss, const struct ar_ll_loss_prm *prm, double z, double y,
                               double *g)
{
    double r, a;
    switch (loss) {
    case AR_LL_LOSS_LOGISTIC:
        *g = sigmoid(z) - y;
        return fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
    case AR_LL_LOSS_HINGE: {
        double s = y > 0.5 ? 1.0 : -1.0;
        double v = prm->margin - s * z;
        *g = v > 0 ? -s : 0.0;
        return v > 0 ? v : 0.0;
    }
    case AR_LL_LOSS_SQUARED:
        r = z - y;
        *g = 2 * r;
        return r * r;
    case AR_LL_LOSS_ABSOLUTE:
        r = z - y;
        *g = r > 0 ? 1.0 : r < 0 ? -1.0 : 0.0;
        return fabs(r);
    case AR_LL_LOSS_EPS_SQUARED:
        r = z - y;
        a = fabs(r) - prm->eps;
        if (a <= 0) {
            *g = 0;
            return 0;
        }
        *g = r > 0 ? 2 * a : -2 * a;
        return a * a;
    case AR_LL_LOSS_EPS_ABSOLUTE:
        r = z - y;
        a = fabs(r) - prm->eps;
        if (a <= 0) {
            *g = 0;
            return 0;
        }
        *g = r > 0 ? 1.0 : -1.0;
        return a;
    case AR_LL_LOSS_QUANTILE:
        r = y - z; /* under-prediction costs q, over-prediction 1 - q */
        *g = r > 0 ? -prm->quantile : r < 0 ? 1.0 - prm->quantile : 0.0;
        return r >= 0 ? prm->quantile * r : (prm->quantile - 1.0) * r;
    case AR_LL_LOSS_HUBER:
        r = z - y;
        a = fabs(r);
        if (a <= prm->delta) {
            *g = r;
            return 0.5 * r * r;
        }
        *g = r > 0 ? prm->delta : -prm->delta;
        return prm->delta * (a - 0.5 * prm->delta);
    default:
        *g = 0;
        return 0;
    }
}

double ar_ll_loss_eval(int loss, const struct ar_ll_loss_prm *prm, double z, double y, double *g)
{
    return loss_eval(loss, prm, z, y, g);
}

/* Cross-entropy of softmax(z) against class y; g may alias z. */
static inline double softmax_eval(const float *z, size_t k, size_t y, float *g)
{
    double mx = (double)z[0];
    for (size_t c = 1; c < k; c++)
        mx = fmax(mx, (double)z[c]);
    double s = 0;
    for (size_t c = 0; c < k; c++)
        s += exp((double)z[c] - mx);
    double lse = mx + log(s);
    double l = lse - (double)z[y];
    for (size_t c = 0; c < k; c++)
        g[c] = (float)(exp((double)z[c] - lse) - (c == y ? 1.0 : 0.0));
    return l;
}

double ar_ll_softmax_eval(const float *z, size_t k, size_t y, float *g)
{
    return softmax_eval(z, k, y, g);
}

/* ---- trainer lifetime ---- */

void ar_ll_trainer_free(struct ar_ll_trainer *t)
{
    if (!t)
        return;
    ar_free(t->mc);
    ar_free(t->w);
    ar_free(t->b);
    ar_free(t->wt);
    ar_free(t->bt);
    ar_free(t->s1);
    ar_free(t->s2);
    ar_free(t->bs1);
    ar_free(t->bs2);
    ar_free(t->gw);
    ar_free(t->kprm);
    ar_free(t->z);
    ar_free(t->part);
    ar_free(t->colsum);
    ar_free(t->wsum);
    ar_free(t->mu);
    ar_free(t->inv_sd);
    ar_free(t->class_w);
    ar_free(t->posw);
    ar_free(t->posw_f);
    ar_free(t->ep_loss);
    ar_free(t->ep_w);
    ar_free(t);
}

int ar_ll_trainer_new(const struct ar_ll_config *c, const struct ar_ll_model_cfg *models,
                      size_t n_models, size_t n_features, struct ar_ll_trainer **out)
{
    *out = NULL;
    if (n_models == 0 || n_features == 0)
        return ar_err_set(AR_ERR_INVALID, "linear learner: %zu models over %zu features", n_models,
                          n_features);
    struct ar_ll_trainer *t = ar_callocn(1, sizeof *t);
    if (!t)
        return AR_ERR_NOMEM;
    t->c = *c;
    t->n_models = n_models;
    t->n_out = c->n_out;
    t->d = n_features;
    size_t k, dk;
    if (ar_mul_overflow(n_models, c->n_out, &k) || ar_mul_overflow(k, n_features, &dk)) {
        ar_free(t);
        return ar_err_set(AR_ERR_LIMIT,
                          "linear learner: %zu models x %zu outputs x %zu features "
                          "is too large",
                          n_models, c->n_out, n_features);
    }
    t->n_k = k;
    int nt = ar_par_threads();
    t->part_stride = (2 * n_models + k + 7) / 8 * 8;
    t->mc = ar_allocn(n_models, sizeof *t->mc);
    t->w = ar_callocn(dk, sizeof(float));
    t->b = ar_callocn(k, sizeof(float));
    t->wt = ar_callocn(dk, sizeof(float));
    t->bt = ar_callocn(k, sizeof(float));
    t->s1 = ar_callocn(dk, sizeof(float));
    t->s2 = ar_callocn(dk, sizeof(float));
    t->bs1 = ar_callocn(k, sizeof(double));
    t->bs2 = ar_callocn(k, sizeof(double));
    t->gw = ar_callocn(dk, sizeof(float));
    t->kprm = ar_callocn(4 * k, sizeof(float));
    t->part = ar_callocn((size_t)nt * t->part_stride, sizeof(double));
    t->colsum = ar_callocn(k, sizeof(double));
    t->wsum = ar_callocn(n_models, sizeof(double));
    t->mu = ar_callocn(n_features, sizeof(double));
    t->inv_sd = ar_callocn(n_features, sizeof(double));
    t->class_w = ar_callocn(c->n_out, sizeof(double));
    t->posw = ar_callocn(n_models, sizeof(double));
    t->posw_f = ar_callocn(n_models, sizeof(float));
    t->ep_loss = ar_callocn(n_models, sizeof(double));
    t->ep_w = ar_callocn(n_models, sizeof(double));
    if (!t->mc || !t->w || !t->b || !t->wt || !t->bt || !t->s1 || !t->s2 || !t->bs1 || !t->bs2 ||
        !t->gw || !t->kprm || !t->part || !t->colsum || !t->wsum || !t->mu || !t->inv_sd ||
        !t->class_w || !t->posw || !t->posw_f || !t->ep_loss || !t->ep_w) {
        ar_ll_trainer_free(t);
        return AR_ERR_NOMEM;
    }
    memcpy(t->mc, models, n_models * sizeof *models);
    for (size_t j = 0; j < n_features; j++)
        t->inv_sd[j] = 1.0;
    for (size_t c2 = 0; c2 < c->n_out; c2++)
        t->class_w[c2] = 1.0;
    t->y_sd = 1.0;
    /* Each model draws its initial weights from its own stream, so a model starts the same
     * whether it trains alone or among others. */
    size_t C = c->n_out;
    for (size_t m = 0; m < n_models; m++) {
        struct ar_rng r;
        ar_rng_init(&r, c->seed, models[m].stream);
        for (size_t j = 0; j < n_features; j++)
            for (size_t o = 0; o < C; o++) {
                double v = c->init_method == 1 ? c->init_sigma * ar_rng_normal(&r)
                                               : c->init_scale * (2 * ar_rng_uniform(&r) - 1);
                t->w[j * k + m * C + o] = (float)v;
            }
        for (size_t o = 0; o < C; o++)
            t->b[m * C + o] = c->use_bias ? (float)c->init_bias : 0.0f;
        t->posw[m] = models[m].posw;
    }
    t->prm_report.margin = c->margin;
    t->prm_report.delta = c->huber_delta;
    t->prm_report.eps = c->eps_insensitive;
    t->prm_report.quantile = c->quantile;
    t->prm_train = t->prm_report;
    *out = t;
    return AR_OK;
}

/* ---- normalisation statistics ---- */

static int check_label(const struct ar_ll_config *c, float y, size_t row)
{
    if (!isfinite(y))
        return ar_err_set(AR_ERR_INVALID, "label of record %zu is not a finite number", row + 1);
    if (c->predictor == AR_LL_BINARY && y != 0.0f && y != 1.0f)
        return ar_err_set(AR_ERR_INVALID,
                          "label %g of record %zu is not 0 or 1 (predictor_type binary_classifier)",
                          (double)y, row + 1);
    if (c->predictor == AR_LL_MULTICLASS && (y < 0 || y >= (float)c->n_classes || y != floorf(y)))
        return ar_err_set(AR_ERR_INVALID,
                          "label %g of record %zu is not a class index 0..%zu (num_classes=%zu)",
                          (double)y, row + 1, c->n_classes - 1, c->n_classes);
    return AR_OK;
}

static int check_batch_shape(const struct ar_ll_trainer *t, const struct ar_batch *b)
{
    if (b->is_sparse ? b->n_cols > t->d : b->n_cols != t->d)
        return ar_err_set(AR_ERR_INVALID,
                          "a batch has %zu features but the model has %zu (feature_dim)", b->n_cols,
                          t->d);
    if (!b->labels)
        return ar_err_set(AR_ERR_INVALID, "training data has no labels");
    return AR_OK;
}

int ar_ll_trainer_scale_from(struct ar_ll_trainer *t, struct ar_batch_source *src,
                             const struct ar_batch *first)
{
    const struct ar_ll_config *c = &t->c;
    size_t d = t->d, seen = 0;
    double *sum = ar_callocn(2 * d, sizeof(double));
    double *ref = ar_callocn(d, sizeof(double));
    double *cnt = ar_callocn(t->n_out + 1, sizeof(double));
    float *row = ar_allocn(d, sizeof(float));
    int rc = AR_OK;
    if (!sum || !ref || !cnt || !row) {
        rc = AR_ERR_NOMEM;
        goto out;
    }
    double *sq = sum + d;
    double ysum = 0, ysq = 0, yref = 0;
    bool sparse = false;
    while (seen < c->n_scaler) {
        struct ar_batch b;
        size_t want = c->n_scaler - seen < c->batch ? c->n_scaler - seen : c->batch;
        if (first) {
            b = *first; /* the caller already read the pass's first batch */
            first = NULL;
        } else if ((rc = ar_batch_source_next(src, want, &b)) != AR_OK) {
            goto out;
        }
        if (b.n_rows == 0)
            break;
        if ((rc = check_batch_shape(t, &b)) != AR_OK)
            goto out;
        sparse = b.is_sparse;
        for (size_t i = 0; i < b.n_rows; i++) {
            ar_batch_row_dense(&b, i, 0.0f, row);
            if (seen == 0 && !sparse) {
                for (size_t j = 0; j < d; j++)
                    ref[j] = (double)row[j];
            }
            float y = b.labels[i];
            if ((rc = check_label(c, y, seen)) != AR_OK)
                goto out;
            if (seen == 0)
                yref = (double)y;
            for (size_t j = 0; j < d; j++) {
                if (!isfinite(row[j])) {
                    rc = ar_err_set(AR_ERR_INVALID,
                                    "feature %zu of record %zu is not a finite "
                                    "number",
                                    j, seen + 1);
                    goto out;
                }
                double v = (double)row[j] - ref[j];
                sum[j] += v;
                sq[j] += v * v;
            }
            ysum += (double)y - yref;
            ysq += ((double)y - yref) * ((double)y - yref);
            if (c->predictor == AR_LL_BINARY)
                cnt[y > 0.5f ? 1 : 0] += 1;
            else if (c->predictor == AR_LL_MULTICLASS)
                cnt[(size_t)y] += 1;
            seen++;
        }
    }
    if (seen == 0) {
        rc = ar_err_set(AR_ERR_INVALID, "the train channel has no records");
        goto out;
    }
    double n = (double)seen;
    t->shift = c->unbias_data == AR_LL_ON || (c->unbias_data == AR_LL_DATA && !sparse);
    for (size_t j = 0; j < d; j++) {
        double mean = sum[j] / n;
        double var = sq[j] / n - mean * mean;
        double sd = var > 0 ? sqrt(var) : 0;
        t->mu[j] = t->shift ? mean + ref[j] : 0.0;
        /* Scale by the standard deviation around the mean when shifting, by the root mean
         * square otherwise (so sparse data keeps its zeros and unit scale). */
        double scale = t->shift ? sd : sqrt(sq[j] / n + 2 * ref[j] * sum[j] / n + ref[j] * ref[j]);
        t->inv_sd[j] = c->normalize_data && scale > 1e-12 && isfinite(scale) ? 1.0 / scale : 1.0;
    }
    double ymean = ysum / n, yvar = ysq / n - ymean * ymean;
    t->y_mu = c->unbias_label ? ymean + yref : 0.0;
    double ysd = yvar > 0 ? sqrt(yvar) : 0.0;
    t->y_sd = c->normalize_label && ysd > 1e-12 ? ysd : 1.0;
    t->prm_train.delta = c->huber_delta / t->y_sd;
    t->prm_train.eps = c->eps_insensitive / t->y_sd;
    if (c->predictor == AR_LL_BINARY) {
        double balanced = cnt[1] > 0 && cnt[0] > 0 ? cnt[0] / cnt[1] : 1.0;
        for (size_t m = 0; m < t->n_models; m++)
            if (t->mc[m].posw_balanced)
                t->posw[m] = balanced;
    } else if (c->balance_multiclass) {
        for (size_t o = 0; o < t->n_out; o++)
            t->class_w[o] = cnt[o] > 0 ? n / ((double)t->n_out * cnt[o]) : 1.0;
    }
    t->scaled = true;
    rc = ar_batch_source_reset(src);
out:
    ar_free(sum);
    ar_free(ref);
    ar_free(cnt);
    ar_free(row);
    return rc;
}

int ar_ll_trainer_scale(struct ar_ll_trainer *t, struct ar_batch_source *src)
{
    return ar_ll_trainer_scale_from(t, src, NULL);
}

/* ---- forward and backward products ---- */

void ar_ll_trainer_fold(struct ar_ll_trainer *t)
{
    size_t d = t->d, K = t->n_k;
    for (size_t k = 0; k < K; k++)
        t->bt[k] = t->b[k];
    for (size_t j = 0; j < d; j++) {
        float s = (float)t->inv_sd[j];
        const float *w = t->w + j * K;
        float *wt = t->wt + j * K;
        for (size_t k = 0; k < K; k++)
            wt[k] = w[k] * s;
    }
    if (t->shift) {
        for (size_t k = 0; k < K; k++) {
            double acc = (double)t->b[k];
            for (size_t j = 0; j < d; j++)
                acc -= t->mu[j] * (double)t->wt[j * K + k];
            t->bt[k] = (float)acc;
        }
    }
}

/* z[lo..hi)[k0..k1) = x w + bias for a CSR batch (z rows have n_k columns). */
static void csr_forward(const struct ar_csr *x, size_t lo, size_t hi, size_t k0, size_t k1,
                        size_t n_k, const float *w, const float *bias, float *z)
{
    for (size_t i = lo; i < hi; i++) {
        float *restrict zi = z + i * n_k;
        for (size_t k = k0; k < k1; k++)
            zi[k] = bias[k];
        for (uint64_t p = x->indptr[i]; p < x->indptr[i + 1]; p++) {
            const float *restrict wj = w + (size_t)x->indices[p] * n_k;
            float v = x->values[p];
            for (size_t k = k0; k < k1; k++)
                zi[k] += v * wj[k];
        }
    }
}

/* gw[.][k0..k1) = x^T g[.][k0..k1) for a CSR batch of n rows (d rows of gw). */
static void csr_backward(const struct ar_csr *x, size_t n, size_t d, size_t k0, size_t k1,
                         size_t n_k, const float *g, float *gw)
{
    for (size_t j = 0; j < d; j++)
        for (size_t k = k0; k < k1; k++)
            gw[j * n_k + k] = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float *restrict gi = g + i * n_k;
        for (uint64_t p = x->indptr[i]; p < x->indptr[i + 1]; p++) {
            float *restrict o = gw + (size_t)x->indices[p] * n_k;
            float v = x->values[p];
            for (size_t k = k0; k < k1; k++)
                o[k] += v * gi[k];
        }
    }
}

/* Columns [k0, k1) of Z = X W + B, single-threaded (dense: one SGEMM with strides). */
static void forward_cols(const struct ar_batch *b, size_t d, size_t n_k, size_t k0, size_t k1,
                         const float *w, const float *bias, float *z)
{
    size_t n = b->n_rows;
    if (b->is_sparse) {
        csr_forward(&b->csr, 0, n, k0, k1, n_k, w, bias, z);
        return;
    }
    ar_blas_sgemm(false, false, n, k1 - k0, d, 1.0f, b->dense.data, b->dense.stride, w + k0, n_k,
                  0.0f, z + k0, n_k);
    for (size_t i = 0; i < n; i++) {
        float *restrict zi = z + i * n_k;
        for (size_t k = k0; k < k1; k++)
            zi[k] += bias[k];
    }
}

/* Columns [k0, k1) of GW = X^T G, single-threaded. */
static void backward_cols(const struct ar_batch *b, size_t d, size_t n_k, size_t k0, size_t k1,
                          const float *g, float *gw)
{
    if (b->is_sparse) {
        csr_backward(&b->csr, b->n_rows, d, k0, k1, n_k, g, gw);
        return;
    }
    ar_blas_sgemm(true, false, d, k1 - k0, b->n_rows, 1.0f, b->dense.data, b->dense.stride, g + k0,
                  n_k, 0.0f, gw + k0, n_k);
}

int ar_ll_forward(const struct ar_batch *b, size_t d, size_t n_k, const float *w, const float *bias,
                  float *z)
{
    size_t n = b->n_rows;
    if (b->n_cols > d || (!b->is_sparse && b->n_cols != d))
        return ar_err_set(AR_ERR_INVALID, "a batch has %zu features but the model has %zu",
                          b->n_cols, d);
    if (n == 0)
        return AR_OK;
    if (!b->is_sparse) {
        forward_cols(b, d, n_k, 0, n_k, w, bias, z); /* BLAS threads itself */
        return AR_OK;
    }
    const struct ar_csr *x = &b->csr;
    int nt = ar_par_threads();
#pragma omp parallel num_threads(nt) if (ar_csr_nnz(x) * n_k >= 16384)
    {
        size_t lo, hi;
        ar_par_range(n, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        csr_forward(x, lo, hi, 0, n_k, n_k, w, bias, z);
    }
    return AR_OK;
}

/* gw (d x K) = X^T G, G = z (n x K). */
static void backward(const struct ar_batch *b, size_t d, size_t n_k, const float *g, float *gw)
{
    if (!b->is_sparse) {
        backward_cols(b, d, n_k, 0, n_k, g, gw); /* BLAS threads itself */
        return;
    }
    int nt = ar_par_threads();
    /* Threads own disjoint output column ranges: no partials, same result for any count. */
#pragma omp parallel num_threads(nt) if (ar_csr_nnz(&b->csr) * n_k >= 16384)
    {
        size_t lo, hi;
        ar_par_range(n_k, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        if (lo < hi)
            csr_backward(&b->csr, b->n_rows, d, lo, hi, n_k, g, gw);
    }
}

static int grow_z(struct ar_ll_trainer *t, size_t n)
{
    if (n <= t->z_cap)
        return AR_OK;
    size_t cap = n > t->c.batch ? n : t->c.batch;
    float *z = ar_allocn(cap, t->n_k * sizeof(float));
    if (!z)
        return AR_ERR_NOMEM;
    ar_free(t->z);
    t->z = z;
    t->z_cap = cap;
    return AR_OK;
}

/* Sums a float buffer across processes (a no-op in one process). */
static int reduce_f32(float *buf, size_t n)
{
    if (ar_reduce_world_size() <= 1)
        return AR_OK;
    double *tmp = ar_allocn(n, sizeof *tmp);
    if (!tmp)
        return AR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        tmp[i] = (double)buf[i];
    int rc = ar_reduce_sum_f64(tmp, n);
    for (size_t i = 0; i < n && rc == AR_OK; i++)
        buf[i] = (float)tmp[i];
    ar_free(tmp);
    return rc;
}

/* Whether every value of x[0..n) is finite (exponent bits not all ones); vectorised. */
static bool row_finite(const float *restrict x, size_t n)
{
    int32_t bad = 0;
#pragma omp simd reduction(| : bad)
    for (size_t j = 0; j < n; j++)
        bad |= -(int32_t)((f2i(x[j]) & 0x7f800000) == 0x7f800000);
    return bad == 0;
}

/* Losses and gradients for rows [lo, hi) and models [m0, m1) of Z: adds each model's
 * reported loss to lp[m], its training weight to wp[m] and its weighted gradient sums to
 * cp[k]; Z becomes weight * dl/dz. `check` also checks the features are finite. Returns the
 * first bad row + 1 (0: none). Runs inside a parallel region: no allocation, no errors. */
static size_t grad_block(const struct ar_ll_trainer *t, const struct ar_batch *b, size_t lo,
                         size_t hi, size_t m0, size_t m1, bool check, double *restrict lp,
                         double *restrict wp, double *restrict cp)
{
    const struct ar_ll_config *c = &t->c;
    size_t C = t->n_out, K = t->n_k, bad = 0;
    bool report_units = c->predictor == AR_LL_REGRESSOR;
    for (size_t i = lo; i < hi && !bad; i++) {
        float *restrict zi = t->z + i * K;
        float yf = b->labels[i];
        double wi = b->weights ? (double)b->weights[i] : 1.0;
        if (!isfinite(yf) || !(wi >= 0) ||
            (c->predictor == AR_LL_BINARY && yf != 0.0f && yf != 1.0f) ||
            (c->predictor == AR_LL_MULTICLASS && (yf < 0 || yf >= (float)C || yf != floorf(yf)))) {
            bad = i + 1;
            break;
        }
        if (check && !b->is_sparse) {
            if (!row_finite(ar_mat_row(&b->dense, i), b->n_cols))
                bad = i + 1;
        } else if (check) {
            for (uint64_t p = b->csr.indptr[i]; p < b->csr.indptr[i + 1]; p++)
                if (!isfinite(b->csr.values[p]))
                    bad = i + 1;
        }
        if (bad)
            break;
        if (c->predictor == AR_LL_MULTICLASS) {
            size_t y = (size_t)yf;
            double wt = wi * t->class_w[y];
            for (size_t m = m0; m < m1; m++) {
                float *zm = zi + m * C;
                double l = softmax_eval(zm, C, y, zm);
                for (size_t o = 0; o < C; o++) {
                    zm[o] = flush((float)(wt * (double)zm[o]));
                    cp[m * C + o] += (double)zm[o];
                }
                lp[m] += wi * l;
                wp[m] += wt;
            }
        } else if (c->loss == AR_LL_LOSS_LOGISTIC) {
            /* The hot case, in float, vectorised over the models. */
            logistic_row(zi, t->posw_f, m0, m1, yf, (float)wi, cp, lp, wp);
        } else {
            double y = ((double)yf - t->y_mu) / t->y_sd;
            for (size_t m = m0; m < m1; m++) {
                double wt = c->predictor == AR_LL_BINARY && yf == 1.0f ? wi * t->posw[m] : wi;
                double g, z = (double)zi[m];
                double l = loss_eval(c->loss, &t->prm_train, z, y, &g);
                if (report_units) {
                    double g2;
                    l = loss_eval(c->loss, &t->prm_report, z * t->y_sd + t->y_mu, (double)yf, &g2);
                }
                zi[m] = flush((float)(wt * g));
                cp[m] += (double)zi[m];
                lp[m] += wi * l;
                wp[m] += wt;
            }
        }
    }
    return bad;
}

/* Row-parallel pass: thread slots of t->part hold partials (merged in thread order). */
static size_t grad_rows(struct ar_ll_trainer *t, const struct ar_batch *b)
{
    size_t n = b->n_rows, M = t->n_models, K = t->n_k;
    size_t stride = t->part_stride, bad_row = 0;
    int nt = ar_par_threads();
    memset(t->part, 0, (size_t)nt * stride * sizeof(double));
#pragma omp parallel num_threads(nt) if (n * K >= 8192)
    {
        int ith = ar_par_tid(), nth = ar_par_region_size();
        size_t lo, hi;
        ar_par_range(n, ith, nth, &lo, &hi);
        double *lp = t->part + (size_t)ith * stride; /* loss[M] wsum[M] colsum[K] */
        size_t bad = grad_block(t, b, lo, hi, 0, M, true, lp, lp + M, lp + 2 * M);
        if (bad) {
#pragma omp critical(ar_ll_bad_row)
            if (!bad_row || bad < bad_row)
                bad_row = bad;
        }
    }
    return bad_row;
}

/* Model-parallel pass (M >= threads): each thread owns a contiguous range of models and runs
 * their forward product, losses and backward product over the whole batch with
 * single-threaded BLAS, so a mini-batch costs one fork/join instead of one per product.
 * Sums land in slot 0 of t->part at disjoint indices. */
static size_t step_by_models(struct ar_ll_trainer *t, const struct ar_batch *b)
{
    size_t n = b->n_rows, M = t->n_models, C = t->n_out, K = t->n_k, d = t->d;
    size_t bad_row = 0;
    int nt = ar_par_threads();
    memset(t->part, 0, (size_t)nt * t->part_stride * sizeof(double));
    double *lp = t->part;
#pragma omp parallel num_threads(nt)
    {
        int ith = ar_par_tid();
        size_t m0, m1;
        ar_par_range(M, ith, ar_par_region_size(), &m0, &m1);
        if (m0 < m1) {
            forward_cols(b, d, K, m0 * C, m1 * C, t->wt, t->bt, t->z);
            size_t bad = grad_block(t, b, 0, n, m0, m1, ith == 0, lp, lp + M, lp + 2 * M);
            if (bad) {
#pragma omp critical(ar_ll_bad_row)
                if (!bad_row || bad < bad_row)
                    bad_row = bad;
            } else {
                backward_cols(b, d, K, m0 * C, m1 * C, t->z, t->gw);
            }
        }
    }
    return bad_row;
}

static int row_error(const struct ar_ll_config *c, const struct ar_batch *b, size_t i)
{
    if (b->weights && !(b->weights[i] >= 0))
        return ar_err_set(AR_ERR_INVALID,
                          "weight of record %zu of the batch is negative or not "
                          "a number",
                          i + 1);
    int rc = check_label(c, b->labels[i], i);
    if (rc != AR_OK) {
        ar_err_prefix("in the batch: ");
        return rc;
    }
    return ar_err_set(AR_ERR_INVALID,
                      "record %zu of the batch has a feature that is not a finite "
                      "number",
                      i + 1);
}

int ar_ll_trainer_step(struct ar_ll_trainer *t, const struct ar_batch *b)
{
    const struct ar_ll_config *c = &t->c;
    AR_TRY(check_batch_shape(t, b));
    size_t n = b->n_rows, M = t->n_models, C = t->n_out, K = t->n_k, d = t->d;
    if (n == 0)
        return AR_OK;
    AR_TRY(grow_z(t, n));
    ar_ll_trainer_fold(t);
    for (size_t m = 0; m < M; m++)
        t->posw_f[m] = (float)t->posw[m];
    bool by_models = ar_par_threads() > 1 && M >= (size_t)ar_par_threads();
    size_t bad;
    if (by_models) {
        bad = step_by_models(t, b);
    } else {
        AR_TRY(ar_ll_forward(b, d, K, t->wt, t->bt, t->z));
        bad = grad_rows(t, b);
    }
    if (bad)
        return row_error(c, b, bad - 1);

    /* Merge the per-thread partials in thread order, then across processes. */
    int nt = ar_par_threads();
    size_t nred = 2 * M + K;
    double *tot = t->part; /* thread 0's slot receives the totals */
    for (int th = 1; th < nt; th++) {
        const double *p = t->part + (size_t)th * t->part_stride;
        for (size_t i = 0; i < nred; i++)
            tot[i] += p[i];
    }
    AR_TRY(ar_reduce_sum_f64(tot, nred));
    for (size_t m = 0; m < M; m++) {
        t->ep_loss[m] += tot[m];
        t->wsum[m] = tot[M + m];
    }
    /* The reported loss is weighted by instance weights only: recompute that weight. */
    {
        double wi = 0;
        for (size_t i = 0; i < n; i++)
            wi += b->weights ? (double)b->weights[i] : 1.0;
        AR_TRY(ar_reduce_sum_f64(&wi, 1));
        for (size_t m = 0; m < M; m++)
            t->ep_w[m] += wi;
    }
    for (size_t k = 0; k < K; k++)
        t->colsum[k] = tot[2 * M + k];

    if (!by_models)
        backward(b, d, K, t->z, t->gw);
    AR_TRY(reduce_f32(t->gw, d * K));

    /* Optimizer step for every model. */
    t->steps++;
    double step = (double)t->steps;
    double bc1 = 1.0 - pow(c->beta1, step), bc2 = 1.0 - pow(c->beta2, step);
    double decay =
        c->use_sched ? pow(c->sched_factor, floor((step - 1) / (double)c->sched_step)) : 1.0;
    int opt = c->optimizer;
    /* Per-output step settings, then one region over feature rows for every model. */
    float *klr = t->kprm, *kwd = klr + K, *kl1 = kwd + K, *kis = kl1 + K;
    for (size_t m = 0; m < M; m++) {
        const struct ar_ll_model_cfg *mc = &t->mc[m];
        double S = t->wsum[m];
        double lr = mc->lr * decay;
        if (c->use_sched && lr < c->sched_min_lr)
            lr = mc->lr < c->sched_min_lr ? mc->lr : c->sched_min_lr;
        for (size_t o = 0; o < C; o++) {
            size_t k = m * C + o;
            klr[k] = S > 0 ? (float)lr : 0.0f; /* an all-zero-weight batch leaves m unchanged */
            kwd[k] = (float)mc->wd;
            kl1[k] = (float)(lr * mc->l1);
            kis[k] = S > 0 ? (float)(1.0 / S) : 0.0f;
        }
    }
    float b1 = (float)c->beta1, b2 = (float)c->beta2, mom = (float)c->momentum;
    float rho = (float)c->rms_decay, eps = (float)c->eps;
    float fbc1 = (float)bc1, fbc2 = (float)bc2;
#pragma omp parallel num_threads(nt) if (d * K >= 16384)
    {
        size_t lo, hi;
        ar_par_range(d, ar_par_tid(), ar_par_region_size(), &lo, &hi);
        for (size_t j = lo; j < hi; j++) {
            float isd = (float)t->inv_sd[j], muj = (float)t->mu[j];
            float *restrict w = t->w + j * K, *restrict s1 = t->s1 + j * K;
            float *restrict s2 = t->s2 + j * K;
            const float *restrict gw = t->gw + j * K;
            for (size_t k = 0; k < K; k++) {
                if (klr[k] == 0.0f)
                    continue;
                float g = (gw[k] - muj * (float)t->colsum[k]) * isd * kis[k] + kwd[k] * w[k];
                float wk = w[k];
                if (opt == AR_LL_OPT_SGD) {
                    s1[k] = flush(mom * s1[k] - klr[k] * g);
                    wk += s1[k];
                } else if (opt == AR_LL_OPT_ADAM) {
                    s1[k] = flush(b1 * s1[k] + (1 - b1) * g);
                    s2[k] = flush(b2 * s2[k] + (1 - b2) * g * g);
                    wk -= klr[k] * (s1[k] / fbc1) / (sqrtf(s2[k] / fbc2) + eps);
                } else {
                    s2[k] = flush(rho * s2[k] + (1 - rho) * g * g);
                    wk -= klr[k] * g / (sqrtf(s2[k]) + eps);
                }
                float l1 = kl1[k];
                if (l1 > 0) /* proximal step of the L1 penalty */
                    wk = wk > l1 ? wk - l1 : wk < -l1 ? wk + l1 : 0.0f;
                w[k] = flush(wk);
            }
        }
    }
    if (!c->use_bias)
        return AR_OK;
    for (size_t k = 0; k < K; k++) {
        if (klr[k] == 0.0f)
            continue;
        const struct ar_ll_model_cfg *mc = &t->mc[k / C];
        double blr = (double)klr[k] * c->bias_lr_mult, bwd = mc->wd * c->bias_wd_mult;
        double g = t->colsum[k] * (double)kis[k] + bwd * (double)t->b[k];
        double bb = (double)t->b[k];
        if (opt == AR_LL_OPT_SGD) {
            t->bs1[k] = c->momentum * t->bs1[k] - blr * g;
            bb += t->bs1[k];
        } else if (opt == AR_LL_OPT_ADAM) {
            t->bs1[k] = c->beta1 * t->bs1[k] + (1 - c->beta1) * g;
            t->bs2[k] = c->beta2 * t->bs2[k] + (1 - c->beta2) * g * g;
            bb -= blr * (t->bs1[k] / bc1) / (sqrt(t->bs2[k] / bc2) + c->eps);
        } else {
            t->bs2[k] = c->rms_decay * t->bs2[k] + (1 - c->rms_decay) * g * g;
            bb -= blr * g / (sqrt(t->bs2[k]) + c->eps);
        }
        t->b[k] = (float)bb;
    }
    return AR_OK;
}

void ar_ll_trainer_weights(struct ar_ll_trainer *t, size_t m, float *w, float *bias)
{
    ar_ll_trainer_fold(t);
    size_t C = t->n_out, K = t->n_k;
    double s = t->y_sd;
    for (size_t j = 0; j < t->d; j++)
        for (size_t o = 0; o < C; o++)
            w[j * C + o] = (float)(s * (double)t->wt[j * K + m * C + o]);
    for (size_t o = 0; o < C; o++)
        bias[o] = (float)(s * (double)t->bt[m * C + o] + t->y_mu);
}

int ar_ll_trainer_eval(const struct ar_ll_trainer *t, const struct ar_batch *b, float *z,
                       double *loss, double *wsum)
{
    const struct ar_ll_config *c = &t->c;
    size_t n = b->n_rows, M = t->n_models, C = t->n_out, K = t->n_k;
    bool labels = b->labels != NULL;
    for (size_t i = 0; labels && i < n; i++)
        AR_TRY(check_label(c, b->labels[i], i));
    int nt = ar_par_threads();
    size_t stride = t->part_stride;
    double *part = t->part;
    const bool fast_logistic = c->predictor == AR_LL_BINARY && c->loss == AR_LL_LOSS_LOGISTIC;
    memset(part, 0, (size_t)nt * stride * sizeof(double));
#pragma omp parallel num_threads(nt) if (n * K >= 8192)
    {
        int ith = ar_par_tid();
        size_t lo, hi;
        ar_par_range(n, ith, ar_par_region_size(), &lo, &hi);
        double *restrict lp = part + (size_t)ith * stride;
        double *restrict wp = lp + M;
        for (size_t i = lo; i < hi; i++) {
            float *restrict zi = z + i * K;
            double wi = b->weights ? (double)b->weights[i] : 1.0;
            float yf = labels ? b->labels[i] : 0.0f;
            if (fast_logistic) {
                logistic_score_row(zi, M, labels, yf, wi, lp, wp);
                continue;
            }
            for (size_t m = 0; m < M; m++) {
                if (c->predictor == AR_LL_MULTICLASS) {
                    float *zm = zi + m * C;
                    double mx = (double)zm[0], s = 0;
                    for (size_t o = 1; o < C; o++)
                        mx = fmax(mx, (double)zm[o]);
                    for (size_t o = 0; o < C; o++)
                        s += exp((double)zm[o] - mx);
                    double lse = mx + log(s);
                    if (labels)
                        lp[m] += wi * (lse - (double)zm[(size_t)yf]);
                    for (size_t o = 0; o < C; o++)
                        zm[o] = (float)exp((double)zm[o] - lse);
                } else {
                    double g, zv = (double)zi[m];
                    if (c->predictor == AR_LL_REGRESSOR)
                        zv = zv * t->y_sd + t->y_mu;
                    if (labels)
                        lp[m] += wi * loss_eval(c->loss, &t->prm_report, zv, (double)yf, &g);
                    zi[m] = (float)(c->loss == AR_LL_LOSS_LOGISTIC ? sigmoid(zv) : zv);
                }
                wp[m] += wi;
            }
        }
    }
    for (int th = 0; th < nt; th++) {
        const double *p = part + (size_t)th * stride;
        for (size_t m = 0; m < M; m++) {
            loss[m] += p[m];
            wsum[m] += p[M + m];
        }
    }
    return AR_OK;
}
