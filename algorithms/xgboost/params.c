/* Hyperparameters of xgboost:1.7-1: the schema table (SageMaker XGBoost 1.7-1's names, ranges
 * and aliases), the cross-field rules, and resolution into the config training uses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

const char *const ar_gbt_obj_names[] = {
    "reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror",
    "reg:absoluteerror", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
    "reg:gamma", "reg:tweedie", "multi:softmax", "multi:softprob",
    /* accepted by the schema, rejected as unsupported */
    "rank:pairwise", "rank:ndcg", "rank:map", "survival:aft", "survival:cox",
    "aft_loss_distribution", NULL};

static const char *const tree_methods[] = {"auto", "exact", "approx", "hist", "gpu_hist", NULL};
static const char *const dsplits[] = {"row", "col", NULL};
static const char *const process_types[] = {"default", "update", NULL};
static const char *const grow_policies[] = {"depthwise", "lossguide", NULL};
static const char *const predictors[] = {"auto", "cpu_predictor", "gpu_predictor", NULL};
static const char *const boosters[] = {"gbtree", "gblinear", "dart", NULL};
static const char *const sample_types[] = {"uniform", "weighted", NULL};
static const char *const normalize_types[] = {"tree", "forest", NULL};
static const char *const aft_dists[] = {"normal", "logistic", "extreme", NULL};
static const char *const sampling_methods[] = {"uniform", "gradient_based", NULL};

#define OFF(f) offsetof(struct ar_gbt_params, f)
#define MIN    AR_HP_HAS_MIN
#define MAX    AR_HP_HAS_MAX
#define MINO   (AR_HP_HAS_MIN | AR_HP_MIN_OPEN)
#define MAXO   (AR_HP_HAS_MAX | AR_HP_MAX_OPEN)

