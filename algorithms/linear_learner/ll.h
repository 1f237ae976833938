/* Linear Learner internals (folder-private): hyperparameters, the resolved configuration, the
 * per-model search grid, the multi-model trainer, threshold calibration and the model.
 *
 * Ownership: a trainer owns its weights and scratch; ar_ll_trainer_free releases them. A model
 * is immutable after ar_ll_fit() or ar_ll_model_load(); ar_ll_model_free(NULL) is a no-op.
 * Everything here is exposed for the files of algorithms/linear_learner and the unit tests only.
 */
#ifndef AR_ALGORITHMS_LINEAR_LEARNER_LL_H
#define AR_ALGORITHMS_LINEAR_LEARNER_LL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algorithms/algo.h"
#include "io/batch.h"

/* ---- hyperparameters (params.c) ---- */

enum ar_ll_predictor {
    AR_LL_BINARY = 0,
    AR_LL_MULTICLASS = 1,
    AR_LL_REGRESSOR = 2
};

/* Order matches the `loss` choices. */
enum ar_ll_loss {
    AR_LL_LOSS_AUTO = 0,
    AR_LL_LOSS_LOGISTIC,
    AR_LL_LOSS_SQUARED,
    AR_LL_LOSS_ABSOLUTE,
    AR_LL_LOSS_HINGE,
    AR_LL_LOSS_EPS_SQUARED,
    AR_LL_LOSS_EPS_ABSOLUTE,
    AR_LL_LOSS_QUANTILE,
    AR_LL_LOSS_HUBER,
    AR_LL_LOSS_SOFTMAX
};

enum ar_ll_optimizer {
    AR_LL_OPT_AUTO = 0,
    AR_LL_OPT_SGD,
    AR_LL_OPT_ADAM,
    AR_LL_OPT_RMSPROP
};

/* Order matches the `binary_classifier_model_selection_criteria` choices; the last two are
 * the SDK's older spellings (f1 = f_beta, cross_entropy_loss = loss_function). */
enum ar_ll_criterion {
    AR_LL_CRIT_ACCURACY = 0,
    AR_LL_CRIT_F_BETA,
    AR_LL_CRIT_PRECISION_AT_RECALL,
    AR_LL_CRIT_RECALL_AT_PRECISION,
    AR_LL_CRIT_LOSS,
    AR_LL_CRIT_F1,
    AR_LL_CRIT_CROSS_ENTROPY
};

struct ar_ll_params {
    int predictor_type;
    int64_t num_classes;
    int64_t feature_dim;
    bool feature_dim_auto;
    int64_t accuracy_top_k;
    bool balance_multiclass_weights;
    double beta_1, beta_2;
    bool beta_1_auto, beta_2_auto;
    double bias_lr_mult, bias_wd_mult;
    bool bias_lr_mult_auto, bias_wd_mult_auto;
    int criterion;
    int64_t early_stopping_patience;
    double early_stopping_tolerance;
    int64_t epochs;
    double f_beta;
    double huber_delta;
    double init_bias;
    int init_method; /* 0 uniform, 1 normal */
    double init_scale, init_sigma;
    double l1;
    bool l1_auto;
    double learning_rate;
    bool learning_rate_auto;
    int loss;
    double loss_insensitivity;
    double lr_scheduler_factor, lr_scheduler_minimum_lr;
    bool lr_scheduler_factor_auto, lr_scheduler_minimum_lr_auto;
    int64_t lr_scheduler_step;
    bool lr_scheduler_step_auto;
    double margin;
    int64_t mini_batch_size;
    double momentum;
    bool momentum_auto;
    bool normalize_data, normalize_label;
    bool normalize_data_auto, normalize_label_auto;
    int64_t num_calibration_samples;
    bool num_calibration_samples_auto;
    int64_t num_models;
    bool num_models_auto;
    int64_t num_point_for_scaler;
    int optimizer;
    char *positive_example_weight_mult;
    double quantile;
    double target_precision, target_recall;
    bool unbias_data, unbias_label;
    bool unbias_data_auto, unbias_label_auto;
    bool use_bias;
    bool use_lr_scheduler;
    double wd;
    bool wd_auto;
    /* internal keys of the container's default config */
    char *kvstore, *num_gpus, *num_kv_servers, *log_level, *enable_profiler;
    char *tuning_objective_metric;
};

extern const struct ar_hp_spec ar_ll_hp[];

/* positive_example_weight_mult after resolution. */
enum ar_ll_posw {
    AR_LL_POSW_VALUE = 0,
    AR_LL_POSW_BALANCED,
    AR_LL_POSW_AUTO
};

