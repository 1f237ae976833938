/* Hyperparameter tuning: search spaces (SageMaker's parameter ranges and scaling types), the
 * four strategies (Random, Grid, Bayesian, Hyperband) and the Gaussian-process surrogate the
 * Bayesian strategy uses. No processes here: `algorun tune` (cmd_tune.c) runs the trials, and
 * the strategies only see a history of trials, so tests drive them with synthetic objectives.
 *
 * A configuration is one double per range: the value for Integer/Continuous ranges, the index
 * of the value for Categorical ranges. The unit encoding maps each range onto [0, 1] through
 * its scaling (categoricals one-hot), which is what the GP sees.
 */
#ifndef AR_CONTAINER_TUNE_H
#define AR_CONTAINER_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_algo;

#define AR_TUNE_MAX_PARAMS 30 /* SageMaker's limit on tunable hyperparameters */
#define AR_TUNE_MAX_VALUES 30 /* values of a categorical range */

enum ar_tune_kind {
    AR_TUNE_INTEGER = 0,
    AR_TUNE_CONTINUOUS,
    AR_TUNE_CATEGORICAL
};

enum ar_tune_scaling {
    AR_TUNE_AUTO = 0, /* treated as Linear */
    AR_TUNE_LINEAR,
    AR_TUNE_LOG,
    AR_TUNE_REVERSE_LOG
};

struct ar_tune_range {
    char name[128];
    enum ar_tune_kind kind;
    enum ar_tune_scaling scaling;
    double min, max;
    char *values[AR_TUNE_MAX_VALUES]; /* categorical; owned */
    size_t n_values;
};

struct ar_tune_space {
    struct ar_tune_range ranges[AR_TUNE_MAX_PARAMS];
    size_t n;
};

/* Parses "NAME=Integer:MIN:MAX[:SCALING]", "NAME=Continuous:MIN:MAX[:SCALING]" or
 * "NAME=Categorical:a,b,c" and adds it to the space. AR_ERR_PARAM naming the problem. */
int ar_tune_space_add(struct ar_tune_space *sp, const char *spec);
/* Checks every range against the algorithm's hyperparameter schema: the name exists, the kind
 * fits the type, bounds lie within the schema's, categorical values parse. */
int ar_tune_space_check(const struct ar_tune_space *sp, const struct ar_algo *algo);
void ar_tune_space_release(struct ar_tune_space *sp);
/* Writes range i's value for configuration x as the string the job receives. */
void ar_tune_format(const struct ar_tune_space *sp, size_t i, const double *x, char *buf,
                    size_t size);
/* Reads a value string back into x[i] (for resuming from the store). AR_ERR_PARAM. */
int ar_tune_parse_value(const struct ar_tune_space *sp, size_t i, const char *s, double *x);
/* Dimension of the unit encoding (numeric ranges 1, categoricals one per value). */
size_t ar_tune_unit_dim(const struct ar_tune_space *sp);
/* Encodes configuration x into u (ar_tune_unit_dim values in [0, 1]). */
void ar_tune_encode(const struct ar_tune_space *sp, const double *x, double *u);
/* A configuration drawn uniformly in the scaled space. */
struct ar_rng;
void ar_tune_sample(const struct ar_tune_space *sp, struct ar_rng *rng, double *x);
/* A configuration near x: numeric ranges moved by a normal step of `scale` in the unit space,
 * categoricals changed with probability `scale`. */
void ar_tune_perturb(const struct ar_tune_space *sp, struct ar_rng *rng, const double *x,
                     double scale, double *out);
/* Number of Grid configurations (categoricals and integer ranges only), 0 when a range is
 * continuous; configuration k of the grid (the first range varies slowest). */
size_t ar_tune_grid_size(const struct ar_tune_space *sp);
void ar_tune_grid_point(const struct ar_tune_space *sp, size_t k, double *x);

/* ---- Gaussian process ---- */

enum ar_gp_kernel {
    AR_GP_MATERN52 = 0,
    AR_GP_RBF
};

struct ar_gp;

/* Fits a zero-mean GP to n points x (n x d, row-major, in [0, 1]) with targets y (standardised
 * inside). The length scale and noise are chosen by marginal likelihood over a grid; the signal
 * variance in closed form. Cholesky via ar_lapack_dpotrf. AR_ERR_INVALID when n == 0. */
int ar_gp_fit(const double *x, const double *y, size_t n, size_t d, enum ar_gp_kernel kernel,
              struct ar_gp **out);
/* Posterior mean and standard deviation (in y's units) at m points. */
int ar_gp_predict(const struct ar_gp *gp, const double *xs, size_t m, double *mean, double *sd);
/* The chosen length scale and noise ratio (for tests and logs). */
void ar_gp_params(const struct ar_gp *gp, double *length_scale, double *noise);
void ar_gp_free(struct ar_gp *gp);
/* Expected improvement below `best` (minimisation) of a normal(mean, sd) value, margin xi. */
double ar_gp_expected_improvement(double mean, double sd, double best, double xi);

/* ---- strategies ---- */

enum ar_tune_strategy {
    AR_TUNE_RANDOM = 0,
    AR_TUNE_GRID,
    AR_TUNE_BAYESIAN,
    AR_TUNE_HYPERBAND
};

struct ar_tune_config {
    enum ar_tune_strategy strategy;
    const struct ar_tune_space *space;
    bool maximize;
    uint64_t seed;
    long max_jobs;
    enum ar_gp_kernel kernel;
    long min_resource, max_resource; /* Hyperband */
    size_t n_candidates;             /* Bayesian: EI candidates (0: 2000) */
};

enum ar_trial_state {
    AR_TRIAL_RUNNING = 0,
    AR_TRIAL_DONE /* finished: objective valid when has_objective */
};

/* A trial as a strategy sees it. */
struct ar_tune_trial {
    double x[AR_TUNE_MAX_PARAMS];
    long resource; /* Hyperband: the resource value it ran with (0: none) */
    enum ar_trial_state state;
    bool has_objective;
    double objective;
};

enum ar_tune_next {
    AR_TUNE_READY = 0, /* *next holds the configuration of trial n */
    AR_TUNE_WAIT,      /* trial n needs results of running trials */
    AR_TUNE_DONE       /* the strategy has nothing more to run */
};

int ar_tune_strategy_parse(const char *s, enum ar_tune_strategy *out);
const char *ar_tune_strategy_name(enum ar_tune_strategy s);
/* Proposes trial n (0-based; trials[0..n) exist). Deterministic given the config, n and the
 * trials' states and objectives. */
int ar_tune_propose(const struct ar_tune_config *cfg, const struct ar_tune_trial *trials, size_t n,
                    struct ar_tune_trial *next, enum ar_tune_next *what);
/* Hyperband's plan: total trials of one iteration (all brackets). */
size_t ar_tune_hyperband_size(const struct ar_tune_config *cfg);

/* Early stopping (SageMaker's median rule): whether a running trial whose objective history is
 * `cur` (values at steps 0..n_cur-1 in order) should stop, given the histories of finished
 * trials. Needs at least `min_ref` finished trials that reached the same step. */
bool ar_tune_should_stop(bool maximize, const double *cur, size_t n_cur, const double *const *ref,
                         const size_t *n_ref, size_t n_refs, size_t min_ref);

#endif