/* name, type, flags, default, min, max, choices, offset, auto_offset, doc, alias */
const struct ar_hp_spec ar_gbt_hp[] = {
    {"num_round", AR_HP_INT, AR_HP_REQUIRED | MIN, NULL, 1, 0, NULL, OFF(num_round), 0,
     "number of boosting rounds", NULL},
    {"eta", AR_HP_FLOAT, MIN | MAX, "0.3", 0, 1, NULL, OFF(eta), 0,
     "step size shrinkage applied to every leaf", "learning_rate"},
    {"gamma", AR_HP_FLOAT, MIN, "0", 0, 0, NULL, OFF(gamma), 0,
     "minimum loss reduction to make a split", "min_split_loss"},
    {"max_depth", AR_HP_INT, MIN, "6", 0, 0, NULL, OFF(max_depth), 0,
     "maximum tree depth (0: unlimited, needs grow_policy=lossguide)", NULL},
    {"min_child_weight", AR_HP_FLOAT, MIN, "1", 0, 0, NULL, OFF(min_child_weight), 0,
     "minimum hessian sum in a child", NULL},
    {"max_delta_step", AR_HP_FLOAT, MIN | AR_HP_AUTO, "auto", 0, 0, NULL, OFF(max_delta_step),
     OFF(max_delta_step_auto), "cap on a leaf weight (0: none; default 0.7 for count:poisson)",
     NULL},
    {"subsample", AR_HP_FLOAT, MINO | MAX, "1", 0, 1, NULL, OFF(subsample), 0,
     "fraction of rows sampled per tree", NULL},
    {"colsample_bytree", AR_HP_FLOAT, MINO | MAX, "1", 0, 1, NULL, OFF(colsample_bytree), 0,
     "fraction of features sampled per tree", NULL},
    {"colsample_bylevel", AR_HP_FLOAT, MINO | MAX, "1", 0, 1, NULL, OFF(colsample_bylevel), 0,
     "fraction of the tree's features sampled per level", NULL},
    {"colsample_bynode", AR_HP_FLOAT, MINO | MAX, "1", 0, 1, NULL, OFF(colsample_bynode), 0,
     "fraction of the level's features sampled per node", NULL},
    {"lambda", AR_HP_FLOAT, MIN, "1", 0, 0, NULL, OFF(lambda), 0, "L2 regularisation of weights",
     "reg_lambda"},
    {"alpha", AR_HP_FLOAT, MIN, "0", 0, 0, NULL, OFF(alpha), 0, "L1 regularisation of weights",
     "reg_alpha"},
    {"tree_method", AR_HP_ENUM, 0, "auto", 0, 0, tree_methods, OFF(tree_method), 0,
     "tree construction algorithm (algorun always uses hist)", NULL},
    {"sketch_eps", AR_HP_FLOAT, MINO | MAXO, "0.03", 0, 1, NULL, OFF(sketch_eps), 0,
     "approx only: sketch accuracy (no effect with hist)", NULL},
    {"scale_pos_weight", AR_HP_FLOAT, MINO, "1", 0, 0, NULL, OFF(scale_pos_weight), 0,
     "weight multiplier of rows with label 1", NULL},
    {"updater", AR_HP_STRING, 0, NULL, 0, 0, NULL, OFF(updater), 0,
     "comma-separated updater list (tree growers map to hist)", NULL},
    {"dsplit", AR_HP_ENUM, AR_HP_IGNORED, "row", 0, 0, dsplits, OFF(dsplit), 0,
     "legacy data split mode", NULL},
    {"refresh_leaf", AR_HP_INT, MIN | MAX, "1", 0, 1, NULL, OFF(refresh_leaf), 0,
     "refresh updater: also refresh leaf values", NULL},
    {"process_type", AR_HP_ENUM, 0, "default", 0, 0, process_types, OFF(process_type), 0,
     "default: build new trees; update: not supported", NULL},
    {"grow_policy", AR_HP_ENUM, 0, "depthwise", 0, 0, grow_policies, OFF(grow_policy), 0,
     "depthwise: split level by level; lossguide: best leaf first", NULL},
    {"max_leaves", AR_HP_INT, MIN, "0", 0, 0, NULL, OFF(max_leaves), 0,
     "maximum number of leaves (0: no limit)", NULL},
    {"max_bin", AR_HP_INT, MIN | MAX, "256", 2, 65535, NULL, OFF(max_bin), 0,
     "maximum number of histogram bins per feature", NULL},
    {"predictor", AR_HP_ENUM, AR_HP_IGNORED, "auto", 0, 0, predictors, OFF(predictor), 0,
     "prediction device (CPU here)", NULL},
    {"num_parallel_tree", AR_HP_INT, MIN, "1", 1, 0, NULL, OFF(num_parallel_tree), 0,
     "trees grown per round and class (random-forest style)", NULL},
    {"booster", AR_HP_ENUM, 0, "gbtree", 0, 0, boosters, OFF(booster), 0,
     "booster (only gbtree is supported)", NULL},
    {"sample_type", AR_HP_ENUM, 0, "uniform", 0, 0, sample_types, OFF(sample_type), 0, "dart only",
     NULL},
    {"normalize_type", AR_HP_ENUM, 0, "tree", 0, 0, normalize_types, OFF(normalize_type), 0,
     "dart only", NULL},
    {"rate_drop", AR_HP_FLOAT, MIN | MAX, "0", 0, 1, NULL, OFF(rate_drop), 0, "dart only", NULL},
    {"one_drop", AR_HP_INT, MIN | MAX, "0", 0, 1, NULL, OFF(one_drop), 0, "dart only", NULL},
    {"skip_drop", AR_HP_FLOAT, MIN | MAX, "0", 0, 1, NULL, OFF(skip_drop), 0, "dart only", NULL},
    {"lambda_bias", AR_HP_FLOAT, MIN | MAX, "0", 0, 1, NULL, OFF(lambda_bias), 0,
     "legacy linear booster bias L2 (no effect)", NULL},
    {"tweedie_variance_power", AR_HP_FLOAT, MINO | MAXO, "1.5", 1, 2, NULL,
     OFF(tweedie_variance_power), 0, "reg:tweedie variance power", NULL},
    {"objective", AR_HP_ENUM, AR_HP_AUTO, "auto", 0, 0, ar_gbt_obj_names, OFF(objective),
     OFF(objective_auto), "learning objective (default reg:squarederror)", NULL},
    {"num_class", AR_HP_INT, MIN, NULL, 2, 0, NULL, OFF(num_class), 0,
     "number of classes (multi:softmax, multi:softprob)", NULL},
    {"base_score", AR_HP_FLOAT, MIN | AR_HP_AUTO, "auto", 0, 0, NULL, OFF(base_score),
     OFF(base_score_auto),
     "initial prediction of every row, output space (default 0.5; the weighted label median for "
     "reg:absoluteerror)",
     NULL},
    {"eval_metric", AR_HP_STRING, 0, NULL, 0, 0, NULL, OFF(eval_metric), 0,
     "comma-separated evaluation metrics (default per objective)", NULL},
    {"seed", AR_HP_INT, MINO | MAXO, "0", -2147483648.0, 2147483647.0, NULL, OFF(seed), 0,
     "random seed of row and column sampling", NULL},
    {"early_stopping_rounds", AR_HP_INT, MIN, NULL, 1, 0, NULL, OFF(early_stopping_rounds), 0,
     "stop when the validation metric has not improved for this many rounds", NULL},
    {"csv_weights", AR_HP_INT, MIN | MAX, "0", 0, 1, NULL, OFF(csv_weights), 0,
     "CSV: column 1 is the instance weight", NULL},
    {"monotone_constraints", AR_HP_STRING, 0, NULL, 0, 0, NULL, OFF(monotone_constraints), 0,
     "per-feature -1/0/1 tuple, e.g. (1,0,-1)", NULL},
    {"interaction_constraints", AR_HP_STRING, 0, NULL, 0, 0, NULL, OFF(interaction_constraints), 0,
     "nested list of feature indices allowed to interact, e.g. [[0,1],[2,3]]", NULL},
    {"verbosity", AR_HP_INT, MIN | MAX, "1", 0, 3, NULL, OFF(verbosity), 0, "log verbosity", NULL},
    {"nthread", AR_HP_INT, MIN, NULL, 1, 0, NULL, OFF(nthread), 0, "threads (default: all cores)",
     NULL},
    {"save_model_on_termination", AR_HP_BOOL, 0, "false", 0, 0, NULL,
     OFF(save_model_on_termination), 0, "save the model after every round", NULL},
    {"aft_loss_distribution", AR_HP_ENUM, 0, "normal", 0, 0, aft_dists, OFF(aft_loss_distribution),
     0, "survival:aft only (unsupported)", NULL},
    {"aft_loss_distribution_scale", AR_HP_FLOAT, MIN, "1", 0, 0, NULL,
     OFF(aft_loss_distribution_scale), 0, "survival:aft only (unsupported)", NULL},
    {"deterministic_histogram", AR_HP_BOOL, AR_HP_IGNORED, "true", 0, 0, NULL,
     OFF(deterministic_histogram), 0, "gpu_hist only (histograms here are always deterministic)",
     NULL},
    {"sampling_method", AR_HP_ENUM, 0, "uniform", 0, 0, sampling_methods, OFF(sampling_method), 0,
     "row sampling method (gradient_based needs a GPU)", NULL},
    {"prob_buffer_row", AR_HP_INT, MINO | AR_HP_IGNORED, NULL, 1, 0, NULL, OFF(prob_buffer_row), 0,
     "gpu only", NULL},
    {"use_dask_gpu_training", AR_HP_BOOL, 0, "false", 0, 0, NULL, OFF(use_dask_gpu_training), 0,
     "multi-GPU training (unsupported)", NULL},
    {"_tuning_objective_metric", AR_HP_STRING, 0, NULL, 0, 0, NULL, OFF(tuning_objective_metric), 0,
     "set by automatic model tuning: validation:<metric>", NULL},
    {"_kfold", AR_HP_INT, MIN, NULL, 2, 0, NULL, OFF(kfold), 0, "k-fold CV (unsupported)", NULL},
    {"_num_cv_round", AR_HP_INT, MIN, "1", 1, 0, NULL, OFF(num_cv_round), 0, "k-fold CV repeats",
     NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* ---- metrics ---- */

static const struct {
    const char *name;
    enum ar_gbt_metric_kind kind;
    bool maximize;
} metric_table[] = {
    {"rmse", AR_GBT_M_RMSE, false},
    {"rmsle", AR_GBT_M_RMSLE, false},
    {"mae", AR_GBT_M_MAE, false},
    {"mape", AR_GBT_M_MAPE, false},
    {"mphe", AR_GBT_M_MPHE, false},
    {"logloss", AR_GBT_M_LOGLOSS, false},
    {"error", AR_GBT_M_ERROR, false},
    {"merror", AR_GBT_M_MERROR, false},
    {"mlogloss", AR_GBT_M_MLOGLOSS, false},
    {"auc", AR_GBT_M_AUC, true},
    {"aucpr", AR_GBT_M_AUCPR, true},
    {"poisson-nloglik", AR_GBT_M_POISSON_NLOGLIK, false},
    {"gamma-nloglik", AR_GBT_M_GAMMA_NLOGLIK, false},
    {"gamma-deviance", AR_GBT_M_GAMMA_DEVIANCE, false},
    {"tweedie-nloglik", AR_GBT_M_TWEEDIE_NLOGLIK, false},
    {"mse", AR_GBT_M_MSE, false},
    {"r2", AR_GBT_M_R2, true},
    {"accuracy", AR_GBT_M_ACCURACY, true},
    {"balanced_accuracy", AR_GBT_M_BALANCED_ACCURACY, true},
    {"f1", AR_GBT_M_F1_BINARY, true},
    {"f1_binary", AR_GBT_M_F1_BINARY, true},
    {"f1_macro", AR_GBT_M_F1_MACRO, true},
    {"precision", AR_GBT_M_PRECISION, true},
    {"precision_macro", AR_GBT_M_PRECISION_MACRO, true},
    {"precision_micro", AR_GBT_M_PRECISION_MICRO, true},
    {"recall", AR_GBT_M_RECALL, true},
    {"recall_macro", AR_GBT_M_RECALL_MACRO, true},
    {"recall_micro", AR_GBT_M_RECALL_MICRO, true},
};

static bool obj_is_binary(enum ar_gbt_obj o)
{
    return o == AR_GBT_OBJ_BINARY_LOGISTIC || o == AR_GBT_OBJ_BINARY_LOGITRAW ||
           o == AR_GBT_OBJ_BINARY_HINGE;
}

static bool obj_is_multi(enum ar_gbt_obj o)
{
    return o == AR_GBT_OBJ_SOFTMAX || o == AR_GBT_OBJ_SOFTPROB;
}

int ar_gbt_metric_parse(const char *name, enum ar_gbt_obj obj, struct ar_gbt_metric *out)
{
    memset(out, 0, sizeof *out);
    const char *at = strchr(name, '@');
    size_t base_len = at ? (size_t)(at - name) : strlen(name);
    if (strlen(name) >= sizeof out->name)
        return ar_err_set(AR_ERR_PARAM, "eval_metric: '%s' is not a known metric", name);
    static const char *const ranking[] = {
        "map", "ndcg", "pre", "aft-nloglik", "cox-nloglik", "interval-regression-accuracy", NULL};
    for (int i = 0; ranking[i]; i++)
        if (strlen(ranking[i]) == base_len && strncmp(ranking[i], name, base_len) == 0)
            return ar_err_set(AR_ERR_UNSUPPORTED,
                              "eval_metric: '%s' belongs to ranking/survival objectives, which "
                              "are not supported",
                              name);
    for (size_t i = 0; i < sizeof metric_table / sizeof metric_table[0]; i++) {
        if (strlen(metric_table[i].name) != base_len ||
            strncmp(metric_table[i].name, name, base_len) != 0)
            continue;
        out->kind = metric_table[i].kind;
        out->maximize = metric_table[i].maximize;
        if (at) {
            if (out->kind != AR_GBT_M_ERROR && out->kind != AR_GBT_M_TWEEDIE_NLOGLIK)
                return ar_err_set(AR_ERR_PARAM,
                                  "eval_metric: '%s' takes no '@' argument (only error@t and "
                                  "tweedie-nloglik@rho do)",
                                  name);
            char *end;
            out->arg = strtod(at + 1, &end);
            if (end == at + 1 || *end != '\0' || !isfinite(out->arg))
                return ar_err_set(AR_ERR_PARAM, "eval_metric: '%s' has a bad number after '@'",
                                  name);
        } else if (out->kind == AR_GBT_M_ERROR) {
            out->arg = 0.5;
        } else if (out->kind == AR_GBT_M_TWEEDIE_NLOGLIK) {
            out->arg = 1.5;
        }
        if ((out->kind == AR_GBT_M_AUC || out->kind == AR_GBT_M_AUCPR) && !obj_is_binary(obj) &&
            obj != AR_GBT_OBJ_REG_LOGISTIC)
            return ar_err_set(AR_ERR_PARAM,
                              "eval_metric: %s is only supported with binary:* objectives "
                              "(objective is %s)",
                              name, ar_gbt_obj_names[obj]);
        if ((out->kind == AR_GBT_M_MLOGLOSS || out->kind == AR_GBT_M_MERROR) && !obj_is_multi(obj))
            return ar_err_set(AR_ERR_PARAM,
                              "eval_metric: %s needs a multi:softmax or multi:softprob objective "
                              "(objective is %s)",
                              name, ar_gbt_obj_names[obj]);
        if (out->kind == AR_GBT_M_ERROR && obj_is_multi(obj))
            return ar_err_set(AR_ERR_PARAM,
                              "eval_metric: error is for binary classification; use merror with "
                              "%s",
                              ar_gbt_obj_names[obj]);
        if (out->kind == AR_GBT_M_TWEEDIE_NLOGLIK && !at)
            snprintf(out->name, sizeof out->name, "tweedie-nloglik@1.5");
        else
            snprintf(out->name, sizeof out->name, "%s", name);
        return AR_OK;
    }
    return ar_err_set(AR_ERR_PARAM, "eval_metric: '%s' is not a known metric", name);
}

void ar_gbt_metric_default(enum ar_gbt_obj obj, float tweedie_rho, struct ar_gbt_metric *out)
{
    const char *name = "rmse";
    char buf[40];
    switch (obj) {
    case AR_GBT_OBJ_SQUAREDLOGERROR:
        name = "rmsle";
        break;
    case AR_GBT_OBJ_REG_LOGISTIC:
    case AR_GBT_OBJ_BINARY_LOGISTIC:
        name = "logloss";
        break;
    case AR_GBT_OBJ_PSEUDOHUBER:
        name = "mphe";
        break;
    case AR_GBT_OBJ_ABSOLUTEERROR:
        name = "mae";
        break;
    case AR_GBT_OBJ_BINARY_LOGITRAW:
        name = "auc";
        break;
    case AR_GBT_OBJ_BINARY_HINGE:
        name = "error";
        break;
    case AR_GBT_OBJ_POISSON:
        name = "poisson-nloglik";
        break;
    case AR_GBT_OBJ_GAMMA:
        name = "gamma-nloglik";
        break;
    case AR_GBT_OBJ_TWEEDIE:
        snprintf(buf, sizeof buf, "tweedie-nloglik@%g", (double)tweedie_rho);
        name = buf;
        break;
    case AR_GBT_OBJ_SOFTMAX:
    case AR_GBT_OBJ_SOFTPROB:
        name = "mlogloss";
        break;
    default:
        break;
    }
    int rc = ar_gbt_metric_parse(name, obj, out);
    AR_ASSERT(rc == AR_OK);
}

/* ---- constraint literals ---- */

static const char *skip_sp(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* "(1,0,-1)" or "[1,0,-1]" into cfg->monotone. */
static int parse_monotone(const char *s, struct ar_gbt_config *cfg)
{
    const char *p = skip_sp(s);
    char close;
    if (*p == '(')
        close = ')';
    else if (*p == '[')
        close = ']';
    else
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter monotone_constraints: '%s' is not a tuple like (1,0,-1)",
                          s);
    p++;
    size_t cap = strlen(s) + 1, n = 0;
    int8_t *v = ar_allocn(cap, 1);
    if (!v)
        return AR_ERR_NOMEM;
    for (;;) {
        p = skip_sp(p);
        if (*p == close)
            break;
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || (x != -1 && x != 0 && x != 1)) {
            ar_free(v);
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperparameter monotone_constraints: '%s': entry %zu must be -1, 0 "
                              "or 1",
                              s, n);
        }
        v[n++] = (int8_t)x;
        p = skip_sp(end);
        if (*p == ',')
            p++;
        else if (*p != close) {
            ar_free(v);
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperparameter monotone_constraints: '%s' is not a tuple like "
                              "(1,0,-1)",
                              s);
        }
    }
    if (*skip_sp(p + 1) != '\0') {
        ar_free(v);
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter monotone_constraints: trailing text in '%s'", s);
    }
    cfg->monotone = v;
    cfg->n_monotone = n;
    return AR_OK;
}

