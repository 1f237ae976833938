/* Private declarations of the XGBoost-compatible gradient-boosted tree learner (prefix ar_gbt_).
 *
 * Layout of the module: params.c (hyperparameter schema, cross-field rules, resolved config),
 * quantize.c (quantile cuts, bin matrix), hist.c (histogram kernels), split.c (gain and split
 * search), grow.c (one tree: partition, depthwise/lossguide driver), objective.c (gradients,
 * transforms, label checks), metric.c (XGBoost eval metrics), train.c (boosting loop),
 * model_io.c (XGBoost 1.7 JSON), predict.c (flat-tree prediction), algo.c (the ar_algo value).
 *
 * Numerics follow XGBoost 1.7.4 tree_method=hist: gradient pairs are float, histogram sums
 * double, split gains float; a value v falls in bin i when cut[i-1] <= v < cut[i], and a split
 * on bin i sends x < cut[i] left. Missing values are NaN (absent CSR entries are missing).
 */
#ifndef AR_ALGORITHMS_XGBOOST_GBT_H
#define AR_ALGORITHMS_XGBOOST_GBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algorithms/algo.h"
#include "core/rng.h"
#include "io/batch.h"

/* ---- hyperparameters (params.c) ---- */

enum ar_gbt_obj {
    AR_GBT_OBJ_SQUAREDERROR = 0,
    AR_GBT_OBJ_LINEAR, /* reg:linear, an alias of reg:squarederror */
    AR_GBT_OBJ_SQUAREDLOGERROR,
    AR_GBT_OBJ_REG_LOGISTIC,
    AR_GBT_OBJ_PSEUDOHUBER,
    AR_GBT_OBJ_ABSOLUTEERROR,
    AR_GBT_OBJ_BINARY_LOGISTIC,
    AR_GBT_OBJ_BINARY_LOGITRAW,
    AR_GBT_OBJ_BINARY_HINGE,
    AR_GBT_OBJ_POISSON,
    AR_GBT_OBJ_GAMMA,
    AR_GBT_OBJ_TWEEDIE,
    AR_GBT_OBJ_SOFTMAX,
    AR_GBT_OBJ_SOFTPROB,
    AR_GBT_OBJ_COUNT /* the unsupported names follow in the choice list */
};

/* The objective names as XGBoost spells them, indexed by enum ar_gbt_obj; the schema's choice
 * list continues with the rank and survival objectives, which are rejected. */
extern const char *const ar_gbt_obj_names[];

enum ar_gbt_grow {
    AR_GBT_GROW_DEPTHWISE = 0,
    AR_GBT_GROW_LOSSGUIDE = 1
};

/* Raw values as parsed by the schema (field names follow the hyperparameters). */
struct ar_gbt_params {
    int64_t num_round;
    double eta, gamma;
    int64_t max_depth;
    double min_child_weight, max_delta_step;
    bool max_delta_step_auto;
    double subsample, colsample_bytree, colsample_bylevel, colsample_bynode;
    double lambda, alpha;
    int tree_method;
    double sketch_eps, scale_pos_weight;
    char *updater;
    int dsplit;
    int64_t refresh_leaf;
    int process_type, grow_policy;
    int64_t max_leaves, max_bin;
    int predictor;
    int64_t num_parallel_tree;
    int booster, sample_type, normalize_type;
    double rate_drop;
    int64_t one_drop;
    double skip_drop, lambda_bias, tweedie_variance_power;
    int objective;
    bool objective_auto;
    int64_t num_class;
    double base_score;
    bool base_score_auto;
    char *eval_metric;
    int64_t seed, early_stopping_rounds, csv_weights;
    char *monotone_constraints, *interaction_constraints;
    int64_t verbosity, nthread;
    bool save_model_on_termination;
    int aft_loss_distribution;
    double aft_loss_distribution_scale;
    bool deterministic_histogram;
    int sampling_method;
    int64_t prob_buffer_row;
    bool use_dask_gpu_training;
    char *tuning_objective_metric; /* _tuning_objective_metric */
    int64_t kfold, num_cv_round;   /* _kfold, _num_cv_round */
};

extern const struct ar_hp_spec ar_gbt_hp[];

#define AR_GBT_MAX_METRICS 16

