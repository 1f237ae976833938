/* The one place where sums across rows meet across processes.
 *
 * Every training-loop sum over rows (histograms, gradient and loss sums, centroid sums and
 * counts, metric numerators) goes through these calls after the local sum is formed. In one
 * process they do nothing; data-parallel training (MPI) replaces this file's body, so no
 * algorithm changes. Sums passed here should be formed in a fixed order (per-thread partials
 * merged in thread order) so results do not depend on scheduling.
 */
#ifndef AR_CORE_REDUCE_H
#define AR_CORE_REDUCE_H

#include <stddef.h>
#include <stdint.h>

/* In place: buf[i] becomes the sum of buf[i] over all processes. */
int ar_reduce_sum_f64(double *buf, size_t n);
int ar_reduce_sum_i64(int64_t *buf, size_t n);
/* In place: maximum / minimum over all processes. */
int ar_reduce_max_f64(double *buf, size_t n);
int ar_reduce_min_f64(double *buf, size_t n);
/* Number of processes taking part and this one's rank (1 and 0 in one process). */
int ar_reduce_world_size(void);
int ar_reduce_rank(void);

#endif
