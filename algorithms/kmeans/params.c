/* k-means hyperparameters: the schema table (names, defaults and ranges as SageMaker's
 * kmeans:1 container) and the cross-field rules, including the eval_metrics list parser. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"

#define P(field) offsetof(struct ar_km_params, field)

static const char *const init_methods[] = {"random", "kmeans++", NULL};

/* Caps that keep k x extra_center_factor x feature_dim allocations sane. */
#define K_MAX      1e6
#define DIM_MAX    1e7
#define FACTOR_MAX 1000

const struct ar_hp_spec ar_km_hp[] = {
    {"k", AR_HP_INT, AR_HP_REQUIRED | AR_HP_HAS_MIN | AR_HP_HAS_MAX, NULL, 1, K_MAX, NULL, P(k), 0,
     "number of clusters in the final model", NULL},
    {"feature_dim", AR_HP_INT, AR_HP_REQUIRED | AR_HP_HAS_MIN | AR_HP_HAS_MAX, NULL, 1, DIM_MAX,
     NULL, P(feature_dim), 0, "number of features of every record", NULL},
    {"mini_batch_size", AR_HP_INT, AR_HP_HAS_MIN | AR_HP_HAS_MAX, "5000", 1, 1e8, NULL,
     P(mini_batch_size), 0, "records per streamed mini-batch", NULL},
    {"epochs", AR_HP_INT, AR_HP_HAS_MIN | AR_HP_HAS_MAX, "1", 1, 1e6, NULL, P(epochs), 0,
     "passes over the training data", NULL},
    {"init_method", AR_HP_ENUM, 0, "random", 0, 0, init_methods, P(init_method), 0,
     "choice of the initial k x extra_center_factor centres from the first mini-batch", NULL},
    {"extra_center_factor", AR_HP_INT, AR_HP_AUTO | AR_HP_HAS_MIN | AR_HP_HAS_MAX, "auto", 1,
     FACTOR_MAX, NULL, P(extra_center_factor), P(extra_center_factor_auto),
     "stream with k x this many centres; auto = 10, capped by the first mini-batch's rows", NULL},
    {"local_lloyd_max_iter", AR_HP_INT, AR_HP_HAS_MIN | AR_HP_HAS_MAX, "300", 1, 1e6, NULL,
     P(local_lloyd_max_iter), 0, "maximum Lloyd iterations of the final reduction", NULL},
    {"local_lloyd_tol", AR_HP_FLOAT, AR_HP_HAS_MIN | AR_HP_HAS_MAX, "0.0001", 0, 1, NULL,
     P(local_lloyd_tol), 0, "relative loss change that stops the final Lloyd iterations", NULL},
    {"local_lloyd_init_method", AR_HP_ENUM, 0, "kmeans++", 0, 0, init_methods,
     P(local_lloyd_init_method), 0, "initialisation of the final Lloyd reduction", NULL},
    {"local_lloyd_num_trials", AR_HP_INT, AR_HP_AUTO | AR_HP_HAS_MIN | AR_HP_HAS_MAX, "auto", 1,
     1000, NULL, P(local_lloyd_num_trials), P(local_lloyd_num_trials_auto),
     "Lloyd runs of the final reduction, the best is kept; auto = 10", NULL},
    {"half_life_time_size", AR_HP_INT, AR_HP_HAS_MIN, "0", 0, 0, NULL, P(half_life_time_size), 0,
     "a point's weight in its centre halves after this many further points join it (0: never)",
     NULL},
    {"eval_metrics", AR_HP_STRING, 0, "[\"msd\"]", 0, 0, NULL, P(eval_metrics), 0,
     "JSON list of test-channel metrics: msd, ssd", NULL},
    {"force_dense", AR_HP_BOOL, AR_HP_IGNORED, "true", 0, 0, NULL, P(force_dense), 0,
     "sent by the SageMaker SDK; sparse input is handled either way", NULL},
    {"_seed", AR_HP_INT, AR_HP_HAS_MIN, "0", 0, 0, NULL, P(seed), 0,
     "algorun extension: random seed of the initialisations (SageMaker has none)", NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const char *skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

int ar_km_parse_eval_metrics(const char *s, unsigned *mask)
{
    *mask = 0;
    if (!s)
        return ar_err_set(AR_ERR_PARAM, "eval_metrics: missing value");
    const char *p = skip_ws(s);
    if (*p != '[')
        return ar_err_set(AR_ERR_PARAM,
                          "eval_metrics: '%s' is not a list; expected e.g. [\"msd\", \"ssd\"]", s);
    p = skip_ws(p + 1);
    if (*p == ']')
        return ar_err_set(AR_ERR_PARAM, "eval_metrics: the list is empty; allowed: msd, ssd");
    for (;;) {
        char quote = *p;
        if (quote != '"' && quote != '\'')
            return ar_err_set(AR_ERR_PARAM,
                              "eval_metrics: expected a quoted metric name at offset %zu of '%s'",
                              (size_t)(p - s), s);
        const char *name = p + 1;
        const char *end = strchr(name, quote);
        if (!end)
            return ar_err_set(AR_ERR_PARAM, "eval_metrics: unterminated string in '%s'", s);
        size_t len = (size_t)(end - name);
        if (len == 3 && strncmp(name, "msd", 3) == 0)
            *mask |= AR_KM_METRIC_MSD;
        else if (len == 3 && strncmp(name, "ssd", 3) == 0)
            *mask |= AR_KM_METRIC_SSD;
        else
            return ar_err_set(AR_ERR_PARAM,
                              "eval_metrics: unknown metric '%.*s'; allowed: msd, ssd", (int)len,
                              name);
        p = skip_ws(end + 1);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p == ']')
            break;
        return ar_err_set(AR_ERR_PARAM, "eval_metrics: expected ',' or ']' at offset %zu of '%s'",
                          (size_t)(p - s), s);
    }
    if (*skip_ws(p + 1) != '\0')
        return ar_err_set(AR_ERR_PARAM, "eval_metrics: unexpected text after the list in '%s'", s);
    return AR_OK;
}

int ar_km_params_validate(const void *params)
{
    const struct ar_km_params *p = params;
    unsigned mask;
    AR_TRY(ar_km_parse_eval_metrics(p->eval_metrics, &mask));
    int64_t factor =
        p->extra_center_factor_auto ? AR_KM_AUTO_CENTER_FACTOR : p->extra_center_factor;
    /* k x factor centres of feature_dim floats, twice (centres and their transpose). */
    double cells = (double)p->k * (double)factor * (double)p->feature_dim;
    if (cells > 2e9)
        return ar_err_set(AR_ERR_PARAM,
                          "k x extra_center_factor x feature_dim = %lld x %lld x %lld is too large "
                          "(at most 2e9 centre values)",
                          (long long)p->k, (long long)factor, (long long)p->feature_dim);
    return AR_OK;
}
