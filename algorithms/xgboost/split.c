/* Split gain and the best-split search of one node, as XGBoost 1.7's hist evaluator does it:
 * weights and gains from double sums (CalcWeight, TreeEvaluator::CalcGainGivenWeight returning
 * float), forward enumeration with missing values going right, then, when the node has missing
 * values, backward enumeration with missing values going left; candidates replace the best
 * only when strictly better, ties going to the lower feature index (SplitEntry::NeedReplace). */
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "algorithms/xgboost/gbt.h"

static inline double threshold_l1(double w, double alpha)
{
    if (w > alpha)
        return w - alpha;
    if (w < -alpha)
        return w + alpha;
    return 0.0;
}

double ar_gbt_calc_weight(const struct ar_gbt_tparam *p, double g, double h)
{
    if (h < p->min_child_weight || h <= 0.0)
        return 0.0;
    double dw = -threshold_l1(g, p->alpha) / (h + p->lambda);
    if (p->max_delta_step != 0.0 && fabs(dw) > p->max_delta_step)
        dw = copysign(p->max_delta_step, dw);
    return dw;
}

float ar_gbt_bounded_weight(const struct ar_gbt_tparam *p, struct ar_gbt_bounds bd, double g,
                            double h, bool constrained)
{
    float w = (float)ar_gbt_calc_weight(p, g, h);
    if (!constrained)
        return w;
    if (w < bd.lower)
        return bd.lower;
    if (w > bd.upper)
        return bd.upper;
    return w;
}

static inline float gain_given_weight(const struct ar_gbt_tparam *p, double g, double h, float w,
                                      bool constrained)
{
    if (h <= 0.0)
        return 0.0f;
    if (p->max_delta_step == 0.0 && !constrained) {
        double t = threshold_l1(g, p->alpha);
        return (float)(t * t) / (float)(h + p->lambda);
    }
    float gf = (float)g, hf = (float)h;
    float lam = (float)p->lambda;
    return (float)(-(2.0 * (double)gf * (double)w + (double)(hf + lam) * (double)(w * w)));
}

float ar_gbt_bounded_gain(const struct ar_gbt_tparam *p, struct ar_gbt_bounds bd, double g,
                          double h, bool constrained)
{
    float w = ar_gbt_bounded_weight(p, bd, g, h, constrained);
    return gain_given_weight(p, g, h, w, constrained);
}

float ar_gbt_calc_gain(const struct ar_gbt_tparam *p, double g, double h)
{
    struct ar_gbt_bounds bd = {-INFINITY, INFINITY};
    return ar_gbt_bounded_gain(p, bd, g, h, false);
}

/* The gain of one side in the common case (no monotone constraint, max_delta_step 0): exactly
 * gain_given_weight's unconstrained branch, which needs no weight. */
static inline float plain_gain(const struct ar_gbt_tparam *p, double g, double h)
{
    if (h <= 0.0)
        return 0.0f;
    double t = threshold_l1(g, p->alpha);
    return (float)(t * t) / (float)(h + p->lambda);
}

/* `plain`: !constrained and max_delta_step == 0, where the weights are not needed. */
static inline float split_gain(const struct ar_gbt_tparam *p, struct ar_gbt_bounds bd, int c,
                               bool constrained, bool plain, double lg, double lh, double rg,
                               double rh)
{
    if (plain)
        return plain_gain(p, lg, lh) + plain_gain(p, rg, rh);
    float wl = ar_gbt_bounded_weight(p, bd, lg, lh, constrained);
    float wr = ar_gbt_bounded_weight(p, bd, rg, rh, constrained);
    float gain = gain_given_weight(p, lg, lh, wl, constrained) +
                 gain_given_weight(p, rg, rh, wr, constrained);
    if (c == 0)
        return gain;
    if (c > 0)
        return wl <= wr ? gain : -INFINITY;
    return wl >= wr ? gain : -INFINITY;
}

static inline bool need_replace(const struct ar_gbt_split *best, float loss, uint32_t feature)
{
    if (isinf(loss))
        return false;
    if (best->feature <= feature)
        return loss > best->loss_chg;
    return !(best->loss_chg > loss);
}

#if defined(__SSE2__)
/* The forward scan of one feature in the plain case with alpha 0 (then threshold_l1(g)^2 is
 * g * g), two bins per step: the prefix sums stay sequential and scalar, the gains of both
 * bins are computed in vector lanes with the same IEEE operations as plain_gain (products and
 * sums in double, conversions to float, float division and sums), and the candidates are then
 * offered to `best` in bin order, so the outcome equals the scalar scan's. Returns the prefix
 * sums after the bins it handled in *lg, *lh and the count of bins handled (even). */
