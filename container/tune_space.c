/* Search spaces for tuning: SageMaker's parameter ranges, their scaling, sampling, grids and
 * the unit encoding the Gaussian process works in. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/algo.h"
#include "container/tune.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rng.h"

#define GRID_MAX 100000

static int parse_num(const char *range, const char *what, const char *s, bool integer, double *out)
{
    char *end;
    errno = 0;
    double v = integer ? (double)strtoll(s, &end, 10) : strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return ar_err_set(AR_ERR_PARAM, "--range %s: %s '%s' is not %s", range, what, s,
                          integer ? "an integer" : "a number");
    *out = v;
    return AR_OK;
}

static int parse_scaling(const char *range, const char *s, enum ar_tune_scaling *out)
{
    static const char *const names[] = {"Auto", "Linear", "Logarithmic", "ReverseLogarithmic"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ar_tune_scaling)i;
            return AR_OK;
        }
    return ar_err_set(AR_ERR_PARAM,
                      "--range %s: scaling '%s' must be Auto, Linear, Logarithmic or "
                      "ReverseLogarithmic",
                      range, s);
}

int ar_tune_space_add(struct ar_tune_space *sp, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return ar_err_set(AR_ERR_PARAM,
                          "--range '%s': expected NAME=Integer:MIN:MAX[:SCALING], "
                          "NAME=Continuous:MIN:MAX[:SCALING] or NAME=Categorical:a,b,c",
                          spec);
    if (sp->n >= AR_TUNE_MAX_PARAMS)
        return ar_err_set(AR_ERR_LIMIT, "more than %d ranges", AR_TUNE_MAX_PARAMS);
    struct ar_tune_range *r = &sp->ranges[sp->n];
    memset(r, 0, sizeof *r);
    size_t nl = (size_t)(eq - spec);
    if (nl >= sizeof r->name)
        return ar_err_set(AR_ERR_PARAM, "--range '%.40s...': name too long", spec);
    memcpy(r->name, spec, nl);
    r->name[nl] = '\0';
    for (size_t i = 0; i < sp->n; i++)
        if (strcmp(sp->ranges[i].name, r->name) == 0)
            return ar_err_set(AR_ERR_PARAM, "--range %s given twice", r->name);
    const char *body = eq + 1;
    const char *colon = strchr(body, ':');
    if (!colon)
        return ar_err_set(AR_ERR_PARAM, "--range %s: expected TYPE:... after '='", r->name);
    size_t tl = (size_t)(colon - body);
    const char *rest = colon + 1;
    if (tl == 11 && strncmp(body, "Categorical", 11) == 0) {
        r->kind = AR_TUNE_CATEGORICAL;
        const char *p = rest;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 0 || len > 256)
                goto cat_fail;
            if (r->n_values >= AR_TUNE_MAX_VALUES) {
                for (size_t q = 0; q < r->n_values; q++)
                    ar_free(r->values[q]);
                return ar_err_set(AR_ERR_LIMIT, "--range %s: more than %d values", r->name,
                                  AR_TUNE_MAX_VALUES);
            }
            char *v = ar_alloc(len + 1);
            if (!v)
                goto cat_nomem;
            memcpy(v, p, len);
            v[len] = '\0';
            for (size_t k = 0; k < r->n_values; k++)
                if (strcmp(r->values[k], v) == 0) {
                    ar_free(v);
                    for (size_t q = 0; q < r->n_values; q++)
                        ar_free(r->values[q]);
                    return ar_err_set(AR_ERR_PARAM, "--range %s: value '%.*s' listed twice",
                                      r->name, (int)len, p);
                }
            r->values[r->n_values++] = v;
            if (!comma)
                break;
            p = comma + 1;
        }
        r->min = 0;
        r->max = (double)(r->n_values - 1);
        sp->n++;
        return AR_OK;
    cat_fail:
        for (size_t q = 0; q < r->n_values; q++)
            ar_free(r->values[q]);
        return ar_err_set(AR_ERR_PARAM, "--range %s: empty or over-long categorical value",
                          r->name);
    cat_nomem:
        for (size_t q = 0; q < r->n_values; q++)
            ar_free(r->values[q]);
        return AR_ERR_NOMEM;
    }
    bool integer = tl == 7 && strncmp(body, "Integer", 7) == 0;
    if (!integer && !(tl == 10 && strncmp(body, "Continuous", 10) == 0))
        return ar_err_set(AR_ERR_PARAM,
                          "--range %s: type '%.*s' must be Integer, Continuous or Categorical",
                          r->name, (int)tl, body);
    r->kind = integer ? AR_TUNE_INTEGER : AR_TUNE_CONTINUOUS;
    char parts[3][300];
    size_t np = 0;
    for (const char *p = rest;;) {
        const char *c = strchr(p, ':');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (np >= 3 || len >= sizeof parts[0])
            return ar_err_set(AR_ERR_PARAM, "--range %s: expected MIN:MAX[:SCALING]", r->name);
        memcpy(parts[np], p, len);
        parts[np][len] = '\0';
        np++;
        if (!c)
            break;
        p = c + 1;
    }
    if (np < 2)
        return ar_err_set(AR_ERR_PARAM, "--range %s: expected MIN:MAX[:SCALING]", r->name);
    AR_TRY(parse_num(r->name, "MIN", parts[0], integer, &r->min));
    AR_TRY(parse_num(r->name, "MAX", parts[1], integer, &r->max));
    if (np == 3)
        AR_TRY(parse_scaling(r->name, parts[2], &r->scaling));
    if (!(r->min < r->max) && !(integer && r->min <= r->max))
        return ar_err_set(AR_ERR_PARAM, "--range %s: MIN %s must be below MAX %s", r->name,
                          parts[0], parts[1]);
    if (r->scaling == AR_TUNE_LOG && r->min <= 0)
        return ar_err_set(AR_ERR_PARAM, "--range %s: Logarithmic scaling needs MIN > 0 (got %s)",
                          r->name, parts[0]);
    if (r->scaling == AR_TUNE_REVERSE_LOG && (integer || r->min < 0 || r->max >= 1))
        return ar_err_set(AR_ERR_PARAM,
                          "--range %s: ReverseLogarithmic applies to Continuous ranges within "
                          "0 <= x < 1",
                          r->name);
    sp->n++;
    return AR_OK;
}

void ar_tune_space_release(struct ar_tune_space *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        for (size_t k = 0; k < sp->ranges[i].n_values; k++)
            ar_free(sp->ranges[i].values[k]);
        sp->ranges[i].n_values = 0;
    }
    sp->n = 0;
}

int ar_tune_space_check(const struct ar_tune_space *sp, const struct ar_algo *algo)
{
    for (size_t i = 0; i < sp->n; i++) {
        const struct ar_tune_range *r = &sp->ranges[i];
        const struct ar_hp_spec *e = ar_hp_find(algo->hp, r->name);
        if (!e)
            return ar_err_set(AR_ERR_PARAM, "--range %s: %s has no hyperparameter %s", r->name,
                              algo->id, r->name);
        if (r->kind == AR_TUNE_CATEGORICAL) {
            /* Every value must be one the schema accepts: parse it alone. */
            void *params = ar_callocn(1, algo->params_size);
            if (!params)
                return AR_ERR_NOMEM;
            for (size_t k = 0; k < r->n_values; k++) {
                int64_t iv;
                double dv;
                bool bv;
                int rc = AR_OK;
                if (e->type == AR_HP_INT)
                    rc = ar_hp_parse_int(r->name, r->values[k], &iv);
                else if (e->type == AR_HP_FLOAT)
                    rc = ar_hp_parse_float(r->name, r->values[k], &dv);
                else if (e->type == AR_HP_BOOL)
                    rc = ar_hp_parse_bool(r->name, r->values[k], &bv);
                else if (e->type == AR_HP_ENUM) {
                    rc = AR_ERR_PARAM;
                    for (const char *const *c = e->choices; c && *c; c++)
                        if (strcmp(*c, r->values[k]) == 0)
                            rc = AR_OK;
                    if (rc != AR_OK)
                        ar_err_set(AR_ERR_PARAM, "'%s' is not one of %s's choices", r->values[k],
                                   r->name);
                }
                if (rc != AR_OK) {
                    ar_free(params);
                    ar_err_prefix("--range %s: ", r->name);
                    return AR_ERR_PARAM;
                }
            }
            ar_free(params);
            continue;
        }
        if (e->type != AR_HP_INT && e->type != AR_HP_FLOAT)
            return ar_err_set(AR_ERR_PARAM,
                              "--range %s: %s is not numeric; use a Categorical range", r->name,
                              r->name);
        if (e->type == AR_HP_INT && r->kind == AR_TUNE_CONTINUOUS)
            return ar_err_set(AR_ERR_PARAM,
                              "--range %s: %s is an integer hyperparameter; use an Integer range",
                              r->name, r->name);
        double lo = r->min, hi = r->max;
        if (e->flags & AR_HP_HAS_MIN) {
            bool bad = (e->flags & AR_HP_MIN_OPEN) ? lo <= e->min : lo < e->min;
            if (bad)
                return ar_err_set(AR_ERR_PARAM, "--range %s: MIN %.17g is below %s's minimum %s%g",
                                  r->name, lo, r->name, (e->flags & AR_HP_MIN_OPEN) ? ">" : "",
                                  e->min);
        }
        if (e->flags & AR_HP_HAS_MAX) {
            bool bad = (e->flags & AR_HP_MAX_OPEN) ? hi >= e->max : hi > e->max;
            if (bad)
                return ar_err_set(AR_ERR_PARAM, "--range %s: MAX %.17g is above %s's maximum %s%g",
                                  r->name, hi, r->name, (e->flags & AR_HP_MAX_OPEN) ? "<" : "",
                                  e->max);
        }
    }
    return AR_OK;
}

