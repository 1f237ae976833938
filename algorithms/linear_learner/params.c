/* Linear Learner hyperparameters: the schema table (SageMaker linear-learner:1 names, defaults
 * and ranges), resolution of every `auto`, cross-field validation, and the neighbourhood of
 * settings the parallel models explore. README.md documents each rule. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "algorithms/hp.h"
#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/log.h"

#define OFF(f)  offsetof(struct ar_ll_params, f)
#define AUTO(f) offsetof(struct ar_ll_params, f##_auto)

static const char *const predictors[] = {"binary_classifier", "multiclass_classifier", "regressor",
                                         NULL};
static const char *const losses[] = {"auto",
                                     "logistic",
                                     "squared_loss",
                                     "absolute_loss",
                                     "hinge_loss",
                                     "eps_insensitive_squared_loss",
                                     "eps_insensitive_absolute_loss",
                                     "quantile_loss",
                                     "huber_loss",
                                     "softmax_loss",
                                     NULL};
static const char *const optimizers[] = {"auto", "sgd", "adam", "rmsprop", NULL};
static const char *const criteria[] = {
    "accuracy",      "f_beta", "precision_at_target_recall", "recall_at_target_precision",
    "loss_function", "f1",     "cross_entropy_loss",         NULL};
static const char *const init_methods[] = {"uniform", "normal", NULL};

#define MIN_  AR_HP_HAS_MIN
#define MAX_  AR_HP_HAS_MAX
#define GT0   (AR_HP_HAS_MIN | AR_HP_MIN_OPEN)
#define UNIT  (AR_HP_HAS_MIN | AR_HP_HAS_MAX | AR_HP_MIN_OPEN | AR_HP_MAX_OPEN) /* (0, 1) */
#define UNIT0 (AR_HP_HAS_MIN | AR_HP_HAS_MAX | AR_HP_MAX_OPEN)                  /* [0, 1) */

