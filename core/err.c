/* Thread-local error messages and status names. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char err_msg[AR_ERR_MSG_SIZE];

int ar_err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return code;
}

void ar_err_prefix(const char *fmt, ...)
{
    char prefix[AR_ERR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    size_t plen = strlen(prefix);
    size_t mlen = strlen(err_msg);
    if (plen >= sizeof err_msg)
        plen = sizeof err_msg - 1;
    if (plen + mlen >= sizeof err_msg)
        mlen = sizeof err_msg - 1 - plen;
    memmove(err_msg + plen, err_msg, mlen);
    memcpy(err_msg, prefix, plen);
    err_msg[plen + mlen] = '\0';
}

const char *ar_err_msg(void)
{
    return err_msg;
}

void ar_err_clear(void)
{
    err_msg[0] = '\0';
}

const char *ar_status_str(int code)
{
    switch (code) {
    case AR_OK:
        return "ok";
    case AR_ERR_INVALID:
        return "invalid input";
    case AR_ERR_PARAM:
        return "invalid parameter";
    case AR_ERR_FORMAT:
        return "malformed data";
    case AR_ERR_UNSUPPORTED:
        return "unsupported";
    case AR_ERR_LIMIT:
        return "limit exceeded";
    case AR_ERR_IO:
        return "I/O error";
    case AR_ERR_NOMEM:
        return "out of memory";
    case AR_ERR_INTERNAL:
        return "internal error";
    case AR_ERR_NOT_FOUND:
        return "not found";
    case AR_ERR_EXISTS:
        return "already exists";
    case AR_ERR_INTERRUPTED:
        return "interrupted";
    default:
        return "unknown error";
    }
}

_Noreturn void ar_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "algorun: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