/* Tri-state for auto/true/false switches whose auto depends on the data (sparse or dense). */
enum ar_ll_tri {
    AR_LL_OFF = 0,
    AR_LL_ON = 1,
    AR_LL_DATA = 2 /* on for dense data, off for sparse */
};

/* Every hyperparameter with `auto` resolved (see README.md for each rule). */
struct ar_ll_config {
    int predictor, loss, optimizer, criterion;
    size_t n_classes;   /* multiclass: num_classes; else 1 */
    size_t n_out;       /* outputs per model: num_classes for multiclass, else 1 */
    size_t feature_dim; /* 0: from the data */
    size_t n_models, batch, epochs, patience, top_k;
    double tolerance;
    double lr, wd, l1;
    bool lr_auto, wd_auto, l1_auto;
    double beta1, beta2, momentum, rms_decay, eps;
    double bias_lr_mult, bias_wd_mult;
    bool use_sched;
    size_t sched_step;
    double sched_factor, sched_min_lr;
    int init_method;
    double init_scale, init_sigma, init_bias;
    bool normalize_data, normalize_label, unbias_label, use_bias;
    int unbias_data; /* enum ar_ll_tri */
    int posw_mode;   /* enum ar_ll_posw */
    double posw;
    bool balance_multiclass;
    double f_beta, target_recall, target_precision;
    double margin, huber_delta, eps_insensitive, quantile;
    size_t n_scaler, n_calib;
    uint64_t seed;
};

/* Resolves every `auto` and checks the cross-field rules. AR_ERR_PARAM naming the field. */
int ar_ll_config_resolve(const struct ar_ll_params *p, struct ar_ll_config *c);
int ar_ll_params_validate(const void *params);
const char *ar_ll_loss_name(int loss);
/* "binary_classification_cross_entropy", "mse", ...: the log token before "_objective". */
const char *ar_ll_objective_name(int loss);

/* ---- the parallel models (params.c) ---- */

struct ar_ll_model_cfg {
    double lr, wd, l1;
    double posw;        /* weight of positive examples (binary) */
    bool posw_balanced; /* posw comes from the class counts of the scaler sample */
    uint64_t stream;    /* rng stream of the weight initialisation */
};

/* Fills cfg->n_models settings: model 0 is exactly the resolved settings, the others spread
 * over the neighbourhood described in README.md. */
void ar_ll_grid(const struct ar_ll_config *c, struct ar_ll_model_cfg *out);

/* ---- losses (train.c) ---- */

struct ar_ll_loss_prm {
    double margin, delta, eps, quantile;
};

/* Loss of one output z against label y and its derivative dl/dz (scalar losses). */
double ar_ll_loss_eval(int loss, const struct ar_ll_loss_prm *prm, double z, double y, double *g);
/* Softmax cross-entropy of k logits against class y; g (k) receives dl/dz. */
double ar_ll_softmax_eval(const float *z, size_t k, size_t y, float *g);

/* ---- the trainer (train.c) ---- */

/* n_models models trained together. Weights live in the normalised space (features shifted
 * by mu and scaled by inv_sd, labels by y_mu / y_sd); wt/bt hold them folded onto raw
 * features (still in normalised label units). Column k = m * n_out + c is output c of model
 * m. The struct is visible to the folder only (fit.c and the tests read it). */
struct ar_ll_trainer {
    struct ar_ll_config c;
    size_t n_models, n_out, n_k, d;
    struct ar_ll_model_cfg *mc;
    float *w, *b;      /* d x K, K: normalised-space weights */
    float *wt, *bt;    /* d x K, K: folded (ar_ll_trainer_fold) */
    float *s1, *s2;    /* optimizer state, d x K each */
    double *bs1, *bs2; /* bias optimizer state, K each */
    float *gw;         /* d x K gradient sums */
    float *kprm;       /* 4 x K per-output step settings (scratch) */
    float *z;          /* z_cap x K: scores, then weighted gradients */
    size_t z_cap;
    double *part; /* per-thread partials: part_stride doubles per thread */
    size_t part_stride;
    double *colsum;      /* K */
    double *wsum;        /* n_models */
    double *mu, *inv_sd; /* d */
    bool shift;
    double y_mu, y_sd;
    double *class_w;        /* n_out class weights (multiclass) */
    double *posw;           /* n_models resolved positive weights */
    float *posw_f;          /* the same in float (refreshed every step) */
    double *ep_loss, *ep_w; /* n_models: this epoch's weighted reported loss and weight */
    size_t steps;
    struct ar_ll_loss_prm prm_train, prm_report;
    bool scaled;
};

/* A trainer of n_models models over n_features raw features. `models` is copied. */
int ar_ll_trainer_new(const struct ar_ll_config *c, const struct ar_ll_model_cfg *models,
                      size_t n_models, size_t n_features, struct ar_ll_trainer **out);
