/* Times ar_csv_parse on a CSV file read into memory: csv_bench FILE [threads...].
 * Prints MB/s per thread count (best of 3). Generate a test file with e.g.
 * python3 -c "import numpy as np; np.savetxt('f.csv', np.random.randn(1000000, 29), '%.9g', ',')"
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/par.h"
#include "core/timer.h"
#include "io/csv.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: csv_bench FILE [threads...]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "read failed\n");
        return 1;
    }
    fclose(f);
    for (int a = argc > 2 ? 2 : 1; a < argc || a == 1; a++) {
        int threads = argc > 2 ? (int)strtol(argv[a], NULL, 10) : 1;
        ar_par_init(threads);
        double best = 1e30;
        struct ar_csv_rows r = {0};
        for (int rep = 0; rep < 3; rep++) {
            struct ar_csv_opts o = {.label_size = 1, .n_threads = threads, .first_line = 1};
            r.n_fields = 0;
            double t0 = ar_time_now();
            if (ar_csv_parse(buf, (size_t)len, &o, &r) != AR_OK) {
                fprintf(stderr, "%s\n", ar_err_msg());
                return 1;
            }
            double t = ar_time_now() - t0;
            best = t < best ? t : best;
        }
        printf("threads %d: %zu rows x %zu cols, %.1f MB in %.3f s = %.0f MB/s\n", threads,
               r.n_rows, r.n_cols, (double)len / 1e6, best, (double)len / 1e6 / best);
        ar_csv_rows_release(&r);
        if (argc <= 2)
            break;
    }
    free(buf);
    return 0;
}
