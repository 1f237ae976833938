/* Stand-ins for readers that the library being linked does not contain yet (other helpers
 * add them to main over time). The Makefile rule for the benchmark programs checks
 * libalgorun.a with nm and defines AR_BENCH_MISSING_<NAME> for each absent constructor, so
 * the benchmark programs link today and pick up the real reader after a merge. A stand-in
 * only reports "not built yet"; ar_bench_missing lists them so the harness can say so. */
#include "core/err.h"
#include "io/batch.h"

/* The reader constructors this build lacks, NULL-terminated. */
extern const char *const ar_bench_missing[];

#define STUB(fn)                                                                                   \
    int fn(struct ar_input *in, const struct ar_data_format *fmt, struct ar_batch_source **out)    \
    {                                                                                              \
        (void)fmt;                                                                                 \
        *out = NULL;                                                                               \
        ar_input_close(in);                                                                        \
        return ar_err_set(AR_ERR_NOT_FOUND, "%s is not built yet", #fn);                           \
    }

#ifdef AR_BENCH_MISSING_CSV
STUB(ar_csv_source_open)
#endif
#ifdef AR_BENCH_MISSING_LIBSVM
STUB(ar_libsvm_source_open)
#endif
#ifdef AR_BENCH_MISSING_RECORDIO
STUB(ar_recordio_source_open)
#endif

const char *const ar_bench_missing[] = {
#ifdef AR_BENCH_MISSING_CSV
    "ar_csv_source_open",
#endif
#ifdef AR_BENCH_MISSING_LIBSVM
    "ar_libsvm_source_open",
#endif
#ifdef AR_BENCH_MISSING_RECORDIO
    "ar_recordio_source_open",
#endif
    NULL,
};