enum ar_gbt_metric_kind {
    AR_GBT_M_RMSE = 0,
    AR_GBT_M_RMSLE,
    AR_GBT_M_MAE,
    AR_GBT_M_MAPE,
    AR_GBT_M_MPHE,
    AR_GBT_M_LOGLOSS,
    AR_GBT_M_ERROR, /* error or error@t */
    AR_GBT_M_MERROR,
    AR_GBT_M_MLOGLOSS,
    AR_GBT_M_AUC,
    AR_GBT_M_AUCPR,
    AR_GBT_M_POISSON_NLOGLIK,
    AR_GBT_M_GAMMA_NLOGLIK,
    AR_GBT_M_GAMMA_DEVIANCE,
    AR_GBT_M_TWEEDIE_NLOGLIK,
    AR_GBT_M_MSE, /* container metrics, computed from the margin as the SageMaker container */
    AR_GBT_M_R2,
    AR_GBT_M_ACCURACY,
    AR_GBT_M_BALANCED_ACCURACY,
    AR_GBT_M_F1_BINARY, /* f1, f1_binary */
    AR_GBT_M_F1_MACRO,
    AR_GBT_M_PRECISION,
    AR_GBT_M_PRECISION_MACRO,
    AR_GBT_M_PRECISION_MICRO,
    AR_GBT_M_RECALL,
    AR_GBT_M_RECALL_MACRO,
    AR_GBT_M_RECALL_MICRO
};

struct ar_gbt_metric {
    enum ar_gbt_metric_kind kind;
    double arg;    /* threshold for error@t, rho for tweedie-nloglik */
    bool maximize; /* direction for early stopping */
    char name[40]; /* as printed: "rmse", "error@0.7", "tweedie-nloglik@1.5" */
};

/* Everything training needs, resolved from the params (defaults per objective applied). */
struct ar_gbt_config {
    enum ar_gbt_obj obj;
    int n_groups; /* output groups: num_class for multi:*, else 1 */
    int num_class;
    int num_parallel_tree;
    int num_round;
    float eta, gamma, min_child_weight, max_delta_step, lambda, alpha;
    float obj_max_delta_step; /* count:poisson's own parameter */
    float scale_pos_weight, tweedie_rho, huber_slope;
    float base_score;
    bool base_score_auto; /* not given: 0.5, or the label median for reg:absoluteerror */
    int max_depth, max_leaves, max_bin;
    enum ar_gbt_grow grow;
    float subsample, colsample_bytree, colsample_bylevel, colsample_bynode;
    uint64_t seed;
    int early_stopping_rounds; /* 0: off */
    int n_threads;
    int n_metrics;
    struct ar_gbt_metric metrics[AR_GBT_MAX_METRICS];
    int es_metric; /* index of the early-stopping metric */
    /* monotone constraints per feature (n_monotone entries, rest 0) and interaction sets as
     * lists of feature indices: sets[set_ptr[k] .. set_ptr[k+1]). NULL when none. */
    int8_t *monotone;
    size_t n_monotone;
    uint32_t *ic_feat;
    size_t *ic_ptr;
    size_t n_ic_sets;
};

/* Resolves params into cfg (cfg owns the constraint arrays: ar_gbt_config_release).
 * AR_ERR_PARAM / AR_ERR_UNSUPPORTED with a message naming the parameter. */
int ar_gbt_config_resolve(const struct ar_gbt_params *p, struct ar_gbt_config *cfg);
void ar_gbt_config_release(struct ar_gbt_config *cfg);
/* Parses one metric name ("rmse", "error@0.3", ...) for objective obj. */
int ar_gbt_metric_parse(const char *name, enum ar_gbt_obj obj, struct ar_gbt_metric *out);
/* The metric XGBoost 1.7 uses when none is given. */
void ar_gbt_metric_default(enum ar_gbt_obj obj, float tweedie_rho, struct ar_gbt_metric *out);
/* The cross-field rules of the schema (the ar_algo validate hook). */
int ar_gbt_params_validate(const void *params);

/* ---- quantisation (quantize.c) ---- */

/* Cut points for every feature: bins of feature f are [ptr[f], ptr[f+1]) in values[]; bin i
 * of f holds v with values[ptr[f]+i-1] <= v < values[ptr[f]+i]. min_vals[f] is XGBoost's
 * "below every value" split point. */
struct ar_gbt_cuts {
    size_t n_features;
    uint32_t *ptr; /* n_features + 1 */
    float *values;
    float *min_vals;
    uint8_t *has_missing; /* per feature: some row has no value */
};

