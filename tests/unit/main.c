/* Unit-test runner: calls every suite (or those named on the command line) and ends with
 * "N passed, N failed"; exits 1 when anything failed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/par.h"
#include "tests/unit/testhelp.h"

long ar_test_passed, ar_test_failed;
const char *ar_test_suite = "";

void ar_test_report(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        ar_test_passed++;
        return;
    }
    ar_test_failed++;
    fprintf(stderr, "FAIL [%s] %s:%d: ", ar_test_suite, file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const struct {
    const char *name;
    void (*fn)(void);
} suites[] = {
#define AR_SUITE(name) {#name, test_suite_##name},
#include "suites.h"
#undef AR_SUITE
};

int main(int argc, char **argv)
{
    /* Tests read tests/data relative to the repository root. */
    const char *root = getenv("ALGORUN_SOURCE_DIR");
    if (root && chdir(root) != 0) {
        perror(root);
        return 2;
    }
    if (!getenv("ALGORUN_LOG_LEVEL"))
        ar_log_set_level(AR_LOG_WARN);
    size_t n_suites = sizeof suites / sizeof suites[0];
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (size_t i = 0; i < n_suites; i++)
            found |= strcmp(argv[a], suites[i].name) == 0;
        if (!found) {
            fprintf(stderr, "unknown suite '%s'\n", argv[a]);
            return 2;
        }
    }
    for (size_t i = 0; i < n_suites; i++) {
        int run = argc == 1;
        for (int a = 1; a < argc; a++)
            run |= strcmp(argv[a], suites[i].name) == 0;
        if (!run)
            continue;
        ar_test_suite = suites[i].name;
        long before_f = ar_test_failed, before_p = ar_test_passed;
        ar_err_clear();
        suites[i].fn();
        printf("%-16s %ld passed, %ld failed\n", suites[i].name, ar_test_passed - before_p,
               ar_test_failed - before_f);
        fflush(stdout);
    }
    printf("%ld passed, %ld failed\n", ar_test_passed, ar_test_failed);
    return ar_test_failed ? 1 : 0;
}
