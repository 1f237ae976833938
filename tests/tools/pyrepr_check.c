/* Checks ar_fmt_pyrepr against its definition, ar_fmt_pyrepr_search, string for string:
 * pyrepr_check [N [SEED]] compares N random float32 bit patterns (default 2,000,000), every
 * power of two, every float with at most 8 significant mantissa bits, and the floats around
 * every power of ten; then times both on 1,000,000 random floats. Exit 1 on a mismatch. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/codec.h"
#include "core/timer.h"

static uint64_t rng_state;

static uint32_t next32(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static unsigned long long checked, bad;

static void check_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    char a[48], b[48];
    int na = ar_fmt_pyrepr((double)f, a), nb = ar_fmt_pyrepr_search((double)f, b);
    checked++;
    if (na != nb || strcmp(a, b) != 0) {
        if (bad++ < 20)
            fprintf(stderr, "mismatch for %a (bits %08x): fast '%s' reference '%s'\n", (double)f,
                    (unsigned)bits, a, b);
    }
}

int main(int argc, char **argv)
{
    unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000ull;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 12345u;
    for (unsigned long long i = 0; i < n; i++)
        check_bits(next32());
    /* Powers of two (asymmetric rounding intervals) and short mantissas (exact ties). */
    for (uint32_t ex = 0; ex < 255; ex++)
        for (uint32_t top = 0; top < 256; top++)
            for (uint32_t sign = 0; sign < 2; sign++)
                check_bits(sign << 31 | ex << 23 | top << 15);
    /* Around each power of ten: 64 floats either side. */
    for (int k = -45; k <= 38; k++) {
        float p = (float)pow(10.0, k);
        uint32_t bits;
        memcpy(&bits, &p, sizeof bits);
        for (int d = -64; d <= 64; d++)
            if ((int64_t)bits + d > 0 && (int64_t)bits + d < 0x7f800000)
                check_bits((uint32_t)((int64_t)bits + d));
    }
    printf("%llu floats compared, %llu mismatches\n", checked, bad);

    enum {
        T = 1000000
    };
    double *v = malloc(T * sizeof *v);
    if (!v)
        return 2;
    for (int i = 0; i < T; i++) {
        uint32_t r = next32();
        v[i] = (double)((float)(r >> 8) / 16777216.0f); /* probabilities in [0, 1) */
    }
    char buf[48];
    size_t total = 0;
    double t0 = ar_time_now();
    for (int i = 0; i < T; i++)
        total += (size_t)ar_fmt_pyrepr(v[i], buf);
    double t1 = ar_time_now();
    for (int i = 0; i < T / 10; i++)
        total += (size_t)ar_fmt_pyrepr_search(v[i], buf);
    double t2 = ar_time_now();
    printf("ar_fmt_pyrepr %.1f ns/value, ar_fmt_pyrepr_search %.1f ns/value (%zu chars)\n",
           (t1 - t0) * 1e9 / T, (t2 - t1) * 1e9 / (T / 10), total);
    free(v);
    return bad ? 1 : 0;
}
