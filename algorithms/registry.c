/* The fixed algorithm IDs. Newest tag of a name first, so "name" alone finds it. */
#include "algorithms/algo.h"

extern const struct ar_algo ar_algo_xgboost;
extern const struct ar_algo ar_algo_kmeans;
extern const struct ar_algo ar_algo_linear_learner;

const struct ar_algo *const ar_algos[] = {
    &ar_algo_xgboost,
    &ar_algo_kmeans,
    &ar_algo_linear_learner,
    NULL,
};
