/* Decimal text -> float32, rounded once from the exact decimal value.
 *
 * Fast path: up to 19 significant digits go into a uint64 w (later digits only make w a
 * lower bound within a relative 1e-18), and the value w * 10^q is formed in double with at
 * most three roundings (w to double, the table power of ten, the product), so the double d
 * is within a few double ulps of the exact value x. Rounding d to float gives the correctly
 * rounded float of x unless a float rounding midpoint lies between x and d; float midpoints
 * are the doubles whose 29 low mantissa bits are exactly 1 << 28, so when d's low bits are
 * more than 16 ulps away from that pattern, (float)d is exact-decimal rounding. The check
 * only holds for normal float results, so tiny, huge and near-midpoint values take the slow
 * path: the token is rewritten as at most 128 significant digits (plus a sticky 1 when
 * non-zero digits were dropped: float32 midpoints have at most 112 significant digits, so
 * this keeps every comparison with them) and an exponent, and handed to strtof. We never call
 * setlocale, so strtof reads '.' as the decimal point.
 */
#include "io/numparse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define P10_MIN (-64)
#define P10_MAX 38
static const double p10[] = {
    1e-64, 1e-63, 1e-62, 1e-61, 1e-60, 1e-59, 1e-58, 1e-57, 1e-56, 1e-55, 1e-54, 1e-53, 1e-52,
    1e-51, 1e-50, 1e-49, 1e-48, 1e-47, 1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39,
    1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26,
    1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13,
    1e-12, 1e-11, 1e-10, 1e-9,  1e-8,  1e-7,  1e-6,  1e-5,  1e-4,  1e-3,  1e-2,  1e-1,  1e0,
    1e1,   1e2,   1e3,   1e4,   1e5,   1e6,   1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13,
    1e14,  1e15,  1e16,  1e17,  1e18,  1e19,  1e20,  1e21,  1e22,  1e23,  1e24,  1e25,  1e26,
    1e27,  1e28,  1e29,  1e30,  1e31,  1e32,  1e33,  1e34,  1e35,  1e36,  1e37,  1e38};

#define SLOW_DIGITS 128
#define EXP_CAP     100000

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline int lower(char c)
{
    return (unsigned char)c | 0x20;
}

/* Matches nan, inf or infinity (any case) at p; returns the end or NULL. */
static const char *scan_special(const char *p, const char *end, float *out, bool neg)
{
    size_t n = (size_t)(end - p);
    if (n >= 3 && lower(p[0]) == 'n' && lower(p[1]) == 'a' && lower(p[2]) == 'n') {
        *out = neg ? -NAN : NAN;
        return p + 3;
    }
    if (n >= 3 && lower(p[0]) == 'i' && lower(p[1]) == 'n' && lower(p[2]) == 'f') {
        *out = neg ? -INFINITY : INFINITY;
        if (n >= 8 && lower(p[3]) == 'i' && lower(p[4]) == 'n' && lower(p[5]) == 'i' &&
            lower(p[6]) == 't' && lower(p[7]) == 'y')
            return p + 8;
        return p + 3;
    }
    return NULL;
}

/* The rare hard cases: rebuild the decimal (digits [s, e) already validated, exponent exp10)
 * as a short NUL-terminated string and let strtof round it. */
static float slow_path(const char *s, const char *e, int64_t exp10, bool neg)
{
    char buf[SLOW_DIGITS + 32];
    size_t n = 0;
    int64_t q = exp10;
    size_t kept = 0;
    bool started = false, sticky = false, frac = false;
    if (neg)
        buf[n++] = '-';
    for (const char *p = s; p < e; p++) {
        if (*p == '.') {
            frac = true;
            continue;
        }
        if (!started && *p == '0') {
            if (frac)
                q--;
            continue;
        }
        started = true;
        if (kept < SLOW_DIGITS) {
            buf[n++] = *p;
            kept++;
            if (frac)
                q--;
        } else {
            sticky |= *p != '0';
            if (!frac)
                q++;
        }
    }
    if (!started)
        return neg ? -0.0f : 0.0f;
    if (sticky) {
        buf[n++] = '1';
        q--;
    }
    if (q > EXP_CAP)
        q = EXP_CAP;
    if (q < -EXP_CAP)
        q = -EXP_CAP;
    buf[n++] = 'e';
    if (q < 0) {
        buf[n++] = '-';
        q = -q;
    }
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + q % 10);
        q /= 10;
    } while (q);
    while (nd)
        buf[n++] = digits[--nd];
    buf[n] = '\0';
    return strtof(buf, NULL);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
