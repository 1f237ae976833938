/* The thread budget: one number applied to our OpenMP loops and to OpenBLAS alike.
 *
 * Every `omp parallel` in algorun carries num_threads(ar_par_threads()) (make lint checks).
 * Work is split in static contiguous ranges (ar_par_range) so results do not depend on
 * scheduling; per-thread partials are merged in thread order.
 */
#ifndef AR_CORE_PAR_H
#define AR_CORE_PAR_H

#include <stddef.h>

/* Sets the budget: threads > 0 as given; 0 = OMP_NUM_THREADS if set, else the cores this
 * process may run on. Applies it to OpenMP and OpenBLAS. AR_ERR_PARAM for bad values. */
int ar_par_init(int threads);
/* The current budget (initialising from the environment on first use). */
int ar_par_threads(void);
/* Cores available to this process (sched_getaffinity). */
int ar_par_cores(void);
/* This thread's index inside a parallel region (0 outside), and the region's size. */
int ar_par_tid(void);
int ar_par_region_size(void);
/* Thread ith of nth gets [lo, hi): ceil(n / nth) contiguous items, the last possibly fewer. */
void ar_par_range(size_t n, int ith, int nth, size_t *lo, size_t *hi);
/* Number of OS threads in this process right now (from /proc/self/status), -1 if unknown. */
int ar_par_os_threads(void);

#endif