/* Advises transparent huge pages for a large array not yet touched (a no-op where
 * unsupported): first touches of fresh memory and TLB misses are both costly at scale. */
void ar_gbt_advise_huge(void *p, size_t bytes);

/* Weighted quantile cuts of every column as XGBoost's hist sketch, max_bin bins at most per
 * feature. `weights` may be NULL. Columns are sketched in parallel. */
int ar_gbt_cuts_build(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                      struct ar_gbt_cuts *out);
void ar_gbt_cuts_release(struct ar_gbt_cuts *c);
/* Local bin of v in feature f (v not NaN): upper_bound over the cuts, clamped to the last. */
uint32_t ar_gbt_cuts_search(const struct ar_gbt_cuts *c, size_t f, float v);

/* Bin codes: code c of (row, f) is the local bin, or n_bins(f) for missing. The histogram
 * slot of a code is hist_off[f] + code (each feature has n_bins(f) + 1 slots). The codes are
 * kept twice: row-major for histograms (a row's features together) and column-major for
 * partitioning (one feature of a node's ascending rows is a forward sweep of one column). */
struct ar_gbt_binmat {
    size_t n_rows, n_features;
    int width;          /* 1: uint8 codes, 2: uint16 codes */
    void *codes;        /* n_rows x n_features */
    void *col_codes;    /* n_features x n_rows */
    uint32_t *hist_off; /* n_features + 1; hist_off[n_features] = total slots */
};

int ar_gbt_binmat_build(const struct ar_batch *data, const struct ar_gbt_cuts *cuts, int n_threads,
                        struct ar_gbt_binmat *out);
void ar_gbt_binmat_release(struct ar_gbt_binmat *b);
/* ar_gbt_cuts_build then ar_gbt_binmat_build with the same results, faster for dense data: each
 * column's codes come from a merge of its sorted values with its cuts. On failure neither
 * output holds anything. */
int ar_gbt_quantize(const struct ar_batch *data, const float *weights, int max_bin, int n_threads,
                    struct ar_gbt_cuts *cuts, struct ar_gbt_binmat *out);

static inline uint32_t ar_gbt_binmat_get(const struct ar_gbt_binmat *b, size_t r, size_t f)
{
    return b->width == 1 ? ((const uint8_t *)b->codes)[r * b->n_features + f]
                         : ((const uint16_t *)b->codes)[r * b->n_features + f];
}

/* ---- histograms (hist.c) ---- */

/* hist[2*slot] = sum of gradients, hist[2*slot+1] = sum of hessians over rows[0..n), with
 * g[i], h[i] aligned with rows[i]. `scratch` holds n_threads * 2 * total_slots doubles for
 * per-thread partials, merged in thread order. */
void ar_gbt_hist_build(const struct ar_gbt_binmat *b, const uint32_t *rows, const float *gh,
                       size_t n, int n_threads, double *scratch, double *hist);
/* Naive single-threaded reference of the same (for tests). */
void ar_gbt_hist_build_ref(const struct ar_gbt_binmat *b, const uint32_t *rows, const float *gh,
                           size_t n, double *hist);
/* out = parent - child, over n_slots slots. */
void ar_gbt_hist_subtract(const double *parent, const double *child, size_t n_slots, double *out);

/* ---- split search (split.c) ---- */

struct ar_gbt_tparam {
    double eta, gamma, min_child_weight, max_delta_step, lambda, alpha;
};

/* XGBoost's CalcWeight and CalcGain (no constraints). */
double ar_gbt_calc_weight(const struct ar_gbt_tparam *p, double g, double h);
float ar_gbt_calc_gain(const struct ar_gbt_tparam *p, double g, double h);

struct ar_gbt_split {
    float loss_chg;
    uint32_t feature;
    int32_t bin; /* go left iff code <= bin (-1: only missing left) */
    float value; /* threshold: go left iff x < value */
    bool default_left;
    double lg, lh, rg, rh; /* child sums */
};

/* Bounds on a node's weight from monotone constraints (-inf, +inf when none). */
struct ar_gbt_bounds {
    float lower, upper;
};

/* Best split of one node over the given features (XGBoost's enumeration and tie rules); found
 * is false when no split has a positive gain. */
