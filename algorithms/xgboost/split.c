/* Split gain and the best-split search of one node, as XGBoost 1.7's hist evaluator does it:
 * weights and gains from double sums (CalcWeight, TreeEvaluator::CalcGainGivenWeight returning
 * float), forward enumeration with missing values going right, then, when the node has missing
 * values, backward enumeration with missing values going left; candidates replace the best
 * only when strictly better, ties going to the lower feature index (SplitEntry::NeedReplace). */
#include <math.h>

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
        for (uint32_t i = 0; i < nb; i++) {
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
