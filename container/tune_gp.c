/* The Bayesian strategy's surrogate: a Gaussian process on the unit-encoded search space.
 *
 * Targets are standardised; the kernel is Matérn 5/2 or RBF with one length scale shared by all
 * dimensions. For each (length scale, noise ratio) on a small grid we factor C + noise I with
 * ar_lapack_dpotrf and take the closed-form signal variance s2 = y' (C + noise I)^-1 y / n; the
 * pair with the highest marginal likelihood
 *   log p(y) = -n/2 log s2 - sum(log diag L) - n/2 (1 + log 2 pi)
 * is kept. Prediction: mean = c' alpha, variance = s2 (1 - c' (C + noise I)^-1 c). */
#include <math.h>
#include <string.h>

#include "container/tune.h"
#include "core/blas.h"
#include "core/err.h"
#include "core/mem.h"

struct ar_gp {
    size_t n, d;
    enum ar_gp_kernel kernel;
    double length, noise, s2;
    double y_mean, y_sd;
    double *x;     /* n x d */
    double *chol;  /* n x n factor of C + noise I */
    double *alpha; /* (C + noise I)^-1 y_standardised */
};

static double kern(enum ar_gp_kernel k, const double *a, const double *b, size_t d, double len)
{
    double r2 = 0;
    for (size_t i = 0; i < d; i++) {
        double t = a[i] - b[i];
        r2 += t * t;
    }
    if (k == AR_GP_RBF)
        return exp(-0.5 * r2 / (len * len));
    double r = sqrt(5.0 * r2) / len;
    return (1.0 + r + r * r / 3.0) * exp(-r);
}

/* Builds and factors C + noise I; returns the log-likelihood (or -INFINITY when the matrix is
 * not positive definite), leaving the factor in chol and alpha solved. */
static double try_fit(struct ar_gp *gp, const double *y, double len, double noise, double *chol,
                      double *alpha, double *s2_out)
{
    size_t n = gp->n, d = gp->d;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = kern(gp->kernel, gp->x + i * d, gp->x + j * d, d, len);
            chol[i * n + j] = chol[j * n + i] = v + (i == j ? noise : 0.0);
        }
    if (ar_lapack_dpotrf(n, chol, n) != AR_OK) {
        ar_err_clear();
        return -HUGE_VAL;
    }
    memcpy(alpha, y, n * sizeof *alpha);
    if (ar_lapack_dpotrs(n, 1, chol, n, alpha, 1) != AR_OK)
        return -HUGE_VAL;
    double quad = 0, logdet = 0;
    for (size_t i = 0; i < n; i++) {
        quad += y[i] * alpha[i];
        logdet += log(chol[i * n + i]);
    }
    double s2 = quad / (double)n;
    if (!(s2 > 1e-12))
        s2 = 1e-12;
    *s2_out = s2;
    return -0.5 * (double)n * log(s2) - logdet - 0.5 * (double)n * (1.0 + log(2.0 * M_PI));
}

