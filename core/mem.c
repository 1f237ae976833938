/* Checked aligned allocation with a fault-injection counter. */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static atomic_long alloc_count;
static atomic_long fail_at = -1; /* -1: read ALGORUN_FAIL_ALLOC on first use */

static bool should_fail(void)
{
    long f = atomic_load(&fail_at);
    if (f < 0) {
        const char *env = getenv("ALGORUN_FAIL_ALLOC");
        char *end = NULL;
        long v = env ? strtol(env, &end, 10) : 0;
        if (!env || *end != '\0' || v < 0)
            v = 0;
        long expected = -1;
        atomic_compare_exchange_strong(&fail_at, &expected, v);
        f = atomic_load(&fail_at);
    }
    long c = atomic_fetch_add(&alloc_count, 1) + 1;
    return f > 0 && c == f;
}

bool ar_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

void *ar_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (should_fail()) {
        ar_err_set(AR_ERR_NOMEM, "out of memory allocating %zu bytes (injected)", size);
        return NULL;
    }
    size_t rounded = (size + AR_ALIGN - 1) & ~(size_t)(AR_ALIGN - 1);
    if (rounded < size) {
        ar_err_set(AR_ERR_NOMEM, "allocation of %zu bytes is too large", size);
        return NULL;
    }
    void *p = aligned_alloc(AR_ALIGN, rounded);
    if (!p)
        ar_err_set(AR_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *ar_allocn(size_t n, size_t size)
{
    size_t total;
    if (ar_mul_overflow(n, size, &total)) {
        ar_err_set(AR_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    return ar_alloc(total);
}

void *ar_callocn(size_t n, size_t size)
{
    void *p = ar_allocn(n, size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *ar_reallocn(void *p, size_t old_size, size_t n, size_t size)
{
    void *q = ar_allocn(n, size);
    if (!q)
        return NULL;
    if (p) {
        size_t keep = n * size < old_size ? n * size : old_size;
        memcpy(q, p, keep);
        free(p);
    }
    return q;
}

void ar_free(void *p)
{
    free(p);
}

char *ar_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ar_alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ar_mem_fail_at(long n)
{
    atomic_store(&fail_at, n < 0 ? 0 : n);
    atomic_store(&alloc_count, 0);
}

long ar_mem_alloc_count(void)
{
    return atomic_load(&alloc_count);
}
