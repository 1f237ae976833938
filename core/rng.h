/* Seedable random numbers with independent per-thread streams (xoshiro256**).
 *
 * ar_rng_init(r, seed, stream) derives a state from (seed, stream) with splitmix64, so thread t
 * of a job uses stream t and the same seed and thread count always give the same numbers.
 */
#ifndef AR_CORE_RNG_H
#define AR_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct ar_rng {
    uint64_t s[4];
};

void ar_rng_init(struct ar_rng *r, uint64_t seed, uint64_t stream);
uint64_t ar_rng_u64(struct ar_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double ar_rng_uniform(struct ar_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t ar_rng_below(struct ar_rng *r, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double ar_rng_normal(struct ar_rng *r);
/* Fisher-Yates shuffle of n uint32 values. */
void ar_rng_shuffle_u32(struct ar_rng *r, uint32_t *v, size_t n);

#endif