/* ---- scaling ---- */

static double to_unit(const struct ar_tune_range *r, double v)
{
    double lo = r->min, hi = r->max;
    if (hi <= lo)
        return 0.5;
    double u;
    switch (r->scaling) {
    case AR_TUNE_LOG:
        u = (log(v) - log(lo)) / (log(hi) - log(lo));
        break;
    case AR_TUNE_REVERSE_LOG:
        u = (log1p(-v) - log1p(-lo)) / (log1p(-hi) - log1p(-lo));
        break;
    default:
        u = (v - lo) / (hi - lo);
    }
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

static double from_unit(const struct ar_tune_range *r, double u)
{
    double lo = r->min, hi = r->max, v;
    switch (r->scaling) {
    case AR_TUNE_LOG:
        v = exp(log(lo) + u * (log(hi) - log(lo)));
        break;
    case AR_TUNE_REVERSE_LOG:
        v = -expm1(log1p(-lo) + u * (log1p(-hi) - log1p(-lo)));
        break;
    default:
        v = lo + u * (hi - lo);
    }
    if (r->kind == AR_TUNE_INTEGER)
        v = floor(v + 0.5);
    return v < lo ? lo : v > hi ? hi : v;
}

size_t ar_tune_unit_dim(const struct ar_tune_space *sp)
{
    size_t d = 0;
    for (size_t i = 0; i < sp->n; i++)
        d += sp->ranges[i].kind == AR_TUNE_CATEGORICAL ? sp->ranges[i].n_values : 1;
    return d;
}

void ar_tune_encode(const struct ar_tune_space *sp, const double *x, double *u)
{
    size_t d = 0;
    for (size_t i = 0; i < sp->n; i++) {
        const struct ar_tune_range *r = &sp->ranges[i];
        if (r->kind == AR_TUNE_CATEGORICAL) {
            for (size_t k = 0; k < r->n_values; k++)
                u[d + k] = (size_t)x[i] == k ? 1.0 : 0.0;
            d += r->n_values;
        } else {
            u[d++] = to_unit(r, x[i]);
        }
    }
}

void ar_tune_sample(const struct ar_tune_space *sp, struct ar_rng *rng, double *x)
{
    for (size_t i = 0; i < sp->n; i++) {
        const struct ar_tune_range *r = &sp->ranges[i];
        if (r->kind == AR_TUNE_CATEGORICAL) {
            x[i] = (double)ar_rng_below(rng, r->n_values);
        } else if (r->kind == AR_TUNE_INTEGER && r->scaling != AR_TUNE_LOG) {
            /* Every integer equally likely (rounding a uniform would halve the end points). */
            x[i] = r->min + (double)ar_rng_below(rng, (uint64_t)(r->max - r->min) + 1);
        } else if (r->kind == AR_TUNE_INTEGER) {
            /* Log scale: uniform in log over [min - 0.5, max + 0.5), then rounded. */
            double lo = log(r->min - 0.5 > 0 ? r->min - 0.5 : r->min), hi = log(r->max + 0.5);
            double v = floor(exp(lo + ar_rng_uniform(rng) * (hi - lo)) + 0.5);
            x[i] = v < r->min ? r->min : v > r->max ? r->max : v;
        } else {
            x[i] = from_unit(r, ar_rng_uniform(rng));
        }
    }
}

void ar_tune_format(const struct ar_tune_space *sp, size_t i, const double *x, char *buf,
                    size_t size)
{
    const struct ar_tune_range *r = &sp->ranges[i];
    if (r->kind == AR_TUNE_CATEGORICAL)
        snprintf(buf, size, "%s", r->values[(size_t)x[i] < r->n_values ? (size_t)x[i] : 0]);
    else if (r->kind == AR_TUNE_INTEGER)
        snprintf(buf, size, "%lld", (long long)x[i]);
    else
        snprintf(buf, size, "%.17g", x[i]);
}

int ar_tune_parse_value(const struct ar_tune_space *sp, size_t i, const char *s, double *x)
{
    const struct ar_tune_range *r = &sp->ranges[i];
    if (r->kind == AR_TUNE_CATEGORICAL) {
        for (size_t k = 0; k < r->n_values; k++)
            if (strcmp(r->values[k], s) == 0) {
                x[i] = (double)k;
                return AR_OK;
            }
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not one of the range's values", r->name, s);
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not a number", r->name, s);
    x[i] = v;
    return AR_OK;
}

void ar_tune_perturb(const struct ar_tune_space *sp, struct ar_rng *rng, const double *x,
                     double scale, double *out)
{
    for (size_t i = 0; i < sp->n; i++) {
        const struct ar_tune_range *r = &sp->ranges[i];
        if (r->kind == AR_TUNE_CATEGORICAL) {
            out[i] = ar_rng_uniform(rng) < scale ? (double)ar_rng_below(rng, r->n_values) : x[i];
        } else {
            double u = to_unit(r, x[i]) + scale * ar_rng_normal(rng);
            out[i] = from_unit(r, u < 0 ? 0 : u > 1 ? 1 : u);
        }
    }
}

/* ---- grid ---- */

static size_t axis_size(const struct ar_tune_range *r)
{
    if (r->kind == AR_TUNE_CATEGORICAL)
        return r->n_values;
    if (r->kind == AR_TUNE_INTEGER)
        return (size_t)(r->max - r->min) + 1;
    return 0;
}

size_t ar_tune_grid_size(const struct ar_tune_space *sp)
{
    size_t total = 1;
    for (size_t i = 0; i < sp->n; i++) {
        size_t a = axis_size(&sp->ranges[i]);
        if (a == 0 || total > GRID_MAX / a)
            return 0;
        total *= a;
    }
    return sp->n ? total : 0;
}

void ar_tune_grid_point(const struct ar_tune_space *sp, size_t k, double *x)
{
    for (size_t i = sp->n; i-- > 0;) {
        const struct ar_tune_range *r = &sp->ranges[i];
        size_t a = axis_size(r);
        size_t idx = k % a;
        k /= a;
        x[i] = r->kind == AR_TUNE_CATEGORICAL ? (double)idx : r->min + (double)idx;
    }
}