int ar_gp_fit(const double *x, const double *y, size_t n, size_t d, enum ar_gp_kernel kernel,
              struct ar_gp **out)
{
    *out = NULL;
    if (n == 0 || d == 0)
        return ar_err_set(AR_ERR_INVALID, "GP fit needs at least one point and one dimension");
    struct ar_gp *gp = ar_callocn(1, sizeof *gp);
    double *ys = NULL, *chol = NULL, *alpha = NULL;
    if (!gp)
        return AR_ERR_NOMEM;
    gp->n = n;
    gp->d = d;
    gp->kernel = kernel;
    gp->x = ar_allocn(n * d, sizeof *gp->x);
    gp->chol = ar_allocn(n * n, sizeof *gp->chol);
    gp->alpha = ar_allocn(n, sizeof *gp->alpha);
    ys = ar_allocn(n, sizeof *ys);
    chol = ar_allocn(n * n, sizeof *chol);
    alpha = ar_allocn(n, sizeof *alpha);
    int rc = AR_OK;
    if (!gp->x || !gp->chol || !gp->alpha || !ys || !chol || !alpha) {
        rc = AR_ERR_NOMEM;
        goto fail;
    }
    memcpy(gp->x, x, n * d * sizeof *x);
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean);
    double sd = n > 1 ? sqrt(var / (double)(n - 1)) : 0;
    if (!(sd > 1e-12))
        sd = 1;
    gp->y_mean = mean;
    gp->y_sd = sd;
    for (size_t i = 0; i < n; i++)
        ys[i] = (y[i] - mean) / sd;
    static const double lens[] = {0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0, 1.5, 2.5};
    static const double noises[] = {1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.2};
    /* Scale length scales with the dimension: distances in [0,1]^d grow like sqrt(d). */
    double dim_scale = sqrt((double)d);
    double best = -HUGE_VAL;
    bool found = false;
    for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
        for (size_t b = 0; b < sizeof noises / sizeof noises[0]; b++) {
            double s2 = 1;
            double ll = try_fit(gp, ys, lens[a] * dim_scale, noises[b], chol, alpha, &s2);
            if (ll > best) {
                best = ll;
                found = true;
                gp->length = lens[a] * dim_scale;
                gp->noise = noises[b];
                gp->s2 = s2;
                memcpy(gp->chol, chol, n * n * sizeof *chol);
                memcpy(gp->alpha, alpha, n * sizeof *alpha);
            }
        }
    if (!found) {
        rc = ar_err_set(AR_ERR_INVALID, "GP fit: no kernel matrix was positive definite");
        goto fail;
    }
    ar_free(ys);
    ar_free(chol);
    ar_free(alpha);
    *out = gp;
    return AR_OK;
fail:
    ar_free(ys);
    ar_free(chol);
    ar_free(alpha);
    ar_gp_free(gp);
    return rc;
}

int ar_gp_predict(const struct ar_gp *gp, const double *xs, size_t m, double *mean, double *sd)
{
    size_t n = gp->n, d = gp->d;
    /* Solve for all m columns at once: B (n x m) = (C + noise I)^-1 K(x, xs). */
    double *b = ar_allocn(n * m, sizeof *b);
    if (!b)
        return AR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            b[i * m + j] = kern(gp->kernel, gp->x + i * d, xs + j * d, d, gp->length);
    for (size_t j = 0; j < m; j++) {
        double mu = 0;
        for (size_t i = 0; i < n; i++)
            mu += b[i * m + j] * gp->alpha[i];
        mean[j] = gp->y_mean + gp->y_sd * mu;
    }
    int rc = ar_lapack_dpotrs(n, m, gp->chol, n, b, m);
    if (rc != AR_OK) {
        ar_free(b);
        return rc;
    }
    for (size_t j = 0; j < m; j++) {
        double q = 0;
        for (size_t i = 0; i < n; i++)
            q += kern(gp->kernel, gp->x + i * d, xs + j * d, d, gp->length) * b[i * m + j];
        double v = gp->s2 * (1.0 - q);
        sd[j] = gp->y_sd * sqrt(v > 1e-18 ? v : 1e-18);
    }
    ar_free(b);
    return AR_OK;
}

void ar_gp_params(const struct ar_gp *gp, double *length_scale, double *noise)
{
    *length_scale = gp->length;
    *noise = gp->noise;
}

void ar_gp_free(struct ar_gp *gp)
{
    if (!gp)
        return;
    ar_free(gp->x);
    ar_free(gp->chol);
    ar_free(gp->alpha);
    ar_free(gp);
}

double ar_gp_expected_improvement(double mean, double sd, double best, double xi)
{
    double imp = best - mean - xi;
    if (!(sd > 0))
        return imp > 0 ? imp : 0;
    double z = imp / sd;
    double cdf = 0.5 * erfc(-z / M_SQRT2);
    double pdf = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
    double ei = imp * cdf + sd * pdf;
    return ei > 0 ? ei : 0;
}