const struct ar_hp_spec ar_ll_hp[] = {
    {"predictor_type", AR_HP_ENUM, AR_HP_REQUIRED, NULL, 0, 0, predictors, OFF(predictor_type), 0,
     "problem type", NULL},
    {"num_classes", AR_HP_INT, MIN_ | MAX_, NULL, 1, 1e6, NULL, OFF(num_classes), 0,
     "number of classes (required for multiclass_classifier, 3 or more)", NULL},
    {"feature_dim", AR_HP_INT, AR_HP_AUTO | MIN_, "auto", 1, 0, NULL, OFF(feature_dim),
     AUTO(feature_dim), "number of input features (auto: from the data)", NULL},
    {"accuracy_top_k", AR_HP_INT, MIN_ | MAX_, "3", 1, 1e6, NULL, OFF(accuracy_top_k), 0,
     "k of the multiclass top-k accuracy metric", NULL},
    {"balance_multiclass_weights", AR_HP_BOOL, 0, "false", 0, 0, NULL,
     OFF(balance_multiclass_weights), 0, "weight classes equally in the loss (multiclass)", NULL},
    {"beta_1", AR_HP_FLOAT, AR_HP_AUTO | UNIT0, "auto", 0, 1, NULL, OFF(beta_1), AUTO(beta_1),
     "Adam first-moment decay (auto: 0.9)", NULL},
    {"beta_2", AR_HP_FLOAT, AR_HP_AUTO | UNIT0, "auto", 0, 1, NULL, OFF(beta_2), AUTO(beta_2),
     "Adam second-moment decay (auto: 0.999)", NULL},
    {"bias_lr_mult", AR_HP_FLOAT, AR_HP_AUTO | GT0, "auto", 0, 0, NULL, OFF(bias_lr_mult),
     AUTO(bias_lr_mult), "bias learning rate multiplier (auto: 1)", NULL},
    {"bias_wd_mult", AR_HP_FLOAT, AR_HP_AUTO | MIN_, "auto", 0, 0, NULL, OFF(bias_wd_mult),
     AUTO(bias_wd_mult), "bias L2 multiplier (auto: 0, bias not regularised)", NULL},
    {"binary_classifier_model_selection_criteria", AR_HP_ENUM, 0, "accuracy", 0, 0, criteria,
     OFF(criterion), 0, "how the best model and the decision threshold are chosen", NULL},
    {"early_stopping_patience", AR_HP_INT, MIN_, "3", 1, 0, NULL, OFF(early_stopping_patience), 0,
     "epochs without improvement before stopping", NULL},
    {"early_stopping_tolerance", AR_HP_FLOAT, GT0, "0.001", 0, 0, NULL,
     OFF(early_stopping_tolerance), 0, "relative improvement counted as improvement", NULL},
    {"epochs", AR_HP_INT, MIN_, "15", 1, 0, NULL, OFF(epochs), 0, "passes over the training data",
     NULL},
    {"f_beta", AR_HP_FLOAT, GT0, "1.0", 0, 0, NULL, OFF(f_beta), 0, "beta of the F-score", NULL},
    {"huber_delta", AR_HP_FLOAT, MIN_, "1.0", 0, 0, NULL, OFF(huber_delta), 0,
     "huber_loss: squared below delta, absolute above", NULL},
    {"init_bias", AR_HP_FLOAT, 0, "0", 0, 0, NULL, OFF(init_bias), 0, "initial bias", NULL},
    {"init_method", AR_HP_ENUM, 0, "uniform", 0, 0, init_methods, OFF(init_method), 0,
     "weight initialisation distribution", NULL},
    {"init_scale", AR_HP_FLOAT, GT0, "0.07", 0, 0, NULL, OFF(init_scale), 0,
     "half-width of the uniform initialisation", NULL},
    {"init_sigma", AR_HP_FLOAT, GT0, "0.01", 0, 0, NULL, OFF(init_sigma), 0,
     "standard deviation of the normal initialisation", NULL},
    {"l1", AR_HP_FLOAT, AR_HP_AUTO | MIN_, "auto", 0, 0, NULL, OFF(l1), AUTO(l1),
     "L1 penalty (auto: 0, explored)", NULL},
    {"learning_rate", AR_HP_FLOAT, AR_HP_AUTO | GT0, "auto", 0, 0, NULL, OFF(learning_rate),
     AUTO(learning_rate), "step size (auto: per optimizer, explored)", NULL},
    {"loss", AR_HP_ENUM, 0, "auto", 0, 0, losses, OFF(loss), 0,
     "loss function (auto: per predictor_type)", NULL},
    {"loss_insensitivity", AR_HP_FLOAT, GT0, "0.01", 0, 0, NULL, OFF(loss_insensitivity), 0,
     "epsilon of the eps-insensitive losses", NULL},
    {"lr_scheduler_factor", AR_HP_FLOAT, AR_HP_AUTO | UNIT, "auto", 0, 1, NULL,
     OFF(lr_scheduler_factor), AUTO(lr_scheduler_factor), "LR decay factor (auto: 0.99)", NULL},
    {"lr_scheduler_minimum_lr", AR_HP_FLOAT, AR_HP_AUTO | GT0, "auto", 0, 0, NULL,
     OFF(lr_scheduler_minimum_lr), AUTO(lr_scheduler_minimum_lr), "LR floor (auto: 1e-5)", NULL},
    {"lr_scheduler_step", AR_HP_INT, AR_HP_AUTO | MIN_, "auto", 1, 0, NULL, OFF(lr_scheduler_step),
     AUTO(lr_scheduler_step), "updates between LR decays (auto: 100)", NULL},
    {"margin", AR_HP_FLOAT, MIN_, "1.0", 0, 0, NULL, OFF(margin), 0, "margin of hinge_loss", NULL},
    {"mini_batch_size", AR_HP_INT, MIN_, "1000", 1, 0, NULL, OFF(mini_batch_size), 0,
     "records per mini-batch", NULL},
    {"momentum", AR_HP_FLOAT, AR_HP_AUTO | UNIT0, "auto", 0, 1, NULL, OFF(momentum), AUTO(momentum),
     "SGD momentum (auto: 0)", NULL},
    {"normalize_data", AR_HP_BOOL, AR_HP_AUTO, "true", 0, 0, NULL, OFF(normalize_data),
     AUTO(normalize_data), "scale features to standard deviation 1", NULL},
    {"normalize_label", AR_HP_BOOL, AR_HP_AUTO, "auto", 0, 0, NULL, OFF(normalize_label),
     AUTO(normalize_label), "scale the label (auto: regression only)", NULL},
    {"num_calibration_samples", AR_HP_INT, AR_HP_AUTO | MIN_, "auto", 1, 0, NULL,
     OFF(num_calibration_samples), AUTO(num_calibration_samples),
     "records used to calibrate and select (auto: 10000000)", NULL},
    {"num_models", AR_HP_INT, AR_HP_AUTO | MIN_ | MAX_, "auto", 1, 1024, NULL, OFF(num_models),
     AUTO(num_models), "models trained in parallel (auto: 32; 1 under tuning)", NULL},
    {"num_point_for_scaler", AR_HP_INT, MIN_, "10000", 1, 0, NULL, OFF(num_point_for_scaler), 0,
     "records used for the normalisation statistics", NULL},
    {"optimizer", AR_HP_ENUM, 0, "auto", 0, 0, optimizers, OFF(optimizer), 0,
     "optimizer (auto: adam)", NULL},
    {"positive_example_weight_mult", AR_HP_STRING, 0, "1.0", 0, 0, NULL,
     OFF(positive_example_weight_mult), 0,
     "weight of positive examples: a number > 0, balanced, auto", NULL},
    {"quantile", AR_HP_FLOAT, UNIT, "0.5", 0, 1, NULL, OFF(quantile), 0,
     "target quantile of quantile_loss", NULL},
    {"target_precision", AR_HP_FLOAT, UNIT, "0.8", 0, 1, NULL, OFF(target_precision), 0,
     "precision floor of recall_at_target_precision", NULL},
    {"target_recall", AR_HP_FLOAT, UNIT, "0.8", 0, 1, NULL, OFF(target_recall), 0,
     "recall floor of precision_at_target_recall", NULL},
    {"unbias_data", AR_HP_BOOL, AR_HP_AUTO, "auto", 0, 0, NULL, OFF(unbias_data), AUTO(unbias_data),
     "shift features to mean 0 (auto: dense data with use_bias)", NULL},
    {"unbias_label", AR_HP_BOOL, AR_HP_AUTO, "auto", 0, 0, NULL, OFF(unbias_label),
     AUTO(unbias_label), "shift the label to mean 0 (auto: regression with use_bias)", NULL},
    {"use_bias", AR_HP_BOOL, 0, "true", 0, 0, NULL, OFF(use_bias), 0, "include an intercept", NULL},
    {"use_lr_scheduler", AR_HP_BOOL, 0, "true", 0, 0, NULL, OFF(use_lr_scheduler), 0,
     "decay the learning rate", NULL},
    {"wd", AR_HP_FLOAT, AR_HP_AUTO | MIN_, "auto", 0, 0, NULL, OFF(wd), AUTO(wd),
     "L2 penalty (auto: 1e-4, explored)", NULL},
    {"_kvstore", AR_HP_STRING, AR_HP_IGNORED, "auto", 0, 0, NULL, OFF(kvstore), 0,
     "internal (distributed key-value store)", NULL},
    {"_num_gpus", AR_HP_STRING, AR_HP_IGNORED, "auto", 0, 0, NULL, OFF(num_gpus), 0,
     "internal (GPUs)", NULL},
    {"_num_kv_servers", AR_HP_STRING, AR_HP_IGNORED, "auto", 0, 0, NULL, OFF(num_kv_servers), 0,
     "internal (key-value servers)", NULL},
    {"_log_level", AR_HP_STRING, AR_HP_IGNORED, "info", 0, 0, NULL, OFF(log_level), 0,
     "internal (log level)", NULL},
    {"_enable_profiler", AR_HP_STRING, AR_HP_IGNORED, "false", 0, 0, NULL, OFF(enable_profiler), 0,
     "internal (profiler)", NULL},
    {"_tuning_objective_metric", AR_HP_STRING, 0, "", 0, 0, NULL, OFF(tuning_objective_metric), 0,
     "internal: set by automatic model tuning (then num_models auto = 1)", NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

const char *ar_ll_loss_name(int loss)
{
    return loss >= 0 && loss <= AR_LL_LOSS_SOFTMAX ? losses[loss] : "?";
}

const char *ar_ll_objective_name(int loss)
{
    switch (loss) {
    case AR_LL_LOSS_LOGISTIC:
        return "binary_classification_cross_entropy";
    case AR_LL_LOSS_HINGE:
        return "binary_classification_hinge_loss";
    case AR_LL_LOSS_SOFTMAX:
        return "multiclass_cross_entropy";
    case AR_LL_LOSS_SQUARED:
        return "mse";
    case AR_LL_LOSS_ABSOLUTE:
        return "absolute_loss";
    case AR_LL_LOSS_EPS_SQUARED:
        return "eps_insensitive_squared_loss";
    case AR_LL_LOSS_EPS_ABSOLUTE:
        return "eps_insensitive_absolute_loss";
    case AR_LL_LOSS_QUANTILE:
        return "quantile_loss";
    case AR_LL_LOSS_HUBER:
        return "huber_loss";
    default:
        return "loss";
    }
}

static bool loss_allowed(int predictor, int loss)
{
    switch (predictor) {
    case AR_LL_BINARY:
        return loss == AR_LL_LOSS_LOGISTIC || loss == AR_LL_LOSS_HINGE;
    case AR_LL_MULTICLASS:
        return loss == AR_LL_LOSS_SOFTMAX;
    default:
        return loss == AR_LL_LOSS_SQUARED || loss == AR_LL_LOSS_ABSOLUTE ||
               loss == AR_LL_LOSS_EPS_SQUARED || loss == AR_LL_LOSS_EPS_ABSOLUTE ||
               loss == AR_LL_LOSS_QUANTILE || loss == AR_LL_LOSS_HUBER;
    }
}

static int parse_posw(const char *s, struct ar_ll_config *c)
{
    const char *p = s ? s : "";
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 8 && strncasecmp(p, "balanced", 8) == 0) {
        c->posw_mode = AR_LL_POSW_BALANCED;
        c->posw = 1.0;
        return AR_OK;
    }
    if (n == 4 && strncasecmp(p, "auto", 4) == 0) {
        c->posw_mode = AR_LL_POSW_AUTO;
        c->posw = 1.0;
        return AR_OK;
    }
    double v;
    if (ar_hp_parse_float("Hyperparameter positive_example_weight_mult", s, &v) != AR_OK ||
        !(v > 0))
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter positive_example_weight_mult: '%s' is not allowed; "
                          "allowed: a number > 0, 'balanced' or 'auto'",
                          s ? s : "");
    c->posw_mode = AR_LL_POSW_VALUE;
    c->posw = v;
    return AR_OK;
}

