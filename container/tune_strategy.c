/* Tuning strategies: which configuration trial n runs, given the trials so far.
 *
 * Random: trial n samples the scaled space with its own stream (seed, n), so the same seed gives
 * the same configurations whatever the timing. Grid: the n-th grid point. Bayesian: random for
 * the first trials, then the candidate maximising expected improvement under a GP fitted to the
 * finished trials (running trials count as observations at the mean, the "constant liar", so
 * parallel proposals spread out). Hyperband: successive halving brackets on the algorithm's
 * resource, synchronous per rung; a rung's survivors are the best trials of the rung before. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container/tune.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rng.h"

#define HB_ETA 3

static const char *const strategy_names[] = {"Random", "Grid", "Bayesian", "Hyperband"};

int ar_tune_strategy_parse(const char *s, enum ar_tune_strategy *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, strategy_names[i]) == 0) {
            *out = (enum ar_tune_strategy)i;
            return AR_OK;
        }
    return ar_err_set(AR_ERR_PARAM, "--strategy '%s' must be Random, Grid, Bayesian or Hyperband",
                      s);
}

const char *ar_tune_strategy_name(enum ar_tune_strategy s)
{
    return (unsigned)s < 4 ? strategy_names[s] : "?";
}

static void random_config(const struct ar_tune_config *cfg, size_t n, double *x)
{
    struct ar_rng rng;
    ar_rng_init(&rng, cfg->seed, 0x7475000000ULL + (uint64_t)n);
    ar_tune_sample(cfg->space, &rng, x);
}

/* ---- Bayesian ---- */

static int bayesian(const struct ar_tune_config *cfg, const struct ar_tune_trial *trials, size_t n,
                    double *x_out)
{
    const struct ar_tune_space *sp = cfg->space;
    size_t n_init = sp->n + 1 < 3 ? 3 : sp->n + 1 > 10 ? 10 : sp->n + 1;
    size_t n_obs = 0;
    for (size_t i = 0; i < n; i++)
        n_obs += trials[i].state == AR_TRIAL_DONE && trials[i].has_objective;
    if (n < n_init || n_obs < 2) {
        random_config(cfg, n, x_out);
        return AR_OK;
    }
    size_t d = ar_tune_unit_dim(sp);
    size_t m = cfg->n_candidates ? cfg->n_candidates : 2000;
    double *X = ar_allocn(n * d, sizeof *X);
    double *y = ar_allocn(n, sizeof *y);
    double *cand = ar_allocn(m * AR_TUNE_MAX_PARAMS, sizeof *cand);
    double *cu = ar_allocn(m * d, sizeof *cu);
    double *mu = ar_allocn(m, sizeof *mu);
    double *sd = ar_allocn(m, sizeof *sd);
    size_t *order = ar_allocn(n, sizeof *order);
    struct ar_gp *gp = NULL;
    int rc = X && y && cand && cu && mu && sd && order ? AR_OK : AR_ERR_NOMEM;
    if (rc != AR_OK)
        goto out;
    /* Observations (minimisation), then the running trials at the observed mean. */
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (trials[i].state != AR_TRIAL_DONE || !trials[i].has_objective)
            continue;
        ar_tune_encode(sp, trials[i].x, X + k * d);
        y[k] = cfg->maximize ? -trials[i].objective : trials[i].objective;
        sum += y[k];
        order[k] = i;
        k++;
    }
    double best = HUGE_VAL, lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < k; i++) {
        best = y[i] < best ? y[i] : best;
        lo = y[i] < lo ? y[i] : lo;
        hi = y[i] > hi ? y[i] : hi;
    }
    double liar = sum / (double)k;
    size_t n_obs_only = k;
    for (size_t i = 0; i < n; i++) {
        if (trials[i].state != AR_TRIAL_RUNNING)
            continue;
        ar_tune_encode(sp, trials[i].x, X + k * d);
        y[k++] = liar;
    }
    rc = ar_gp_fit(X, y, k, d, cfg->kernel, &gp);
    if (rc != AR_OK)
        goto out;
    /* Candidates: uniform samples, plus local moves around the best observations. */
    struct ar_rng rng;
    ar_rng_init(&rng, cfg->seed, 0x6270000000ULL + (uint64_t)n);
    /* Sort observed indices by objective (small top-5 selection). */
    size_t top[5], n_top = 0;
    for (size_t t = 0; t < 5 && t < n_obs_only; t++) {
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < n_obs_only; i++) {
            bool taken = false;
            for (size_t q = 0; q < n_top; q++)
                taken |= top[q] == i;
            if (!taken && (bi == SIZE_MAX || y[i] < y[bi]))
                bi = i;
        }
        top[n_top++] = bi;
    }
    for (size_t c = 0; c < m; c++) {
        double *xc = cand + c * AR_TUNE_MAX_PARAMS;
        if (c < m * 7 / 10) {
            ar_tune_sample(sp, &rng, xc);
        } else {
            size_t t = top[c % n_top];
            double scale = (c % 3 == 0) ? 0.02 : (c % 3 == 1) ? 0.07 : 0.2;
            ar_tune_perturb(sp, &rng, trials[order[t]].x, scale, xc);
        }
        ar_tune_encode(sp, xc, cu + c * d);
    }
    rc = ar_gp_predict(gp, cu, m, mu, sd);
    if (rc != AR_OK)
        goto out;
    double xi = 0.001 * (hi > lo ? hi - lo : 1.0);
    double best_ei = -1;
    size_t pick = 0;
    for (size_t c = 0; c < m; c++) {
        /* Skip candidates that repeat an existing trial. */
        bool dup = false;
        for (size_t i = 0; i < k && !dup; i++) {
            double dist = 0;
            for (size_t j = 0; j < d; j++) {
                double t = cu[c * d + j] - X[i * d + j];
                dist += t * t;
            }
            dup = dist < 1e-18;
        }
        if (dup)
            continue;
        double ei = ar_gp_expected_improvement(mu[c], sd[c], best, xi);
        if (ei > best_ei) {
            best_ei = ei;
            pick = c;
        }
    }
    memcpy(x_out, cand + pick * AR_TUNE_MAX_PARAMS, sp->n * sizeof *x_out);