/* "[[0,1],[2,3,4]]" into cfg->ic_*. */
static int parse_interactions(const char *s, struct ar_gbt_config *cfg)
{
    size_t cap = strlen(s) + 2;
    uint32_t *feat = ar_allocn(cap, sizeof *feat);
    size_t *ptr = ar_allocn(cap, sizeof *ptr);
    if (!feat || !ptr)
        goto nomem;
    size_t nf = 0, ns = 0;
    const char *p = skip_sp(s);
    if (*p != '[')
        goto bad;
    p = skip_sp(p + 1);
    ptr[0] = 0;
    while (*p != ']') {
        if (*p != '[')
            goto bad;
        p = skip_sp(p + 1);
        while (*p != ']') {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p || x < 0 || x > 0x7fffffffL)
                goto bad;
            feat[nf++] = (uint32_t)x;
            p = skip_sp(end);
            if (*p == ',')
                p = skip_sp(p + 1);
            else if (*p != ']')
                goto bad;
        }
        ptr[++ns] = nf;
        p = skip_sp(p + 1);
        if (*p == ',')
            p = skip_sp(p + 1);
        else if (*p != ']')
            goto bad;
    }
    if (*skip_sp(p + 1) != '\0')
        goto bad;
    cfg->ic_feat = feat;
    cfg->ic_ptr = ptr;
    cfg->n_ic_sets = ns;
    return AR_OK;
