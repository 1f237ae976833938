/* Doubles as Python's repr() prints them (ar_fmt_pyrepr), with an exact integer fast path for
 * the values we print most: float32 predictions widened to double.
 *
 * The definition we keep is the reference search (ar_fmt_pyrepr_search): the smallest
 * precision p in 1..17, found by binary search, whose correctly rounded p-digit decimal
 * (printf "%.*e", ties to even) reads back (strtod) to the same double. That costs a handful
 * of snprintf/strtod calls per number. For a double that is a float32 value, v = m * 2^e with
 * a 24-bit m, the same search runs here on integers: the p-digit candidate C * 10^q is
 * computed exactly (up to 192-bit products m * 5^-q and their shifts), and it reads back to v
 * exactly when it lies within v's double rounding interval, |C 10^q - v| <= 2^(e-30) (half a
 * double ulp; 2^(e-31) below a power of two, whose lower neighbour is closer). The bounds are
 * inclusive: v's 53-bit mantissa (m << 29) is even, and strtod breaks ties to even. The same
 * binary search over the same predicate gives the same digits, without a libc call.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/codec.h"

/* ---- the reference: search with snprintf + strtod ---- */

/* Digits, decimal exponent and sign -> repr text: scientific below 1e-4 and from 1e16. */
static int layout(int neg, const char *digits, int nd, int exp10, char *buf)
{
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int n = 0;
    if (neg)
        buf[n++] = '-';
    if (exp10 >= 16 || exp10 < -4) {
        /* d[.ddd]e[+-]XX with at least two exponent digits, as repr does. */
        buf[n++] = digits[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, digits + 1, (size_t)(nd - 1));
            n += nd - 1;
        }
        int a = abs(exp10);
        buf[n++] = 'e';
        buf[n++] = exp10 < 0 ? '-' : '+';
        if (a >= 100)
            buf[n++] = (char)('0' + a / 100);
        buf[n++] = (char)('0' + a / 10 % 10);
        buf[n++] = (char)('0' + a % 10);
    } else if (exp10 < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            buf[n++] = '0';
        memcpy(buf + n, digits, (size_t)nd);
        n += nd;
    } else {
        for (int i = 0; i <= exp10; i++)
            buf[n++] = i < nd ? digits[i] : '0';
        buf[n++] = '.';
        if (nd > exp10 + 1) {
            memcpy(buf + n, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
            n += nd - exp10 - 1;
        } else {
            buf[n++] = '0';
        }
    }
    buf[n] = '\0';
    return n;
}

/* nan, inf, zeros: returns the length, or 0 for a finite non-zero v. */
static int special(double v, char *buf)
{
    if (isnan(v)) {
        memcpy(buf, "nan", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v < 0 ? "-inf" : "inf", v < 0 ? 5 : 4);
        return v < 0 ? 4 : 3;
    }
    if (v == 0) {
        memcpy(buf, signbit(v) ? "-0.0" : "0.0", signbit(v) ? 5 : 4);
        return signbit(v) ? 4 : 3;
    }
    return 0;
}

