/* Monotonic wall-clock and process CPU timers. */
#ifndef AR_CORE_TIMER_H
#define AR_CORE_TIMER_H

/* Seconds on the monotonic clock (arbitrary origin). */
double ar_time_now(void);
/* Seconds of CPU time used by this process (all threads). */
double ar_time_cpu(void);
/* Seconds since the Unix epoch (wall clock), for timestamps in records. */
double ar_time_epoch(void);

struct ar_timer {
    double start;
};

static inline void ar_timer_start(struct ar_timer *t)
{
    t->start = ar_time_now();
}

static inline double ar_timer_elapsed(const struct ar_timer *t)
{
    return ar_time_now() - t->start;
}

#endif