bad:
    ar_free(feat);
    ar_free(ptr);
    return ar_err_set(AR_ERR_PARAM,
                      "Hyperparameter interaction_constraints: '%s' is not a nested list of "
                      "feature indices like [[0,1],[2,3,4]]",
                      s);
nomem:
    ar_free(feat);
    ar_free(ptr);
    return AR_ERR_NOMEM;
}

/* Adds the comma-separated metrics of `list` to cfg (skipping duplicates). */
static int add_metrics(const char *list, struct ar_gbt_config *cfg)
{
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[64];
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof name)
            return ar_err_set(AR_ERR_PARAM, "eval_metric: bad list '%s'", list);
        memcpy(name, p, len);
        name[len] = '\0';
        struct ar_gbt_metric m;
        AR_TRY(ar_gbt_metric_parse(name, cfg->obj, &m));
        bool dup = false;
        for (int i = 0; i < cfg->n_metrics; i++)
            dup |= strcmp(cfg->metrics[i].name, m.name) == 0;
        if (!dup) {
            if (cfg->n_metrics >= AR_GBT_MAX_METRICS)
                return ar_err_set(AR_ERR_LIMIT, "eval_metric: more than %d metrics",
                                  AR_GBT_MAX_METRICS);
            cfg->metrics[cfg->n_metrics++] = m;
        }
        p += comma ? (size_t)(comma - p) + 1 : strlen(p);
    }
    return AR_OK;
}

