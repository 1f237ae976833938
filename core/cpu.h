/* CPU features found at run time, for logs and kernel dispatch. */
#ifndef AR_CORE_CPU_H
#define AR_CORE_CPU_H

#include <stdbool.h>
#include <stddef.h>

bool ar_cpu_has_avx2(void);
bool ar_cpu_has_avx512f(void);
/* Space-separated list of the SIMD features present, e.g. "sse4.2 avx avx2 fma avx512f". */
const char *ar_cpu_features(void);
/* The CPU model name from /proc/cpuinfo, or "unknown". */
const char *ar_cpu_model(void);

#endif
