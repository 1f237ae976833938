/* The fixed algorithm IDs. Newest tag of a name first, so "name" alone finds it. */
#include "algorithms/algo.h"

const struct ar_algo *const ar_algos[] = {
    NULL,
};
