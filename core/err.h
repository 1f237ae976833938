/* Error codes and the thread-local error message.
 *
 * A function that can fail returns an int from enum ar_status (AR_OK = 0, errors negative) and
 * writes its outputs through trailing pointers. On failure it records a message with
 * ar_err_set(); callers add context on the way up with ar_err_prefix(). The message lives in a
 * thread-local buffer, so never set it inside an OpenMP region: record the failing row there
 * and call ar_err_set() after the region.
 *
 * The enum is append-only; values are never renumbered.
 */
#ifndef AR_CORE_ERR_H
#define AR_CORE_ERR_H

#include <stddef.h>

enum ar_status {
    AR_OK = 0,
    AR_ERR_INVALID = -1,     /* bad argument or bad input value */
    AR_ERR_PARAM = -2,       /* bad hyperparameter or option */
    AR_ERR_FORMAT = -3,      /* malformed data or file */
    AR_ERR_UNSUPPORTED = -4, /* valid, but not supported here */
    AR_ERR_LIMIT = -5,       /* a size read from input exceeds its cap */
    AR_ERR_IO = -6,          /* operating-system I/O failure */
    AR_ERR_NOMEM = -7,       /* allocation failed */
    AR_ERR_INTERNAL = -8,    /* a bug: an invariant did not hold */
    AR_ERR_NOT_FOUND = -9,   /* a named thing (file, algorithm, job) does not exist */
    AR_ERR_EXISTS = -10,     /* a thing that must be new already exists */
    AR_ERR_INTERRUPTED = -11 /* stopped by a signal or a stop request */
};

#define AR_ERR_MSG_SIZE 1024

/* Records a printf-style message for this thread and returns `code`. */
int ar_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends printf-style context to this thread's message, keeping what was there. */
void ar_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* This thread's last message ("" when none). Valid until the next ar_err_* call. */
const char *ar_err_msg(void);

/* Empties this thread's message. */
void ar_err_clear(void);

/* A short constant name for a status code, e.g. "invalid input". */
const char *ar_status_str(int code);

/* Reports a broken invariant and aborts; used by AR_ASSERT in every build. */
_Noreturn void ar_assert_fail(const char *expr, const char *file, int line);

/* For bugs only, never for input: stays on in release builds. */
#define AR_ASSERT(expr) ((expr) ? (void)0 : ar_assert_fail(#expr, __FILE__, __LINE__))

/* Propagates a failing status: `AR_TRY(f(x));` returns f's code when it is not AR_OK. */
#define AR_TRY(call)                                                                               \
    do {                                                                                           \
        int ar_try_rc_ = (call);                                                                   \
        if (ar_try_rc_ != AR_OK)                                                                   \
            return ar_try_rc_;                                                                     \
    } while (0)

#endif
