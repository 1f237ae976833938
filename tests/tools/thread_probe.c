/* Prints the peak number of OS threads this process reaches while running OpenMP loops and
 * threaded sgemm under `--threads N` (argv[1]): the e2e test checks it never exceeds N, which
 * is what the OpenMP build of OpenBLAS guarantees and the pthreads build breaks. */
#include <stdio.h>
#include <stdlib.h>

#include "core/blas.h"
#include "core/mem.h"
#include "core/par.h"

int main(int argc, char **argv)
{
    int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 0;
    if (ar_par_init(threads) != 0)
        return 2;
    size_t n = 768;
    float *a = ar_callocn(n * n, sizeof *a), *b = ar_callocn(n * n, sizeof *b),
          *c = ar_callocn(n * n, sizeof *c);
    if (!a || !b || !c)
        return 2;
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7);
        b[i] = (float)(i % 5);
    }
    int peak = ar_par_os_threads();
    for (int rep = 0; rep < 3; rep++) {
        double s = 0;
#pragma omp parallel for num_threads(ar_par_threads()) reduction(+ : s)
        for (size_t i = 0; i < n * n; i++)
            s += a[i];
        ar_blas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        int t = ar_par_os_threads();
        if (t > peak)
            peak = t;
        if (s < 0)
            return 3;
    }
    printf("threads=%d os_threads=%d blas=%s\n", ar_par_threads(), peak, ar_blas_threading());
    ar_free(a);
    ar_free(b);
    ar_free(c);
    return 0;
}