/* Eight ASCII bytes at p, little-endian: all digits? and their value (8 digits, SWAR). */
static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static inline bool all_digits8(uint64_t x)
{
    return ((x & 0xF0F0F0F0F0F0F0F0ull) |
            (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) == 0x3333333333333333ull;
}

static inline uint64_t value8(uint64_t x)
{
    x -= 0x3030303030303030ull;
    x = x * 10 + (x >> 8);
    return (((x & 0x000000FF000000FFull) * 0x000F424000000064ull) +
            (((x >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >>
           32;
}
#else
#define SWAR_DIGITS 0
#endif

const char *ar_numparse_f32(const char *p, const char *end, float *out)
{
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p >= end)
        return NULL;
    if (!is_digit(*p) && *p != '.')
        return scan_special(p, end, out, neg);

    const char *s = p;
    uint64_t w = 0;
    int nd = 0;      /* significant digits in w */
    int64_t q = 0;   /* value = w * 10^q (w truncated after 19 digits) */
    size_t ndig = 0; /* all digits seen */
    /* Common case first: at most 19 digits in all, so every digit goes into w (the general
     * loops below would never reach their 19-digit cut-off) and q is minus the fraction
     * digits. Scan the runs, then accumulate without per-digit bookkeeping. */
    const char *i_end = p;
    while (i_end < end && is_digit(*i_end))
        i_end++;
    const char *f_beg = i_end, *f_end = i_end;
    if (f_beg < end && *f_beg == '.') {
        f_beg++;
        f_end = f_beg;
#if SWAR_DIGITS
        while (end - f_end >= 8 && all_digits8(load8(f_end)))
            f_end += 8;
#endif
        while (f_end < end && is_digit(*f_end))
            f_end++;
    }
    size_t n_int = (size_t)(i_end - p), n_frac = (size_t)(f_end - f_beg);
    if (n_int + n_frac <= 19 && n_int + n_frac > 0) {
        for (const char *t = p; t < i_end; t++)
            w = w * 10 + (unsigned)(*t - '0');
        const char *t = f_beg;
#if SWAR_DIGITS
        for (; f_end - t >= 8; t += 8)
            w = w * 100000000u + value8(load8(t));
#endif
        for (; t < f_end; t++)
            w = w * 10 + (unsigned)(*t - '0');
        q = -(int64_t)n_frac;
        ndig = n_int + n_frac;
        p = f_end;
        goto exponent;
    }
    while (p < end && is_digit(*p)) {
        unsigned dg = (unsigned)(*p - '0');
        if (nd < 19) {
            w = w * 10 + dg;
            nd += w != 0;
        } else {
            q++;
        }
        p++;
        ndig++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p)) {
            unsigned dg = (unsigned)(*p - '0');
            if (nd < 19) {
                w = w * 10 + dg;
                nd += w != 0;
                q--;
            }
            p++;
            ndig++;
        }
    }
    if (ndig == 0)
        return NULL;
exponent:;
    const char *digits_end = p;
    int64_t ex = 0;
    if (p < end && lower(*p) == 'e') {
        const char *t = p + 1;
        bool eneg = false;
        if (t < end && (*t == '-' || *t == '+')) {
            eneg = *t == '-';
            t++;
        }
        if (t < end && is_digit(*t)) {
            while (t < end && is_digit(*t)) {
                if (ex < EXP_CAP)
                    ex = ex * 10 + (*t - '0');
                t++;
            }
            p = t;
            if (eneg)
                ex = -ex;
        }
    }
    if (w == 0) {
        *out = neg ? -0.0f : 0.0f;
        return p;
    }
    int64_t qt = q + ex;
    if (qt >= P10_MIN && qt <= P10_MAX) {
        double d = (double)w * p10[qt - P10_MIN];
        if (d >= 0x1p-126 && d <= 0x1.fffffep127) {
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            uint64_t low = bits & ((UINT64_C(1) << 29) - 1);
            if (low - (UINT64_C(1) << 28) + 16 > 32) {
                float f = (float)d;
                *out = neg ? -f : f;
                return p;
            }
        }
    }
    *out = slow_path(s, digits_end, ex, neg);
    return p;
}

bool ar_numparse_f32_full(const char *p, const char *end, float *out)
{
    const char *e = ar_numparse_f32(p, end, out);
    return e && e == end;
}
