/* Decision-threshold calibration for binary classifiers: sort the calibration scores once,
 * sweep every distinct threshold with running weighted confusion counts, and keep the one that
 * maximises the selection criterion (ties: the threshold nearest the natural one). */
#include <math.h>
#include <string.h>

#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/mem.h"

/* order[] = indices of score sorted by descending score, ties by ascending index: an LSD radix
 * sort over order-preserving 32-bit keys (up to 4 passes of 8 bits; stable, so ties keep index
 * order). The four digit histograms come from one read of the keys, and a digit that is the
 * same for every key (common for the high bits of probabilities) costs no pass. AR_ERR_NOMEM. */
static int sort_desc(const float *score, size_t n, uint32_t *order)
{
    uint32_t *buf = ar_allocn(n, 3 * sizeof(uint32_t));
    if (!buf)
        return AR_ERR_NOMEM;
    uint32_t *key = buf, *key2 = buf + n, *idx2 = buf + 2 * n, *idx = order;
    size_t count[4][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        float f = score[i];
        memcpy(&u, &f, 4);
        u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending with the float */
        u = ~u;                                         /* ascending key = descending score */
        key[i] = u;
        order[i] = (uint32_t)i;
        count[0][u & 0xffu]++;
        count[1][(u >> 8) & 0xffu]++;
        count[2][(u >> 16) & 0xffu]++;
        count[3][u >> 24]++;
    }
    for (int d = 0; d < 4; d++) {
        size_t *cnt = count[d], sum = 0;
        bool trivial = false;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[b];
            trivial |= c == n;
            cnt[b] = sum; /* exclusive prefix: first slot of bucket b */
            sum += c;
        }
        if (trivial)
            continue;
        int shift = 8 * d;
        for (size_t i = 0; i < n; i++) {
            size_t dst = cnt[(key[i] >> shift) & 0xffu]++;
            key2[dst] = key[i];
            idx2[dst] = idx[i];
        }
        uint32_t *tk = key, *ti = idx; /* swap source and destination */
        key = key2;
        idx = idx2;
        key2 = tk;
        idx2 = ti;
    }
    if (idx != order)
        memcpy(order, idx, n * sizeof *order);
    ar_free(buf);
    return AR_OK;
}

/* A threshold strictly between lo < hi that keeps every score >= hi positive and every score
 * <= lo negative. */
static double between(float hi, float lo)
{
    float mid = (float)(0.5 * ((double)hi + (double)lo));
    return mid > lo && mid <= hi ? (double)mid : (double)hi;
}

int ar_ll_calibrate(int criterion, double beta, double target_recall, double target_precision,
                    double natural, const float *score, const float *y, const float *w, size_t n,
                    uint32_t *order, struct ar_ll_calib *out)
{
    out->value = 0;
    out->threshold = natural;
    if (n == 0)
        return ar_err_set(AR_ERR_INVALID, "threshold calibration needs at least one record");
    if (n > UINT32_MAX)
        return ar_err_set(AR_ERR_LIMIT, "threshold calibration over %zu records", n);
    double P = 0, N = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(score[i]))
            return ar_err_set(AR_ERR_INVALID, "calibration score %zu is not finite", i + 1);
        double wi = w ? (double)w[i] : 1.0;
        if (y[i] > 0.5f)
            P += wi;
        else
            N += wi;
        order[i] = (uint32_t)i;
    }
    if (criterion == AR_LL_CRIT_LOSS)
        return AR_OK;
    AR_TRY(sort_desc(score, n, order));
    /* Scores and weighted positive / negative masses in sorted order, contiguous. */
    float *ss = ar_allocn(n, sizeof *ss);
    double *pw = ar_allocn(n, 2 * sizeof *pw);
    if (!ss || !pw) {
        ar_free(ss);
        ar_free(pw);
        return AR_ERR_NOMEM;
    }
    double *nw = pw + n;
    for (size_t i = 0; i < n; i++) {
        uint32_t o = order[i];
        double wi = w ? (double)w[o] : 1.0;
        bool pos = y[o] > 0.5f;
        ss[i] = score[o];
        pw[i] = pos ? wi : 0.0;
        nw[i] = pos ? 0.0 : wi;
    }
    int rc = AR_OK;
    double b2 = beta * beta;
    double best = -HUGE_VAL, best_thr = natural, best_dist = HUGE_VAL;
    double fb_best = -HUGE_VAL, fb_thr = natural; /* fallback when no threshold is feasible */
    double tp = 0, fp = 0;
    /* Candidate c: the top c distinct-score groups are positive (c = 0: none). */
    for (size_t i = 0;;) {
        double fn = P - tp, tn = N - fp;
        double v = -HUGE_VAL, fb = -HUGE_VAL;
        switch (criterion) {
        case AR_LL_CRIT_ACCURACY:
            v = P + N > 0 ? (tp + tn) / (P + N) : 0.0;
            break;
        case AR_LL_CRIT_F_BETA: {
            double den = (1 + b2) * tp + b2 * fn + fp;
            v = den > 0 ? (1 + b2) * tp / den : 0.0;
            break;
        }
        case AR_LL_CRIT_PRECISION_AT_RECALL:
        case AR_LL_CRIT_RECALL_AT_PRECISION: {
            double prec = tp + fp > 0 ? tp / (tp + fp) : 0.0;
            double rec = P > 0 ? tp / P : 0.0;
            if (criterion == AR_LL_CRIT_PRECISION_AT_RECALL) {
                if (rec >= target_recall)
                    v = prec;
                fb = rec;
            } else {
                if (prec >= target_precision && tp > 0)
                    v = rec;
                fb = prec;
            }
            break;
        }
        default:
            rc = ar_err_set(AR_ERR_INTERNAL, "unknown selection criterion %d", criterion);
            goto out;
        }
        bool better = v > best + 1e-12, tie = fabs(v - best) <= 1e-12;
        bool fb_better = fb > fb_best + 1e-12;
        if (better || tie || fb_better) { /* the threshold is only formed when it may be kept */
            double thr;
            if (i == 0) /* thresholds are stored as float */
                thr = (double)nextafterf(ss[0], HUGE_VALF);
            else if (i < n)
                thr = between(ss[i - 1], ss[i]);
            else
                thr = (double)ss[n - 1];
            double dist = fabs(thr - natural);
            if (better || (tie && dist < best_dist)) {
                best = v;
                best_thr = thr;
                best_dist = dist;
            }
            if (fb_better) {
                fb_best = fb;
                fb_thr = thr;
            }
        }
        if (i == n)
            break;
        /* Move the next group of equal scores to the positive side. */
        float s = ss[i];
        while (i < n && ss[i] == s) {
            tp += pw[i];
            fp += nw[i];
            i++;
        }
    }
    if (best == -HUGE_VAL) {
        out->value = 0;
        out->threshold = fb_thr;
    } else {
        out->value = best;
        out->threshold = best_thr;
    }
out:
    ar_free(ss);
    ar_free(pw);
    return rc;
}