out:
    ar_gp_free(gp);
    ar_free(X);
    ar_free(y);
    ar_free(cand);
    ar_free(cu);
    ar_free(mu);
    ar_free(sd);
    ar_free(order);
    return rc;
}

/* ---- Hyperband ---- */

struct hb_slot {
    size_t rung_start, rung_len; /* this rung's trials (indices within the iteration) */
    size_t prev_start, prev_len; /* the rung before (prev_len 0 for rung 0) */
    size_t slot;                 /* position within the rung */
    long resource;
};

static int hb_smax(const struct ar_tune_config *cfg)
{
    double ratio = (double)cfg->max_resource / (double)cfg->min_resource;
    int s = (int)floor(log(ratio) / log((double)HB_ETA) + 1e-9);
    return s < 0 ? 0 : s;
}

/* Walks the plan of one iteration; fills *slot for index `want` and returns the iteration's
 * size. */
static size_t hb_walk(const struct ar_tune_config *cfg, size_t want, struct hb_slot *out)
{
    int smax = hb_smax(cfg);
    size_t pos = 0;
    for (int s = smax; s >= 0; s--) {
        double n_s = ceil((double)(smax + 1) / (double)(s + 1) * pow(HB_ETA, s));
        size_t prev_start = 0, prev_len = 0;
        for (int i = 0; i <= s; i++) {
            size_t n_i = (size_t)floor(n_s * pow(HB_ETA, -i) + 1e-9);
            if (n_i == 0)
                break;
            double r = (double)cfg->max_resource * pow(HB_ETA, i - s);
            long res = (long)floor(r + 0.5);
            if (res < cfg->min_resource)
                res = cfg->min_resource;
            if (res > cfg->max_resource)
                res = cfg->max_resource;
            if (out && want >= pos && want < pos + n_i) {
                out->rung_start = pos;
                out->rung_len = n_i;
                out->prev_start = prev_start;
                out->prev_len = prev_len;
                out->slot = want - pos;
                out->resource = res;
            }
            prev_start = pos;
            prev_len = n_i;
            pos += n_i;
        }
    }
    return pos;
}

size_t ar_tune_hyperband_size(const struct ar_tune_config *cfg)
{
    return hb_walk(cfg, 0, NULL);
}

static int better(const struct ar_tune_config *cfg, const struct ar_tune_trial *a,
                  const struct ar_tune_trial *b)
{
    if (a->has_objective != b->has_objective)
        return a->has_objective;
    if (!a->has_objective)
        return 0;
    return cfg->maximize ? a->objective > b->objective : a->objective < b->objective;
}

