/* SageMaker-compatible k-means (`kmeans:1`): private declarations shared by the files of
 * algorithms/kmeans/. See README.md in this folder for the math, the reference it follows and
 * the model file layout.
 *
 * Ownership: every function that allocates documents it; views (`struct ar_batch`, centre
 * arrays passed as `const float *`) are borrowed for the call only.
 */
#ifndef AR_ALGORITHMS_KMEANS_KMEANS_H
#define AR_ALGORITHMS_KMEANS_KMEANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "algorithms/algo.h"
#include "io/batch.h"

/* ---- hyperparameters (params.c) ---- */

enum ar_km_init {
    AR_KM_INIT_RANDOM = 0,
    AR_KM_INIT_KMEANSPP = 1
};

/* The params struct the hp table points into. */
struct ar_km_params {
    int64_t k;
    int64_t feature_dim;
    int64_t mini_batch_size;
    int64_t epochs;
    int init_method; /* enum ar_km_init */
    int64_t extra_center_factor;
    bool extra_center_factor_auto;
    int64_t local_lloyd_max_iter;
    double local_lloyd_tol;
    int local_lloyd_init_method; /* enum ar_km_init */
    int64_t local_lloyd_num_trials;
    bool local_lloyd_num_trials_auto;
    int64_t half_life_time_size;
    char *eval_metrics;
    bool force_dense;
    int64_t seed; /* "_seed": algorun extension, default 0 */
};

/* eval_metrics bits. */
#define AR_KM_METRIC_MSD 0x1u
#define AR_KM_METRIC_SSD 0x2u

/* `auto` rules (documented in README.md). */
#define AR_KM_AUTO_CENTER_FACTOR 10
#define AR_KM_AUTO_NUM_TRIALS    10

extern const struct ar_hp_spec ar_km_hp[];

/* Parses eval_metrics: a JSON list of strings ('["msd", "ssd"]', also the python repr with
 * single quotes) into AR_KM_METRIC_* bits. AR_ERR_PARAM naming the bad element. */
int ar_km_parse_eval_metrics(const char *s, unsigned *mask);
/* Cross-field checks (the hp table checks ranges). AR_ERR_PARAM. */
int ar_km_params_validate(const void *params);

/* ---- the model ---- */

struct ar_km_model {
    struct ar_model base;
    size_t k;
    size_t dim;
    float *centres; /* k x dim row-major, one ar_alloc block */
};

/* Allocates a model with zeroed k x dim centres. AR_ERR_NOMEM. */
int ar_km_model_new(size_t k, size_t dim, struct ar_km_model **out);
void ar_km_model_free(struct ar_km_model *m); /* NULL is a no-op */

/* ---- the distance kernel (dist.c) ---- */

/* Centre-side data precomputed once per set of centres. `c` is borrowed and must outlive it. */
struct ar_km_centres {
    size_t k, dim;
    const float *c;  /* k x dim row-major */
    float *ct;       /* dim x k transpose (for sparse x dense products) */
    float *norm2;    /* ||c_j||^2 as float (for the GEMM expansion) */
    double *norm2_d; /* ||c_j||^2 in double (for exact recomputation) */
    double norm_max; /* max_j ||c_j|| */
    /* Dense rows are compared in coordinates shifted by `shift` (the mean of the centres), so
     * that ||x||^2 - 2 x.c + ||c||^2 stays well conditioned for data far from the origin. */
    float *shift;      /* dim */
    float *cs;         /* k x dim: c_j - shift, rounded to float */
    float *norm2_s;    /* ||c_j - shift||^2 of those floats */
    double norm_max_s; /* max_j of their norms */
    /* The fused AVX-512 kernel's copy of `cs`: panels of AR_KM_PANEL centres (the last one
     * AR_KM_LANES-aligned), each dim x width floats, and their norms (+inf padding). NULL
     * when the kernel is not used. */
    float *panels;
    float *panel_n2;
    void *block; /* the one allocation behind the arrays */
};

#define AR_KM_LANES 16
#define AR_KM_PANEL 64

/* Dense kernel choice, for tests and benchmarks: 1 = fused AVX-512 kernel when the CPU has it
 * (the default), 0 = sgemm + argmin passes. Returns the previous setting. Affects centre sets
 * initialised afterwards; not thread-safe (set it before training). */
int ar_km_kernel_fused(int on);

/* Precomputes norms and the transpose of the k x dim centres `c`. AR_ERR_NOMEM. */
int ar_km_centres_init(struct ar_km_centres *cs, const float *c, size_t k, size_t dim);
void ar_km_centres_release(struct ar_km_centres *cs);

