/* Clocks. */
#include "core/timer.h"

#include <time.h>

static double ts_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double ar_time_now(void)
{
    return ts_sec(CLOCK_MONOTONIC);
}

double ar_time_cpu(void)
{
    return ts_sec(CLOCK_PROCESS_CPUTIME_ID);
}

double ar_time_epoch(void)
{
    return ts_sec(CLOCK_REALTIME);
}