int ar_fmt_pyrepr_search(double v, char *buf)
{
    int n = special(v, buf);
    if (n)
        return n;
    /* Round-tripping is monotone in the precision, so a binary search over 1..17 finds the
     * shortest. */
    char e[40];
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(e, sizeof e, "%.*e", mid - 1, v);
        if (strtod(e, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(e, sizeof e, "%.*e", lo - 1, v);
    /* e = [-]d[.ddd]e[+-]XX: split into sign, digits and decimal exponent. */
    const char *p = e;
    int neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    return layout(neg, digits, nd, (int)strtol(p + 1, NULL, 10), buf);
}

/* ---- the float32 fast path ---- */

/* Little-endian 192-bit unsigned integers: m * 5^61 < 2^166 is the largest product. */
struct u192 {
    uint64_t w[3];
};

typedef unsigned __int128 u128_t;

static inline void u192_mul64(struct u192 *a, uint64_t b)
{
    u128_t c = 0;
    for (int i = 0; i < 3; i++) {
        c += (u128_t)a->w[i] * b;
        a->w[i] = (uint64_t)c;
        c >>= 64;
    }
}

/* 5^k for k in [0, 61] (k <= 27 fits one word). */
static const uint64_t pow5_64[28] = {1ull,
                                     5ull,
                                     25ull,
                                     125ull,
                                     625ull,
                                     3125ull,
                                     15625ull,
                                     78125ull,
                                     390625ull,
                                     1953125ull,
                                     9765625ull,
                                     48828125ull,
                                     244140625ull,
                                     1220703125ull,
                                     6103515625ull,
                                     30517578125ull,
                                     152587890625ull,
                                     762939453125ull,
                                     3814697265625ull,
                                     19073486328125ull,
                                     95367431640625ull,
                                     476837158203125ull,
                                     2384185791015625ull,
                                     11920928955078125ull,
                                     59604644775390625ull,
                                     298023223876953125ull,
                                     1490116119384765625ull,
                                     7450580596923828125ull};

/* a *= 5^k */
static inline void u192_mul_pow5(struct u192 *a, int k)
{
    while (k > 27) {
        u192_mul64(a, pow5_64[27]);
        k -= 27;
    }
    u192_mul64(a, pow5_64[k]);
}

static inline struct u192 u192_shr(struct u192 a, int s)
{
    struct u192 r = {{0, 0, 0}};
    int ws = s / 64, bs = s % 64;
    for (int i = 0; i + ws < 3; i++) {
        uint64_t lo = a.w[i + ws];
        uint64_t hi = i + ws + 1 < 3 ? a.w[i + ws + 1] : 0;
        r.w[i] = bs ? (lo >> bs) | (hi << (64 - bs)) : lo;
    }
    return r;
}

/* The low s bits of a (0 < s < 192). */
static inline struct u192 u192_low(struct u192 a, int s)
{
    for (int i = 0; i < 3; i++) {
        int lo = i * 64;
        if (s <= lo)
            a.w[i] = 0;
        else if (s < lo + 64)
            a.w[i] &= (1ull << (s - lo)) - 1;
    }
    return a;
}

static inline struct u192 u192_pow2(int s)
{
    struct u192 r = {{0, 0, 0}};
    r.w[s / 64] = 1ull << (s % 64);
    return r;
}

static inline int u192_cmp(struct u192 a, struct u192 b)
{
    for (int i = 2; i >= 0; i--)
        if (a.w[i] != b.w[i])
            return a.w[i] < b.w[i] ? -1 : 1;
    return 0;
}

static inline struct u192 u192_sub(struct u192 a, struct u192 b)
{
    struct u192 r;
    uint64_t borrow = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t d = a.w[i] - b.w[i];
        uint64_t b2 = a.w[i] < b.w[i];
        r.w[i] = d - borrow;
        borrow = b2 | (d < borrow);
    }
    return r;
}

/* The smallest float32 >= 10^k, k in [-45, 38]: v >= 10^k exactly when v >= k10_min[k + 45]. */
static const float k10_min[84] = {
    0x1p-149f,        0x1p-146f,        0x1.2p-143f,      0x1.65p-140f,     0x1.be1p-137f,
    0x1.16c3p-133f,   0x1.5c73p-130f,   0x1.b38fbcp-127f, 0x1.1039d6p-123f, 0x1.54484ap-120f,
    0x1.a95a5cp-117f, 0x1.09d87ap-113f, 0x1.4c4e98p-110f, 0x1.9f623ep-107f, 0x1.039d68p-103f,
    0x1.4484cp-100f,  0x1.95a5fp-97f,   0x1.fb0f6cp-94f,  0x1.3ce9a4p-90f,  0x1.8c240ep-87f,
    0x1.ef2d1p-84f,   0x1.357c2ap-80f,  0x1.82db36p-77f,  0x1.e39202p-74f,  0x1.2e3b42p-70f,
    0x1.79ca12p-67f,  0x1.d83c96p-64f,  0x1.2725dep-60f,  0x1.70ef56p-57f,  0x1.cd2b2ap-54f,
    0x1.203afap-50f,  0x1.6849bap-47f,  0x1.c25c28p-44f,  0x1.19799ap-40f,  0x1.5fd8p-37f,
    0x1.b7cdfep-34f,  0x1.12e0cp-30f,   0x1.5798fp-27f,   0x1.ad7f2ap-24f,  0x1.0c6f7cp-20f,
    0x1.4f8b5ap-17f,  0x1.a36e3p-14f,   0x1.0624dep-10f,  0x1.47ae16p-7f,   0x1.99999ap-4f,
    0x1p+0f,          0x1.4p+3f,        0x1.9p+6f,        0x1.f4p+9f,       0x1.388p+13f,
    0x1.86ap+16f,     0x1.e848p+19f,    0x1.312dp+23f,    0x1.7d784p+26f,   0x1.dcd65p+29f,
    0x1.2a05f2p+33f,  0x1.74877p+36f,   0x1.d1a94cp+39f,  0x1.2309dp+43f,   0x1.6bcc42p+46f,
    0x1.c6bf54p+49f,  0x1.1c3794p+53f,  0x1.63457ap+56f,  0x1.bc16d8p+59f,  0x1.158e48p+63f,
    0x1.5af1d8p+66f,  0x1.b1ae4ep+69f,  0x1.0f0cf2p+73f,  0x1.52d02ep+76f,  0x1.a78438p+79f,
    0x1.08b2a4p+83f,  0x1.4adf4cp+86f,  0x1.9d972p+89f,   0x1.027e74p+93f,  0x1.431e1p+96f,
    0x1.93e594p+99f,  0x1.f8defap+102f, 0x1.3b8b5cp+106f, 0x1.8a6e34p+109f, 0x1.ed09cp+112f,
    0x1.342618p+116f, 0x1.812f9ep+119f, 0x1.e17b86p+122f, 0x1.2ced34p+126f};

/* v = m * 2^e (m in [2^23, 2^24)), 10^k10 <= v < 10^(k10+1). */
struct f32_parts {
    uint64_t m;
    int e, k10;
};

/* The correctly rounded (ties to even) p-digit decimal of v: *c = C with v ~ C * 10^(k10-p+1)
 * (C may be 10^p after rounding up). Returns whether C * 10^q reads back to v as a double. */
static bool candidate(const struct f32_parts *f, int p, uint64_t *c)
{
    int q = f->k10 - p + 1;
    bool pow2 = f->m == (1ull << 23);
    if (q <= 0) {
        /* v / 10^q = A / 2^s with A = m * 5^-q, s = q - e. */
        struct u192 a = {{f->m, 0, 0}};
        u192_mul_pow5(&a, -q);
        int s = q - f->e;
        if (s <= 0) {
            *c = a.w[0] << -s; /* exact: the candidate is v itself */
            return true;
        }
        uint64_t c0 = u192_shr(a, s).w[0];
        struct u192 r = u192_low(a, s), half = u192_pow2(s - 1);
        int h = u192_cmp(r, half);
        bool up = h > 0 || (h == 0 && (c0 & 1));
        struct u192 resid = up ? u192_sub(u192_pow2(s), r) : r;
        *c = c0 + up;
        /* |C 2^s - A| 5^q 2^e <= 2^(e-30)  <=>  resid <= 5^-q / 2^30 (2^31 below a power of
         * two, whose lower half-gap is half as wide). */
        struct u192 bound = {{1, 0, 0}};
        u192_mul_pow5(&bound, -q);
        bound = u192_shr(bound, !up && pow2 ? 31 : 30);
        return u192_cmp(resid, bound) <= 0;
    }
    /* v / 10^q = N / D with N = m 2^max(e-q,0), D = 5^q 2^max(q-e,0); q <= 38. */
    int up2 = f->e - q > 0 ? f->e - q : 0, dn2 = q - f->e > 0 ? q - f->e : 0;
    u128_t n = (u128_t)f->m << up2;
    u128_t d = q > 27 ? (u128_t)pow5_64[27] * pow5_64[q - 27] : pow5_64[q];
    d <<= dn2;
    uint64_t c0 = (uint64_t)(n / d);
    u128_t r = n % d;
    bool up = 2 * r > d || (2 * r == d && (c0 & 1));
    u128_t resid = up ? d - r : r;
    *c = c0 + up;
    /* resid / D * 10^q <= 2^(e-30)  <=>  resid <= 2^(max(e-q,0) - 30) */
    int t = up2 - (!up && pow2 ? 31 : 30);
    return t < 0 ? resid == 0 : resid <= ((u128_t)1 << t);
}

static const uint64_t pow10_64[18] = {1ull,
                                      10ull,
                                      100ull,
                                      1000ull,
                                      10000ull,
                                      100000ull,
                                      1000000ull,
                                      10000000ull,
                                      100000000ull,
                                      1000000000ull,
                                      10000000000ull,
                                      100000000000ull,
                                      1000000000000ull,
                                      10000000000000ull,
                                      100000000000000ull,
                                      1000000000000000ull,
                                      10000000000000000ull,
                                      100000000000000000ull};

/* The predicate of the search, cheap: v / 10^(k10-16) = D + frac is computed once exactly
 * (D integer, 17 digits); the p-digit rounding follows from D's low digits and whether frac
 * is zero, and the distance to v is compared in double with the half-ulp W (in the same
 * units) when the two differ by more than a relative 1e-9; the rare close calls (exact ties
 * with the interval bound included) go to the exact candidate(). Used when k10 <= 16 and v is
 * not a power of two (those always take candidate()). */
struct probe {
    struct f32_parts f;
    bool fast;
    uint64_t d;
    bool frac_nz;
    int half_cmp; /* frac vs 1/2 */
    double frac, w;
};

/* 2^k as a double, k in [-1022, 1023]. */
static inline double pow2_d(int k)
{
    uint64_t bits = (uint64_t)(1023 + k) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static double u192_to_double(struct u192 a)
{
    return ((double)a.w[2] * 0x1p64 + (double)a.w[1]) * 0x1p64 + (double)a.w[0];
}

/* 10^k as the nearest double, k in [0, 61]. */
static const double pow10_d[62] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47,
    1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61};

static void probe_init(struct probe *pr)
{
    const struct f32_parts *f = &pr->f;
    pr->fast = f->k10 <= 16 && f->m != (1ull << 23);
    if (!pr->fast)
        return;
    int q = f->k10 - 16;
    struct u192 a = {{f->m, 0, 0}};
    u192_mul_pow5(&a, -q);
    int s = q - f->e;
    /* W = 2^(e-30) / 10^q */
    pr->w = pow10_d[-q] * pow2_d(f->e - 30);
    if (s <= 0) {
        pr->d = a.w[0] << -s;
        pr->frac_nz = false;
        pr->half_cmp = -1;
        pr->frac = 0;
        return;
    }
    pr->d = u192_shr(a, s).w[0];
    struct u192 r = u192_low(a, s);
    pr->frac_nz = r.w[0] | r.w[1] | r.w[2];
    pr->half_cmp = u192_cmp(r, u192_pow2(s - 1));
    pr->frac = u192_to_double(r) * pow2_d(-s);
}

static bool probe_test(const struct probe *pr, int p, uint64_t *c)
{
    if (!pr->fast)
        return candidate(&pr->f, p, c);
    int k = 17 - p;
    bool up;
    double dist;
    if (k == 0) {
        up = pr->half_cmp > 0 || (pr->half_cmp == 0 && (pr->d & 1));
        *c = pr->d + up;
        dist = up ? 1.0 - pr->frac : pr->frac;
    } else {
        uint64_t pk = pow10_64[k], c0 = pr->d / pk, r = pr->d % pk, half = pk / 2;
        up = r > half || (r == half && (pr->frac_nz || (c0 & 1)));
        *c = c0 + up;
        dist = up ? (double)(pk - r) - pr->frac : (double)r + pr->frac;
    }
    double diff = dist - pr->w;
    if (fabs(diff) > 1e-9 * (dist + pr->w))
        return diff < 0;
    return candidate(&pr->f, p, c);
}

/* Finite non-zero v that is exactly a float32: the reference's search on integers. */
static int pyrepr_f32(double v, char *buf)
{
    float fv = (float)fabs(v);
    uint32_t bits;
    memcpy(&bits, &fv, sizeof bits);
    struct probe pr;
    struct f32_parts *fp = &pr.f;
    uint32_t be = bits >> 23;
    fp->m = bits & 0x7fffff;
    if (be) {
        fp->m |= 1u << 23;
        fp->e = (int)be - 150;
    } else {
        fp->e = -149;
        while (fp->m < (1u << 23)) {
            fp->m <<= 1;
            fp->e--;
        }
    }
    /* floor(log10 v) is floor(e2 log10 2) or one more, e2 = floor(log2 v) = e + 23. */
    int e2 = fp->e + 23;
    int k10 = (int)(e2 * 0.30102999566398120 + 1000.0) - 1000;
    if (k10 + 1 <= 38 && fv >= k10_min[k10 + 1 + 45])
        k10++;
    fp->k10 = k10;
    probe_init(&pr);

    int lo = 1, hi = 17;
    uint64_t c = 0, chi = 0;
    bool have_hi = false;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (probe_test(&pr, mid, &c)) {
            hi = mid;
            chi = c;
            have_hi = true;
        } else {
            lo = mid + 1;
        }
    }
    if (!have_hi)
        probe_test(&pr, 17, &chi);
    /* chi has lo digits, or is 10^lo after rounding up (one digit more, exponent + 1). */
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char tmp[24];
    char *d = tmp + sizeof tmp;
    uint64_t x = chi;
    while (x >= 100) {
        d -= 2;
        memcpy(d, pairs + 2 * (x % 100), 2);
        x /= 100;
    }
    if (x >= 10) {
        d -= 2;
        memcpy(d, pairs + 2 * x, 2);
    } else {
        *--d = (char)('0' + x);
    }
    int nt = (int)(tmp + sizeof tmp - d);
    return layout(v<0, d, nt, nt> lo ? k10 + 1 : k10, buf);
}

int ar_fmt_pyrepr(double v, char *buf)
{
    int n = special(v, buf);
    if (n)
        return n;
    if (fabs(v) <= (double)FLT_MAX && (double)(float)v == v)
        return pyrepr_f32(v, buf);
    return ar_fmt_pyrepr_search(v, buf);
}
