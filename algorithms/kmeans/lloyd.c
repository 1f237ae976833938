/* The local Lloyd reduction: weighted Lloyd iterations on the streaming centres (weighted by
 * the points each absorbed), restarted opts->trials times, keeping the lowest weighted mean
 * squared distance. An empty cluster is moved to the point with the largest weighted squared
 * distance to its centre (each such point is used once per iteration). */
#include <math.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

/* Weighted mean squared distance, summed serially in point order. */
static double weighted_msd(const double *w, const double *d2, size_t n, double wsum)
{
    double s = 0, comp = 0; /* Neumaier */
    for (size_t i = 0; i < n; i++) {
        double v = w[i] * d2[i], t = s + v;
        comp += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
        s = t;
    }
    return (s + comp) / wsum;
}

int ar_km_lloyd(const float *pts, const double *w, size_t n, size_t dim,
                const struct ar_km_lloyd_opts *opts, float *out, double *msd_out)
{
    size_t k = opts->k;
    AR_ASSERT(k >= 1 && k <= n);
    struct ar_batch x;
    memset(&x, 0, sizeof x);
    x.n_rows = n;
    x.n_cols = dim;
    x.dense = ar_mat_view((float *)pts, n, dim, dim);
    double wsum = 0;
    for (size_t i = 0; i < n; i++)
        wsum += w[i];
    AR_ASSERT(wsum > 0);

    float *cur = ar_allocn(k * dim, sizeof *cur);
    uint32_t *assign = ar_allocn(n, sizeof *assign);
    double *d2 = ar_allocn(n, sizeof *d2);
    double *sums = ar_allocn(k * dim, sizeof *sums);
    double *cnt = ar_allocn(k, sizeof *cnt);
    int rc;
    if (!cur || !assign || !d2 || !sums || !cnt) {
        rc = AR_ERR_NOMEM;
        goto done;
    }
    rc = AR_OK;
    double best = HUGE_VAL;
    for (int64_t trial = 0; trial < opts->trials; trial++) {
        rc = ar_km_init_centres(&x, w, k, dim, opts->init, opts->seed, 1000 + (uint64_t)trial, cur);
        if (rc != AR_OK)
            goto done;
        double loss = HUGE_VAL;
        for (int64_t it = 0;; it++) {
            struct ar_km_centres cs;
            rc = ar_km_centres_init(&cs, cur, k, dim);
            if (rc == AR_OK)
                rc = ar_km_assign(&cs, &x, assign, d2);
            ar_km_centres_release(&cs);
            if (rc != AR_OK)
                goto done;
            double now = weighted_msd(w, d2, n, wsum);
            bool converged = isfinite(loss) && !(loss - now > opts->tol * loss);
            loss = now;
            if (converged || loss == 0 || it >= opts->max_iter)
                break;
            memset(sums, 0, k * dim * sizeof *sums);
            memset(cnt, 0, k * sizeof *cnt);
            rc = ar_km_accumulate(&x, w, assign, k, dim, sums, cnt);
            if (rc != AR_OK)
                goto done;
            for (size_t j = 0; j < k; j++) {
                float *c = cur + j * dim;
                if (cnt[j] > 0) {
                    for (size_t t = 0; t < dim; t++)
                        c[t] = (float)(sums[j * dim + t] / cnt[j]);
                    continue;
                }
                size_t far = SIZE_MAX;
                double far_v = 0;
                for (size_t i = 0; i < n; i++) {
                    double v = w[i] * d2[i];
                    if (v > far_v) {
                        far_v = v;
                        far = i;
                    }
                }
                if (far != SIZE_MAX) {
                    memcpy(c, pts + far * dim, dim * sizeof *c);
                    d2[far] = 0;
                }
            }
        }
        AR_INFO("local kmeans attempt #%lld. Current mean square distance %.17g", (long long)trial,
                loss);
        if (loss < best) {
            best = loss;
            memcpy(out, cur, k * dim * sizeof *out);
        }
    }
    *msd_out = best;
done:
    ar_free(cur);
    ar_free(assign);
    ar_free(d2);
    ar_free(sums);
    ar_free(cnt);
    return rc;
}