void ar_gbt_split_find(const struct ar_gbt_tparam *p, const struct ar_gbt_cuts *cuts,
                       const struct ar_gbt_binmat *b, const double *hist, double sum_g,
                       double sum_h, const uint32_t *feats, size_t n_feats, const int8_t *monotone,
                       struct ar_gbt_bounds bounds, struct ar_gbt_split *best, bool *found);
/* Weight of a node clamped to bounds (XGBoost TreeEvaluator::CalcWeight). */
float ar_gbt_bounded_weight(const struct ar_gbt_tparam *p, struct ar_gbt_bounds bd, double g,
                            double h, bool constrained);
float ar_gbt_bounded_gain(const struct ar_gbt_tparam *p, struct ar_gbt_bounds bd, double g,
                          double h, bool constrained);

/* ---- trees and models ---- */

struct ar_gbt_node {
    int32_t left, right, parent; /* -1 for none; the root's parent is -1 in memory */
    uint32_t feature;
    float cond; /* split threshold, or the leaf value (already times eta) */
    float base_weight, loss_chg, sum_hess;
    uint8_t default_left;
};

/* Flattened node for prediction: 16 bytes. */
struct ar_gbt_pnode {
    float value;  /* threshold or leaf value */
    uint32_t fdl; /* feature | default_left << 31 */
    int32_t left; /* -1 for a leaf */
    int32_t right;
};

/* Node of the complete level-order layout: node i's children are 2i+1 (left) and 2i+2. */
struct ar_gbt_fnode {
    float thr;     /* go left iff x < thr */
    uint32_t feat; /* default_left is kept apart (flat_dl): only rows with NaN need it */
};

struct ar_gbt_model {
    struct ar_model base;
    enum ar_gbt_obj obj;
    int num_class; /* 0 unless multi:* */
    int n_groups;
    int num_parallel_tree;
    size_t n_features;
    float base_score; /* output space, as stored in the JSON */
    float scale_pos_weight, obj_max_delta_step, tweedie_rho, huber_slope;
    size_t n_trees;
    size_t *tree_off; /* n_trees + 1 offsets into nodes */
    int32_t *tree_info;
    struct ar_gbt_node *nodes;
    struct ar_gbt_pnode *pnodes; /* same indexing as nodes */
    /* Prediction layout (ar_gbt_model_finish): every tree padded to depth flat_depth as a
     * complete tree, a leaf above the bottom becoming a node whose subtrees all hold its value;
     * tree t's nodes are flat_nodes[t * (2^D - 1) ..] (default_left in flat_dl at the same
     * index) and its leaves flat_leaves[t * 2^D ..].
     * flat_depth is -1 when the trees are too deep for it (the linked nodes are used). */
    int flat_depth;
    size_t flat_trees, flat_cap; /* trees laid out; capacity in trees */
    struct ar_gbt_fnode *flat_nodes;
    uint8_t *flat_dl;
    float *flat_leaves;
    uint32_t n_split_features; /* 1 + the largest feature index split on (0: none) */
    /* attributes */
    bool has_best;
    long best_iteration, best_ntree_limit;
    bool has_best_score;
    double best_score;
};

/* The margin that base_score stands for under obj (logit, log, or itself). */
float ar_gbt_base_margin(enum ar_gbt_obj obj, float base_score);
/* Builds pnodes and the flat layout from nodes (after train or load; incremental when trees
 * were only appended or removed from the end since the last call). */
int ar_gbt_model_finish(struct ar_gbt_model *m);
void ar_gbt_model_free(struct ar_model *m);
/* SAGEMAKER_INFERENCE_OUTPUT keys from a prediction table (select.c). */
int ar_gbt_select_outputs(const struct ar_model *m, const char *spec, const struct ar_table *pred,
                          bool json_order, struct ar_table *out);

/* ---- one tree (grow.c) ---- */

struct ar_gbt_grower;

/* Workspace for growing trees over one binned data set. */
int ar_gbt_grower_new(const struct ar_gbt_config *cfg, const struct ar_gbt_cuts *cuts,
                      const struct ar_gbt_binmat *b, struct ar_gbt_grower **out);
void ar_gbt_grower_free(struct ar_gbt_grower *g);
/* Grows one tree from gradient pairs gh (2 floats per row) over the rows in rows[0..n), using
 * the bytree feature set feats. Appends the nodes to *nodes (growing the array) and writes,
 * for every row of the data, its leaf's value into leaf_out (rows not in `rows` are routed by
 * their bins). `labels`/`margin` are used by reg:absoluteerror's leaf update (else NULL). */