int ar_ll_config_resolve(const struct ar_ll_params *p, struct ar_ll_config *c)
{
    memset(c, 0, sizeof *c);
    c->predictor = p->predictor_type;
    c->loss = p->loss;
    if (c->loss == AR_LL_LOSS_AUTO)
        c->loss = c->predictor == AR_LL_BINARY       ? AR_LL_LOSS_LOGISTIC
                  : c->predictor == AR_LL_MULTICLASS ? AR_LL_LOSS_SOFTMAX
                                                     : AR_LL_LOSS_SQUARED;
    if (!loss_allowed(c->predictor, c->loss))
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter loss: '%s' is not allowed with predictor_type %s; "
                          "allowed: %s",
                          losses[c->loss], predictors[c->predictor],
                          c->predictor == AR_LL_BINARY ? "auto, logistic, hinge_loss"
                          : c->predictor == AR_LL_MULTICLASS
                              ? "auto, softmax_loss"
                              : "auto, squared_loss, absolute_loss, eps_insensitive_squared_loss, "
                                "eps_insensitive_absolute_loss, quantile_loss, huber_loss");
    c->n_classes = 1;
    c->n_out = 1;
    if (c->predictor == AR_LL_MULTICLASS) {
        if (p->num_classes == 0)
            return ar_err_set(AR_ERR_PARAM, "Hyperparameter num_classes is required when "
                                            "predictor_type is multiclass_classifier");
        if (p->num_classes < 3)
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperparameter num_classes: value %lld is out of range for "
                              "multiclass_classifier; allowed: 3 to 1000000 (use "
                              "binary_classifier for two classes)",
                              (long long)p->num_classes);
        c->n_classes = (size_t)p->num_classes;
        c->n_out = c->n_classes;
    }
    if (c->loss == AR_LL_LOSS_HUBER && !(p->huber_delta > 0))
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter huber_delta: value 0 is not allowed with huber_loss; "
                          "allowed: > 0");
    if (c->loss == AR_LL_LOSS_HINGE && !(p->margin > 0))
        return ar_err_set(AR_ERR_PARAM,
                          "Hyperparameter margin: value 0 is not allowed with hinge_loss; "
                          "allowed: > 0");
    c->feature_dim = p->feature_dim_auto ? 0 : (size_t)p->feature_dim;
    c->optimizer = p->optimizer == AR_LL_OPT_AUTO ? AR_LL_OPT_ADAM : p->optimizer;
    c->criterion = p->criterion;
    c->f_beta = p->f_beta;
    if (c->criterion == AR_LL_CRIT_F1) {
        c->criterion = AR_LL_CRIT_F_BETA;
        c->f_beta = 1.0;
    } else if (c->criterion == AR_LL_CRIT_CROSS_ENTROPY) {
        c->criterion = AR_LL_CRIT_LOSS;
    }
    c->batch = (size_t)p->mini_batch_size;
    c->epochs = (size_t)p->epochs;
    c->patience = (size_t)p->early_stopping_patience;
    c->tolerance = p->early_stopping_tolerance;
    c->top_k = (size_t)p->accuracy_top_k;

    bool tuning = p->tuning_objective_metric && p->tuning_objective_metric[0] != '\0';
    c->n_models = p->num_models_auto ? (tuning ? 1 : 32) : (size_t)p->num_models;

    c->lr_auto = p->learning_rate_auto;
    c->lr = !c->lr_auto ? p->learning_rate : c->optimizer == AR_LL_OPT_RMSPROP ? 0.01 : 0.1;
    c->wd_auto = p->wd_auto;
    c->wd = c->wd_auto ? 1e-4 : p->wd;
    c->l1_auto = p->l1_auto;
    c->l1 = c->l1_auto ? 0.0 : p->l1;
    c->beta1 = p->beta_1_auto ? 0.9 : p->beta_1;
    c->beta2 = p->beta_2_auto ? 0.999 : p->beta_2;
    c->momentum = p->momentum_auto ? 0.0 : p->momentum;
    c->rms_decay = 0.9;
    c->eps = 1e-8;
    c->bias_lr_mult = p->bias_lr_mult_auto ? 1.0 : p->bias_lr_mult;
    c->bias_wd_mult = p->bias_wd_mult_auto ? 0.0 : p->bias_wd_mult;
    c->use_sched = p->use_lr_scheduler;
    c->sched_step = p->lr_scheduler_step_auto ? 100 : (size_t)p->lr_scheduler_step;
    c->sched_factor = p->lr_scheduler_factor_auto ? 0.99 : p->lr_scheduler_factor;
    c->sched_min_lr = p->lr_scheduler_minimum_lr_auto ? 1e-5 : p->lr_scheduler_minimum_lr;
    c->init_method = p->init_method;
    c->init_scale = p->init_scale;
    c->init_sigma = p->init_sigma;
    c->init_bias = p->init_bias;
    c->use_bias = p->use_bias;
    c->normalize_data = p->normalize_data_auto ? true : p->normalize_data;
    bool reg = c->predictor == AR_LL_REGRESSOR;
    /* Label scaling and shifting only ever apply to regression (true is ignored otherwise). */
    c->normalize_label = reg && (p->normalize_label_auto ? true : p->normalize_label);
    c->unbias_label = reg && (p->unbias_label_auto ? c->use_bias : p->unbias_label);
    c->unbias_data = p->unbias_data_auto ? (c->use_bias ? AR_LL_DATA : AR_LL_OFF)
                     : p->unbias_data    ? AR_LL_ON
                                         : AR_LL_OFF;
    AR_TRY(parse_posw(p->positive_example_weight_mult, c));
    c->balance_multiclass = c->predictor == AR_LL_MULTICLASS && p->balance_multiclass_weights;
    c->target_recall = p->target_recall;
    c->target_precision = p->target_precision;
    c->margin = p->margin;
    c->huber_delta = p->huber_delta;
    c->eps_insensitive = p->loss_insensitivity;
    c->quantile = p->quantile;
    c->n_scaler = (size_t)p->num_point_for_scaler;
    c->n_calib = p->num_calibration_samples_auto ? 10000000u : (size_t)p->num_calibration_samples;
    c->seed = 0x11ea7ull;
    return AR_OK;
}