static uint32_t scan_forward_sse2(const struct ar_gbt_tparam *p, const double *h, uint32_t nb,
                                  double sum_g, double sum_h, float root_gain, uint32_t f,
                                  const float *cut, struct ar_gbt_split *best, bool *found,
                                  double *lg_out, double *lh_out)
{
    const __m128d mcw = _mm_set1_pd(p->min_child_weight), lam = _mm_set1_pd(p->lambda);
    const __m128d zero = _mm_setzero_pd(), sg = _mm_set1_pd(sum_g), sh = _mm_set1_pd(sum_h);
    const __m128 root = _mm_set1_ps(root_gain);
    double lg = 0.0, lh = 0.0;
    uint32_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const double lg0 = lg + h[2 * i], lh0 = lh + h[2 * i + 1];
        lg = lg0 + h[2 * i + 2];
        lh = lh0 + h[2 * i + 3];
        const __m128d LG = _mm_set_pd(lg, lg0), LH = _mm_set_pd(lh, lh0);
        const __m128d RG = _mm_sub_pd(sg, LG), RH = _mm_sub_pd(sh, LH);
        /* gain = h <= 0 ? 0 : (float)(g * g) / (float)(h + lambda), per side */
        const __m128 gl =
            _mm_div_ps(_mm_cvtpd_ps(_mm_mul_pd(LG, LG)), _mm_cvtpd_ps(_mm_add_pd(LH, lam)));
        const __m128 gr =
            _mm_div_ps(_mm_cvtpd_ps(_mm_mul_pd(RG, RG)), _mm_cvtpd_ps(_mm_add_pd(RH, lam)));
        const __m128 zl = _mm_cvtpd_ps(_mm_cmple_pd(LH, zero)); /* NaN lanes where h <= 0 */
        const __m128 zr = _mm_cvtpd_ps(_mm_cmple_pd(RH, zero));
        const int dead_l = _mm_movemask_ps(_mm_cmpunord_ps(zl, zl)) & 3;
        const int dead_r = _mm_movemask_ps(_mm_cmpunord_ps(zr, zr)) & 3;
        const int valid = _mm_movemask_pd(_mm_and_pd(_mm_cmpge_pd(LH, mcw), _mm_cmpge_pd(RH, mcw)));
        if (!valid)
            continue;
        float gls[4], grs[4];
        _mm_storeu_ps(gls, gl);
        _mm_storeu_ps(grs, gr);
        for (int j = 0; j < 2; j++) {
            if (!(valid >> j & 1))
                continue;
            const float a = (dead_l >> j & 1) ? 0.0f : gls[j];
            const float c = (dead_r >> j & 1) ? 0.0f : grs[j];
            float loss[4];
            _mm_store_ss(loss, _mm_sub_ss(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(c)), root));
            if (need_replace(best, loss[0], f)) {
                const uint32_t bin = i + (uint32_t)j;
                best->loss_chg = loss[0];
                best->feature = f;
                best->bin = (int32_t)bin;
                best->value = cut[bin];
                best->default_left = false;
                best->lg = j ? lg : lg0;
                best->lh = j ? lh : lh0;
                best->rg = sum_g - best->lg;
                best->rh = sum_h - best->lh;
                *found = true;
            }
        }
    }
    *lg_out = lg;
    *lh_out = lh;
    return i;
}
#endif

void ar_gbt_split_find(const struct ar_gbt_tparam *p, const struct ar_gbt_cuts *cuts,
                       const struct ar_gbt_binmat *b, const double *hist, double sum_g,
                       double sum_h, const uint32_t *feats, size_t n_feats, const int8_t *monotone,
                       struct ar_gbt_bounds bounds, struct ar_gbt_split *best, bool *found)
{
    const bool constrained = monotone != NULL;
    const double mcw = p->min_child_weight;
    const float root_gain = ar_gbt_bounded_gain(p, bounds, sum_g, sum_h, constrained);
    const bool plain = !constrained && p->max_delta_step == 0.0;
    best->loss_chg = 0.0f;
    best->feature = 0;
    *found = false;
    for (size_t k = 0; k < n_feats; k++) {
        const uint32_t f = feats[k];
        const int c = constrained ? monotone[f] : 0;
        const uint32_t nb = cuts->ptr[f + 1] - cuts->ptr[f];
        const float *cut = cuts->values + cuts->ptr[f];
        const double *h = hist + 2 * (size_t)b->hist_off[f];
        /* forward: missing values go right */
        double lg = 0.0, lh = 0.0;
        uint32_t i0 = 0;
#if defined(__SSE2__)
        if (plain && p->alpha == 0.0)
            i0 =
                scan_forward_sse2(p, h, nb, sum_g, sum_h, root_gain, f, cut, best, found, &lg, &lh);
#endif
        for (uint32_t i = i0; i < nb; i++) {
            lg += h[2 * i];
            lh += h[2 * i + 1];
            double rg = sum_g - lg, rh = sum_h - lh;
            if (lh >= mcw && rh >= mcw) {
                float loss =
                    split_gain(p, bounds, c, constrained, plain, lg, lh, rg, rh) - root_gain;
                if (need_replace(best, loss, f)) {
                    best->loss_chg = loss;
                    best->feature = f;
                    best->bin = (int32_t)i;
                    best->value = cut[i];
                    best->default_left = false;
                    best->lg = lg;
                    best->lh = lh;
                    best->rg = rg;
                    best->rh = rh;
                    *found = true;
                }
            }
        }
        const double mg = h[2 * nb], mh = h[2 * nb + 1];
        if (mg == 0.0 && mh == 0.0)
            continue;
        /* backward: missing values go left */
        double ag = 0.0, ah = 0.0;
        for (uint32_t i = nb; i-- > 0;) {
            ag += h[2 * i];
            ah += h[2 * i + 1];
            double og = sum_g - ag, oh = sum_h - ah;
            if (ah >= mcw && oh >= mcw) {
                float loss =
                    split_gain(p, bounds, c, constrained, plain, og, oh, ag, ah) - root_gain;
                if (need_replace(best, loss, f)) {
                    best->loss_chg = loss;
                    best->feature = f;
                    best->bin = (int32_t)i - 1;
                    best->value = i == 0 ? cuts->min_vals[f] : cut[i - 1];
                    best->default_left = true;
                    best->lg = og;
                    best->lh = oh;
                    best->rg = ag;
                    best->rh = ah;
                    *found = true;
                }
            }
        }
    }
}