int ar_gbt_grower_grow(struct ar_gbt_grower *g, const float *gh, const uint32_t *rows, size_t n,
                       const uint32_t *feats, size_t n_feats, struct ar_rng *rng,
                       const float *labels, const float *weights, const float *margin, int group,
                       int n_groups, struct ar_gbt_node **nodes, size_t *n_nodes, size_t *cap_nodes,
                       float *leaf_out);

/* ---- objectives (objective.c) ---- */

/* Checks every label for obj; AR_ERR_INVALID naming the first bad row and XGBoost's wording. */
int ar_gbt_labels_check(enum ar_gbt_obj obj, int num_class, const float *labels, size_t n);
/* Gradient pairs for n rows: margin is n x n_groups, out is n x n_groups x 2. prob may give
 * ar_gbt_transform(margin) for the logistic objectives (their sigmoid, already computed for
 * the metrics); it is ignored for the others, and NULL computes it. */
void ar_gbt_gradients(const struct ar_gbt_config *cfg, const float *margin, const float *prob,
                      const float *labels, const float *weights, size_t n, int n_threads,
                      float *out);
/* Output transform of n rows of margins (n x n_groups) into out (n x width, width = n_groups
 * for multi:softprob and evaluation, 1 for multi:softmax when !eval). */
void ar_gbt_transform(enum ar_gbt_obj obj, int n_groups, const float *margin, size_t n, bool eval,
                      float *out);

/* ---- metrics (metric.c) ---- */

/* Evaluates metric m on n rows: pred are transformed predictions (n x n_groups, probabilities
 * for multi:*), margin the raw margins (for the container's margin-based metrics). */
int ar_gbt_metric_eval(const struct ar_gbt_metric *m, enum ar_gbt_obj obj, int n_groups,
                       const float *labels, const float *weights, const float *pred,
                       const float *margin, size_t n, double *out);

/* ---- training (train.c) ---- */

/* Trains on an in-memory data set (dense or CSR, labels required) with an optional
 * validation set, logging XGBoost-style metric lines and reporting metrics through ctx (may be
 * NULL). */
int ar_gbt_train_batch(const struct ar_gbt_params *p, const struct ar_batch *train,
                       const struct ar_batch *valid, const struct ar_train_ctx *ctx,
                       struct ar_gbt_model **out);

/* ---- model files (model_io.c) ---- */

/* XGBoost 1.7 JSON text of the model (ar_alloc'd, NUL-terminated). */
int ar_gbt_model_to_json(const struct ar_gbt_model *m, char **text, size_t *len);
/* Parses an XGBoost 1.7 JSON model. AR_ERR_FORMAT naming what is wrong. */
int ar_gbt_model_from_json(const char *text, size_t len, struct ar_gbt_model **out);
/* Writes <dir>/xgboost-model via a temporary name and rename. */
int ar_gbt_model_save(const struct ar_model *m, const char *dir);
int ar_gbt_model_save_file(const struct ar_gbt_model *m, const char *path);
/* Loads <dir>/xgboost-model (or `dir` itself when it is a file). */
int ar_gbt_model_load(const char *dir, struct ar_model **out);
int ar_gbt_model_load_file(const char *path, struct ar_gbt_model **out);

/* ---- prediction (predict.c) ---- */

/* Raw margins of every row of `in` (n_rows x n_groups), trees [0, n_trees). */
int ar_gbt_predict_margin(const struct ar_gbt_model *m, const struct ar_batch *in, size_t n_trees,
                          float *margin);
/* Adds the outputs of trees [t0, t1) to margin (n_rows x n_groups) for every row of b. */
int ar_gbt_predict_add(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0, size_t t1,
                       int n_threads, float *margin);
/* Naive reference of ar_gbt_predict_add: one row at a time through the tree nodes (tests). */
int ar_gbt_predict_add_ref(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0,
                           size_t t1, float *margin);
/* The ar_algo predict hook: "score" (+ "predicted_label" where meaningful). */
int ar_gbt_predict(const struct ar_model *m, const struct ar_batch *in, struct ar_table *out);

extern const struct ar_algo ar_algo_xgboost;

#endif