void ar_ll_trainer_free(struct ar_ll_trainer *t);
/* Reads up to n_scaler rows of `src` for the normalisation statistics and class counts, then
 * resets `src`. Must be called once before the first step. */
int ar_ll_trainer_scale(struct ar_ll_trainer *t, struct ar_batch_source *src);
/* As ar_ll_trainer_scale when the pass's first batch (at most n_scaler rows) was already read
 * from src by the caller (so a Pipe-mode channel spends one pass, not two). */
int ar_ll_trainer_scale_from(struct ar_ll_trainer *t, struct ar_batch_source *src,
                             const struct ar_batch *first);
/* One mini-batch update of every model; adds the batch's weighted losses to the epoch sums.
 * AR_ERR_INVALID naming the row for a bad label or a non-finite feature. */
int ar_ll_trainer_step(struct ar_ll_trainer *t, const struct ar_batch *b);
/* Refreshes t->wt / t->bt from the current weights. */
void ar_ll_trainer_fold(struct ar_ll_trainer *t);
/* Model m's current weights in raw-feature, label units: w is n_features x n_out row-major. */
void ar_ll_trainer_weights(struct ar_ll_trainer *t, size_t m, float *w, float *bias);
/* Z (n_rows x K) = X * W + B for folded weights W (d x K) and B (K); grows nothing: z must hold
 * b->n_rows * K floats. AR_ERR_INVALID when the batch has more columns than d. */
int ar_ll_forward(const struct ar_batch *b, size_t d, size_t n_k, const float *w, const float *bias,
                  float *z);
/* For Z from ar_ll_forward with the trainer's layout: adds each model's instance-weighted
 * reported loss (label units) to loss[m] and the weight to wsum[m], and turns Z into output
 * scores in place (probability, margin, class probabilities, or value in label units).
 * AR_ERR_INVALID naming the row for a bad label (labels required). */
int ar_ll_trainer_eval(const struct ar_ll_trainer *t, const struct ar_batch *b, float *z,
                       double *loss, double *wsum);

/* ---- threshold calibration (calib.c) ---- */

struct ar_ll_calib {
    double value;     /* the criterion at the chosen threshold (higher is better) */
    double threshold; /* predicted_label = score >= threshold */
};

/* Chooses the threshold maximising `criterion` over n scores with 0/1 labels and optional
 * weights. `natural` (0.5 for probabilities, 0 for margins) breaks ties and is the threshold
 * of AR_LL_CRIT_LOSS. `order` is scratch of n entries. */
int ar_ll_calibrate(int criterion, double beta, double target_recall, double target_precision,
                    double natural, const float *score, const float *y, const float *w, size_t n,
                    uint32_t *order, struct ar_ll_calib *out);

/* ---- the model (model.c) ---- */

#define AR_LL_MODEL_FILE "model_algo-1"

struct ar_ll_model {
    struct ar_model base;
    int predictor, loss;
    size_t n_features, n_out;
    float *w; /* n_features x n_out, raw features to label units */
    float *b; /* n_out */
    float threshold;
    double lr, wd, l1; /* the chosen model's settings (informational) */
};

extern const struct ar_algo ar_algo_linear_learner;

int ar_ll_model_new(int predictor, int loss, size_t n_features, size_t n_out,
                    struct ar_ll_model **out);
void ar_ll_model_free(struct ar_ll_model *m);
/* Writes dir/model_algo-1 atomically (temp file, fsync, rename, fsync dir). */
int ar_ll_model_save(const struct ar_ll_model *m, const char *dir);
/* Reads and checks dir/model_algo-1 (magic, version, sizes, CRC32). AR_ERR_FORMAT. */
int ar_ll_model_load(const char *dir, struct ar_ll_model **out);
/* Serialises to / parses from memory (used by save/load and tests). *buf is ar_alloc'd. */
int ar_ll_model_encode(const struct ar_ll_model *m, unsigned char **buf, size_t *len);
int ar_ll_model_decode(const unsigned char *buf, size_t len, const char *name,
                       struct ar_ll_model **out);
/* Adds "score" (and "predicted_label" for classifiers) for every row of `in`. */
int ar_ll_model_predict(const struct ar_ll_model *m, const struct ar_batch *in,
                        struct ar_table *out);

/* ---- the training driver (fit.c) ---- */

/* Trains from batch sources (validation and test may be NULL), selects and calibrates the best
 * model, logs and reports metrics, and returns the final model. */
int ar_ll_fit(const struct ar_ll_config *c, struct ar_batch_source *train,
              struct ar_batch_source *validation, struct ar_batch_source *test,
              const struct ar_train_ctx *ctx, struct ar_ll_model **out);

#endif