static int hyperband(const struct ar_tune_config *cfg, const struct ar_tune_trial *trials, size_t n,
                     struct ar_tune_trial *next, enum ar_tune_next *what)
{
    size_t size = ar_tune_hyperband_size(cfg);
    size_t base = n / size * size;
    struct hb_slot sl;
    hb_walk(cfg, n - base, &sl);
    next->resource = sl.resource;
    if (sl.prev_len == 0) {
        random_config(cfg, n, next->x);
        *what = AR_TUNE_READY;
        return AR_OK;
    }
    const struct ar_tune_trial *prev = trials + base + sl.prev_start;
    for (size_t i = 0; i < sl.prev_len; i++)
        if (prev[i].state != AR_TRIAL_DONE) {
            *what = AR_TUNE_WAIT;
            return AR_OK;
        }
    /* The slot-th best of the previous rung (ties: lower index first). */
    size_t chosen[1024];
    size_t n_chosen = 0;
    for (size_t r = 0; r <= sl.slot; r++) {
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < sl.prev_len; i++) {
            bool taken = false;
            for (size_t q = 0; q < n_chosen; q++)
                taken |= chosen[q] == i;
            if (!taken && (bi == SIZE_MAX || better(cfg, &prev[i], &prev[bi])))
                bi = i;
        }
        if (bi == SIZE_MAX || n_chosen >= sizeof chosen / sizeof chosen[0])
            return ar_err_set(AR_ERR_INTERNAL, "hyperband: rung too small");
        chosen[n_chosen++] = bi;
    }
    memcpy(next->x, prev[chosen[sl.slot]].x, sizeof next->x);
    *what = AR_TUNE_READY;
    return AR_OK;
}

/* ---- dispatch ---- */

int ar_tune_propose(const struct ar_tune_config *cfg, const struct ar_tune_trial *trials, size_t n,
                    struct ar_tune_trial *next, enum ar_tune_next *what)
{
    memset(next, 0, sizeof *next);
    next->state = AR_TRIAL_RUNNING;
    *what = AR_TUNE_READY;
    if (cfg->max_jobs > 0 && (long)n >= cfg->max_jobs) {
        *what = AR_TUNE_DONE;
        return AR_OK;
    }
    switch (cfg->strategy) {
    case AR_TUNE_RANDOM:
        random_config(cfg, n, next->x);
        return AR_OK;
    case AR_TUNE_GRID: {
        size_t g = ar_tune_grid_size(cfg->space);
        if (n >= g) {
            *what = AR_TUNE_DONE;
            return AR_OK;
        }
        ar_tune_grid_point(cfg->space, n, next->x);
        return AR_OK;
    }
    case AR_TUNE_BAYESIAN:
        return bayesian(cfg, trials, n, next->x);
    case AR_TUNE_HYPERBAND:
        if (cfg->min_resource < 1 || cfg->max_resource < cfg->min_resource)
            return ar_err_set(AR_ERR_PARAM, "Hyperband needs 1 <= min resource <= max resource");
        return hyperband(cfg, trials, n, next, what);
    }
    return ar_err_set(AR_ERR_INTERNAL, "unknown strategy %d", (int)cfg->strategy);
}

/* ---- early stopping ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bool ar_tune_should_stop(bool maximize, const double *cur, size_t n_cur, const double *const *ref,
                         const size_t *n_ref, size_t n_refs, size_t min_ref)
{
    if (n_cur == 0)
        return false;
    size_t step = n_cur - 1;
    double avgs[1024];
    size_t k = 0;
    for (size_t r = 0; r < n_refs && k < sizeof avgs / sizeof avgs[0]; r++) {
        if (n_ref[r] <= step)
            continue;
        double s = 0;
        for (size_t i = 0; i <= step; i++)
            s += ref[r][i];
        avgs[k++] = s / (double)(step + 1);
    }
    if (k < min_ref || k == 0)
        return false;
    qsort(avgs, k, sizeof *avgs, cmp_double);
    double med = k % 2 ? avgs[k / 2] : 0.5 * (avgs[k / 2 - 1] + avgs[k / 2]);
    double v = cur[step];
    return maximize ? v < med : v > med;
}