/* For every row i of `x` (dense or CSR, x->n_cols <= dim): assign[i] = index of the nearest
 * centre (squared Euclidean distance; exact ties go to the lowest index) and, when dist2 is not
 * NULL, dist2[i] = that squared distance computed exactly in double. Uses
 * ||x||^2 - 2 x.c + ||c||^2 with sgemm (dense) or a sparse x dense product, blocked over rows
 * and centres, then re-checks in double every row whose two best candidates are closer than
 * the float error bound. AR_ERR_NOMEM. */
int ar_km_assign(const struct ar_km_centres *cs, const struct ar_batch *x, uint32_t *assign,
                 double *dist2);

/* Squared distance of row i of x to centre vector c (dim floats) in double. */
double ar_km_row_dist2(const struct ar_batch *x, size_t i, const float *c, size_t dim);

/* ---- sums per cluster (update.c) ---- */

/* sums (k x dim, double) += the (optionally weighted) rows of x per assigned cluster and
 * counts (k) += the number (or weight) of rows per cluster. Rows are summed per cluster in row
 * order, so the result does not depend on the thread count. AR_ERR_NOMEM. */
int ar_km_accumulate(const struct ar_batch *x, const double *w, const uint32_t *assign, size_t k,
                     size_t dim, double *sums, double *counts);

/* The streaming rule of the reference: for every centre j with m_j = batch_counts[j] > 0,
 * n_j <- n_j * 2^(-m_j / half_life) (when half_life > 0), p_j = m_j / (n_j + m_j),
 * c_j <- (1 - p_j) c_j + p_j * batch_sums_j / m_j, n_j <- n_j + m_j. */
void ar_km_stream_update(float *centres, double *n, const double *batch_sums,
                         const double *batch_counts, size_t k, size_t dim, int64_t half_life);

/* ---- initialisation (init.c) ---- */

/* Chooses k of the rows of x as centres (k x dim out, rows copied densely). `w` (NULL = all 1)
 * weighs the rows: kmeans++ samples with probability proportional to w * D^2, random samples
 * without replacement proportionally to w (uniformly when w is NULL). Rows of weight 0 are
 * only used when fewer than k rows have positive weight. Requires k <= x->n_rows.
 * AR_ERR_NOMEM. */
int ar_km_init_centres(const struct ar_batch *x, const double *w, size_t k, size_t dim,
                       enum ar_km_init method, uint64_t seed, uint64_t stream, float *out);

/* ---- local Lloyd reduction (lloyd.c) ---- */

struct ar_km_lloyd_opts {
    size_t k;
    int64_t max_iter;
    double tol;
    enum ar_km_init init;
    int64_t trials;
    uint64_t seed;
};

/* Weighted Lloyd on the n x dim points `pts` (weights w, total > 0) into k centres (out,
 * k x dim), best of opts->trials runs by weighted mean squared distance (*msd_out).
 * Logs each attempt. AR_ERR_NOMEM. */
int ar_km_lloyd(const float *pts, const double *w, size_t n, size_t dim,
                const struct ar_km_lloyd_opts *opts, float *out, double *msd_out);

/* ---- training (train.c) ---- */

/* Trains from batch sources: `train` is required, `test` may be NULL. `ctx` may be NULL.
 * rescan_train: `train` can be reset for one more pass (File mode) to compute the train msd
 * exactly against the final centres; otherwise it is estimated (see README.md). */
int ar_km_train_sources(const struct ar_km_params *p, struct ar_batch_source *train,
                        bool rescan_train, struct ar_batch_source *test,
                        const struct ar_train_ctx *ctx, struct ar_km_model **out);

/* ---- model file and prediction (model_io.c, predict.c) ---- */

#define AR_KM_MODEL_FILE "model_algo-1"

/* Serialises / parses the model file bytes (layout in README.md). `ar_km_model_encode`
 * returns an ar_alloc'd buffer. Decode: AR_ERR_FORMAT for foreign, truncated or corrupt
 * bytes, naming `what`. */
int ar_km_model_encode(const struct ar_km_model *m, unsigned char **buf, size_t *len);
int ar_km_model_decode(const unsigned char *buf, size_t len, const char *what,
                       struct ar_km_model **out);
int ar_km_model_save(const struct ar_model *m, const char *dir);
int ar_km_model_load(const char *dir, struct ar_model **out);
int ar_km_predict(const struct ar_model *m, const struct ar_batch *in, struct ar_table *out);

extern const struct ar_algo ar_algo_kmeans;

#endif