static int cmp_metric(const void *a, const void *b)
{
    return strcmp(((const struct ar_gbt_metric *)a)->name, ((const struct ar_gbt_metric *)b)->name);
}

int ar_gbt_params_validate(const void *params)
{
    struct ar_gbt_config cfg;
    int rc = ar_gbt_config_resolve(params, &cfg);
    if (rc == AR_OK)
        ar_gbt_config_release(&cfg);
    return rc;
}

void ar_gbt_config_release(struct ar_gbt_config *cfg)
{
    ar_free(cfg->monotone);
    ar_free(cfg->ic_feat);
    ar_free(cfg->ic_ptr);
    cfg->monotone = NULL;
    cfg->ic_feat = NULL;
    cfg->ic_ptr = NULL;
}

int ar_gbt_config_resolve(const struct ar_gbt_params *p, struct ar_gbt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (p->objective_auto && p->num_class > 0)
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter num_class needs an objective: set objective to "
                          "multi:softmax or multi:softprob");
    cfg->obj = p->objective_auto ? AR_GBT_OBJ_SQUAREDERROR : (enum ar_gbt_obj)p->objective;
    if (!p->objective_auto && p->objective >= AR_GBT_OBJ_COUNT)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter objective: %s is not supported by algorun (ranking and "
                          "survival objectives are not implemented)",
                          ar_gbt_obj_names[p->objective]);
    if (obj_is_multi(cfg->obj)) {
        if (p->num_class == 0)
            return ar_err_set(AR_ERR_PARAM, "Hyperparameter num_class is required for objective %s",
                              ar_gbt_obj_names[cfg->obj]);
        if (p->num_class > 100000)
            return ar_err_set(AR_ERR_LIMIT, "Hyperparameter num_class: %lld is too large",
                              (long long)p->num_class);
        cfg->num_class = (int)p->num_class;
        cfg->n_groups = cfg->num_class;
    } else {
        if (p->num_class > 0)
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperparameter num_class is only valid with multi:softmax or "
                              "multi:softprob (objective is %s)",
                              ar_gbt_obj_names[cfg->obj]);
        cfg->n_groups = 1;
    }
    if (p->booster != 0)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter booster: %s is not supported (only gbtree)",
                          boosters[p->booster]);
    if (p->process_type != 0)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter process_type: update (refreshing an existing model) is "
                          "not supported");
    if (p->sampling_method != 0)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter sampling_method: gradient_based needs tree_method "
                          "gpu_hist, which is not supported; use uniform");
    if (p->use_dask_gpu_training)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter use_dask_gpu_training: Dask GPU training is not "
                          "supported");
    if (p->kfold > 0)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "Hyperparameter _kfold: k-fold cross-validation training is not "
                          "supported");
    if (p->updater) {
        static const char *const growers[] = {"grow_colmaker", "grow_histmaker", "grow_skmaker",
                                              "grow_quantile_histmaker", NULL};
        static const char *const known[] = {"grow_colmaker",
                                            "distcol",
                                            "grow_histmaker",
                                            "grow_skmaker",
                                            "sync",
                                            "refresh",
                                            "prune",
                                            "grow_quantile_histmaker",
                                            "shotgun",
                                            "coord_descent",
                                            NULL};
        int n_growers = 0;
        const char *s = p->updater;
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            int k = -1;
            for (int i = 0; known[i]; i++)
                if (strlen(known[i]) == len && strncmp(known[i], s, len) == 0)
                    k = i;
            if (k < 0)
                return ar_err_set(AR_ERR_PARAM, "Hyperparameter updater: '%.*s' is not an updater",
                                  (int)len, s);
            bool grower = false;
            for (int i = 0; growers[i]; i++)
                grower |= strcmp(growers[i], known[k]) == 0;
            n_growers += grower;
            if (!grower && strcmp(known[k], "prune") != 0 && strcmp(known[k], "sync") != 0)
                return ar_err_set(AR_ERR_UNSUPPORTED,
                                  "Hyperparameter updater: %s is not supported (algorun grows "
                                  "trees with hist only)",
                                  known[k]);
            s += comma ? len + 1 : len;
        }
        if (n_growers > 1)
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperparameter updater: '%s' names more than one tree-growing "
                              "updater",
                              p->updater);
        AR_INFO("updater=%s: trees are grown with the hist method", p->updater);
    }
    if (p->tree_method == 1 || p->tree_method == 2 || p->tree_method == 4)
        AR_INFO("tree_method=%s requested: algorun uses tree_method=hist",
                tree_methods[p->tree_method]);
    if (p->max_depth == 0 && p->grow_policy != AR_GBT_GROW_LOSSGUIDE)
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter max_depth=0 (unlimited) needs grow_policy=lossguide");
    if (p->max_depth > 1000)
        return ar_err_set(AR_ERR_LIMIT, "Hyperparameter max_depth: %lld is too large (max 1000)",
                          (long long)p->max_depth);
    if (p->num_round > 1000000)
        return ar_err_set(AR_ERR_LIMIT, "Hyperparameter num_round: %lld is too large",
                          (long long)p->num_round);
    if (p->num_parallel_tree > 10000)
        return ar_err_set(AR_ERR_LIMIT, "Hyperparameter num_parallel_tree: %lld is too large",
                          (long long)p->num_parallel_tree);
    if (p->max_leaves > 0x7fffffffLL)
        return ar_err_set(AR_ERR_LIMIT, "Hyperparameter max_leaves: %lld is too large",
                          (long long)p->max_leaves);
    double base_score = p->base_score_auto ? 0.5 : p->base_score;
    if ((cfg->obj == AR_GBT_OBJ_BINARY_LOGISTIC || cfg->obj == AR_GBT_OBJ_REG_LOGISTIC) &&
        !(base_score > 0 && base_score < 1))
        return ar_err_set(AR_ERR_PARAM, "base_score must be in (0,1) for logistic loss, got: %g",
                          base_score);
    if ((cfg->obj == AR_GBT_OBJ_POISSON || cfg->obj == AR_GBT_OBJ_GAMMA ||
         cfg->obj == AR_GBT_OBJ_TWEEDIE) &&
        !(base_score > 0))
        return ar_err_set(AR_ERR_PARAM, "base_score must be > 0 for objective %s, got: %g",
                          ar_gbt_obj_names[cfg->obj], base_score);

    cfg->num_round = (int)p->num_round;
    cfg->num_parallel_tree = (int)p->num_parallel_tree;
    cfg->eta = (float)p->eta;
    cfg->gamma = (float)p->gamma;
    cfg->min_child_weight = (float)p->min_child_weight;
    cfg->lambda = (float)p->lambda;
    cfg->alpha = (float)p->alpha;
    if (p->max_delta_step_auto) {
        cfg->max_delta_step = cfg->obj == AR_GBT_OBJ_POISSON ? 0.7f : 0.0f;
        cfg->obj_max_delta_step = 0.7f;
    } else {
        cfg->max_delta_step = (float)p->max_delta_step;
        cfg->obj_max_delta_step = (float)p->max_delta_step;
    }
    cfg->scale_pos_weight = (float)p->scale_pos_weight;
    cfg->tweedie_rho = (float)p->tweedie_variance_power;
    cfg->huber_slope = 1.0f;
    cfg->base_score = (float)base_score;
    cfg->base_score_auto = p->base_score_auto;
    cfg->max_depth = (int)p->max_depth;
    cfg->max_leaves = (int)p->max_leaves;
    cfg->max_bin = (int)p->max_bin;
    cfg->grow = (enum ar_gbt_grow)p->grow_policy;
    cfg->subsample = (float)p->subsample;
    cfg->colsample_bytree = (float)p->colsample_bytree;
    cfg->colsample_bylevel = (float)p->colsample_bylevel;
    cfg->colsample_bynode = (float)p->colsample_bynode;
    cfg->seed = (uint64_t)(int64_t)p->seed;
    cfg->early_stopping_rounds =
        (int)(p->early_stopping_rounds > 0x7fffffff ? 0x7fffffff : p->early_stopping_rounds);
    cfg->n_threads = (int)(p->nthread > 4096 ? 4096 : p->nthread); /* 0: the global budget */

    int rc = AR_OK;
    if (p->eval_metric && (rc = add_metrics(p->eval_metric, cfg)) != AR_OK)
        goto fail;
    const char *tuning = p->tuning_objective_metric;
    if (tuning) {
        const char *colon = strchr(tuning, ':');
        const char *metric = colon ? colon + 1 : tuning;
        struct ar_gbt_metric tm;
        if ((rc = ar_gbt_metric_parse(metric, cfg->obj, &tm)) != AR_OK ||
            (rc = add_metrics(metric, cfg)) != AR_OK) {
            ar_err_prefix("_tuning_objective_metric: ");
            goto fail;
        }
        /* union sorted when both are given; early stopping uses the tuning metric */
        if (p->eval_metric && cfg->n_metrics > 1)
            qsort(cfg->metrics, (size_t)cfg->n_metrics, sizeof cfg->metrics[0], cmp_metric);
        for (int i = 0; i < cfg->n_metrics; i++)
            if (strcmp(cfg->metrics[i].name, tm.name) == 0)
                cfg->es_metric = i;
    } else {
        cfg->es_metric = cfg->n_metrics > 0 ? cfg->n_metrics - 1 : 0;
    }
    if (cfg->n_metrics == 0) {
        ar_gbt_metric_default(cfg->obj, cfg->tweedie_rho, &cfg->metrics[0]);
        cfg->n_metrics = 1;
        cfg->es_metric = 0;
    }

    if (p->monotone_constraints) {
        if (p->tree_method != 1 && p->tree_method != 3) {
            rc = ar_err_set(AR_ERR_PARAM,
                            "Hyperparameter monotone_constraints requires tree_method to be set "
                            "explicitly to exact or hist");
            goto fail;
        }
        if ((rc = parse_monotone(p->monotone_constraints, cfg)) != AR_OK)
            goto fail;
    }
    if (p->interaction_constraints) {
        if (p->tree_method != 1 && p->tree_method != 2 && p->tree_method != 3) {
            rc = ar_err_set(AR_ERR_PARAM,
                            "Hyperparameter interaction_constraints requires tree_method to be "
                            "set explicitly to exact, approx or hist");
            goto fail;
        }
        if ((rc = parse_interactions(p->interaction_constraints, cfg)) != AR_OK)
            goto fail;
    }
    return AR_OK;
fail:
    ar_gbt_config_release(cfg);
    return rc;
}
