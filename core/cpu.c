/* CPU feature detection through the compiler's cpu-supports builtins. */
#include "core/cpu.h"

#include <stdio.h>
#include <string.h>

bool ar_cpu_has_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}

bool ar_cpu_has_avx512f(void)
{
    return __builtin_cpu_supports("avx512f");
}

const char *ar_cpu_features(void)
{
    static char buf[256];
    if (buf[0])
        return buf;
    __builtin_cpu_init();
    size_t n = 0;
#define FEAT(name)                                                                                 \
    if (__builtin_cpu_supports(name) && n + sizeof(name) + 1 < sizeof buf)                         \
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "", name);
    FEAT("sse4.2")
    FEAT("avx")
    FEAT("avx2")
    FEAT("fma")
    FEAT("avx512f")
    FEAT("avx512bw")
    FEAT("avx512vl")
    FEAT("avx512dq")
#undef FEAT
    if (n == 0)
        snprintf(buf, sizeof buf, "(none)");
    return buf;
}

const char *ar_cpu_model(void)
{
    static char model[128];
    if (model[0])
        return model;
    snprintf(model, sizeof model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return model;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = '\0';
                snprintf(model, sizeof model, "%s", c);
            }
            break;
        }
    }
    fclose(f);
    return model;
}
