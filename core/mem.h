/* Checked, 64-byte-aligned allocation with fault injection.
 *
 * Every big array is one allocation from ar_allocn (overflow-checked n * size). Failures return
 * NULL and set AR_ERR_NOMEM with the requested size; nothing aborts. ar_free(NULL) is a no-op.
 * Fault injection: ar_mem_fail_at(N) (or ALGORUN_FAIL_ALLOC=N in the environment) makes the
 * Nth allocation from now fail, so tests can walk every failure path.
 */
#ifndef AR_CORE_MEM_H
#define AR_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

#define AR_ALIGN 64

/* size bytes, 64-byte aligned; NULL + AR_ERR_NOMEM on failure. size 0 allocates 1 byte. */
void *ar_alloc(size_t size);
/* n * size bytes, aligned; NULL + AR_ERR_NOMEM on overflow or failure. */
void *ar_allocn(size_t n, size_t size);
/* As ar_allocn, zero-filled. */
void *ar_callocn(size_t n, size_t size);
/* Resizes an ar_* block to n * size bytes keeping its prefix (alignment kept). On failure the
 * old block is untouched and NULL is returned. `old_size` is the block's current byte size. */
void *ar_reallocn(void *p, size_t old_size, size_t n, size_t size);
void ar_free(void *p);
/* strdup through the checked allocator (free with ar_free). */
char *ar_strdup(const char *s);

/* true when a * b overflows size_t; otherwise stores the product. */
bool ar_mul_overflow(size_t a, size_t b, size_t *out);

/* Fault injection: the nth allocation from now (1-based) fails; 0 disables. */
void ar_mem_fail_at(long n);
/* Allocations made since the last ar_mem_fail_at call (counts even when disabled). */
long ar_mem_alloc_count(void);

#endif
