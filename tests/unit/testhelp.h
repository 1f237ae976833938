/* Minimal unit-test macros. Each tests/unit/test_<name>.c defines void test_suite_<name>(void);
 * the runner (main.c) calls every suite and ends with "N passed, N failed". Checks count one
 * each; a failing check prints file, line and the values, and the run goes on. */
#ifndef AR_TESTS_TESTHELP_H
#define AR_TESTS_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

extern long ar_test_passed, ar_test_failed;
extern const char *ar_test_suite;

void ar_test_report(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(cond) ar_test_report(!!(cond), __FILE__, __LINE__, "%s", #cond)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long ca_ = (long long)(a), cb_ = (long long)(b);                                      \
        ar_test_report(ca_ == cb_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b, ca_,     \
                       cb_);                                                                       \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double ca_ = (double)(a), cb_ = (double)(b);                                               \
        ar_test_report(fabs(ca_ - cb_) <= (tol), __FILE__, __LINE__,                               \
                       "%s ~= %s (%.17g vs %.17g, tol %g)", #a, #b, ca_, cb_, (double)(tol));      \
    } while (0)

/* |a - b| <= rel * max(|a|, |b|), or both tiny */
#define CHECK_REL(a, b, rel)                                                                       \
    do {                                                                                           \
        double ca_ = (double)(a), cb_ = (double)(b);                                               \
        double m_ = fmax(fabs(ca_), fabs(cb_));                                                    \
        ar_test_report(fabs(ca_ - cb_) <= (rel)*m_ || m_ < 1e-300, __FILE__, __LINE__,             \
                       "%s ~= %s (%.17g vs %.17g, rel %g)", #a, #b, ca_, cb_, (double)(rel));      \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *ca_ = (a), *cb_ = (b);                                                         \
        ar_test_report(ca_ &&cb_ &&strcmp(ca_, cb_) == 0, __FILE__, __LINE__,                      \
                       "%s == %s (\"%s\" vs \"%s\")", #a, #b, ca_ ? ca_ : "(null)",                \
                       cb_ ? cb_ : "(null)");                                                      \
    } while (0)

/* The call returns AR_OK; on failure prints the error message. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ar_test_report(rc_ == AR_OK, __FILE__, __LINE__, "%s returned %d: %s", #call, rc_,         \
                       ar_err_msg());                                                              \
    } while (0)

/* The call fails with `code` and its message contains `needle` (NULL: any message). */
#define CHECK_ERR(call, code, needle)                                                              \
    do {                                                                                           \
        ar_err_clear();                                                                            \
        int rc_ = (call);                                                                          \
        const char *nd_ = (needle);                                                                \
        ar_test_report(rc_ == (code) && (!nd_ || strstr(ar_err_msg(), nd_)), __FILE__, __LINE__,   \
                       "%s -> %d \"%s\" (want %d containing \"%s\")", #call, rc_, ar_err_msg(),    \
                       (int)(code), nd_ ? nd_ : "");                                               \
    } while (0)

/* Every suite's entry point (the list is generated from tests/unit/test_*.c). */
#define AR_SUITE(name) void test_suite_##name(void);
#include "suites.h"
#undef AR_SUITE

/* Path of a file under tests/data (the runner chdirs to the repository root). */
#define TEST_DATA(rel) ("tests/data/" rel)

#endif