int ar_ll_params_validate(const void *params)
{
    struct ar_ll_config c;
    return ar_ll_config_resolve(params, &c);
}

/* ---- the neighbourhood explored by the parallel models ---- */

#define GRID_MAX 4

struct axis {
    double v[GRID_MAX];
    size_t n;
};

static void axis_set(struct axis *a, size_t n, const double *v)
{
    a->n = n;
    for (size_t i = 0; i < n; i++)
        a->v[i] = v[i];
}

void ar_ll_grid(const struct ar_ll_config *c, struct ar_ll_model_cfg *out)
{
    struct axis lr, wd, l1, pw;
    if (c->lr_auto) {
        static const double adam[] = {0.1, 0.03, 0.01, 0.003};
        static const double rms[] = {0.01, 0.003, 0.03, 0.001};
        static const double sgd[] = {0.1, 0.03, 0.3, 0.01};
        axis_set(&lr, 4,
                 c->optimizer == AR_LL_OPT_ADAM      ? adam
                 : c->optimizer == AR_LL_OPT_RMSPROP ? rms
                                                     : sgd);
    } else {
        double v[] = {c->lr, c->lr * 0.5, c->lr * 2, c->lr * 0.25};
        axis_set(&lr, 4, v);
    }
    if (c->wd_auto) {
        double v[] = {1e-4, 1e-6, 1e-3, 1e-2};
        axis_set(&wd, 4, v);
    } else if (c->wd > 0) {
        double v[] = {c->wd, c->wd * 0.3, c->wd * 3, c->wd * 0.1};
        axis_set(&wd, 4, v);
    } else {
        double v[] = {0};
        axis_set(&wd, 1, v);
    }
    if (c->l1_auto) {
        double v[] = {0, 1e-5};
        axis_set(&l1, 2, v);
    } else if (c->l1 > 0) {
        double v[] = {c->l1, c->l1 * 0.3};
        axis_set(&l1, 2, v);
    } else {
        double v[] = {0};
        axis_set(&l1, 1, v);
    }
    /* positive_example_weight_mult=auto: half the models weigh positives 1, half balanced. */
    double pv[] = {c->posw, 0};
    axis_set(&pw, c->predictor == AR_LL_BINARY && c->posw_mode == AR_LL_POSW_AUTO ? 2 : 1, pv);

    for (size_t m = 0; m < c->n_models; m++) {
        size_t r = m;
        size_t i_lr = r % lr.n;
        r /= lr.n;
        size_t i_wd = r % wd.n;
        r /= wd.n;
        size_t i_pw = r % pw.n;
        r /= pw.n;
        size_t i_l1 = r % l1.n;
        struct ar_ll_model_cfg *o = &out[m];
        o->lr = lr.v[i_lr];
        o->wd = wd.v[i_wd];
        o->l1 = l1.v[i_l1];
        o->posw_balanced =
            c->predictor == AR_LL_BINARY &&
            (c->posw_mode == AR_LL_POSW_BALANCED || (c->posw_mode == AR_LL_POSW_AUTO && i_pw == 1));
        o->posw = c->posw_mode == AR_LL_POSW_VALUE ? c->posw : 1.0;
        o->stream = m;
    }
}
