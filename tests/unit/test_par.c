/* Unit tests for core/par and core/blas: ranges, the thread budget, and every BLAS/LAPACK
 * wrapper against naive loops on shapes 0, 1, odd and transposed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

static void test_range(void)
{
    /* Every item covered exactly once, contiguous, for awkward n and nth. */
    size_t ns[] = {0, 1, 2, 7, 100, 101};
    int nths[] = {1, 2, 3, 8, 200};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        for (size_t b = 0; b < sizeof nths / sizeof nths[0]; b++) {
            size_t n = ns[a], next = 0;
            int ok = 1;
            for (int t = 0; t < nths[b]; t++) {
                size_t lo, hi;
                ar_par_range(n, t, nths[b], &lo, &hi);
                if (lo > hi || (lo != next && lo != n))
                    ok = 0;
                if (hi > lo)
                    next = hi;
            }
            CHECK(ok && next == n);
        }
    }
}

static void test_budget(void)
{
    CHECK_ERR(ar_par_init(-1), AR_ERR_PARAM, "threads");
    CHECK_OK(ar_par_init(3));
    CHECK_INT(ar_par_threads(), 3);
    CHECK_INT(ar_blas_threads(), 3);
    int seen = 0;
#pragma omp parallel num_threads(ar_par_threads())
    {
#pragma omp atomic
        seen++;
        if (ar_par_tid() == 0)
            CHECK_INT(ar_par_region_size(), 3);
    }
    CHECK_INT(seen, 3);
    setenv("OMP_NUM_THREADS", "2", 1);
    CHECK_OK(ar_par_init(0));
    CHECK_INT(ar_par_threads(), 2);
    setenv("OMP_NUM_THREADS", "two", 1);
    CHECK_ERR(ar_par_init(0), AR_ERR_PARAM, "OMP_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    CHECK_OK(ar_par_init(0));
    CHECK_INT(ar_par_threads(), ar_par_cores());
    CHECK(ar_par_cores() >= 1);
    CHECK(ar_par_os_threads() >= 1);
    CHECK_STR(ar_blas_threading(), "openmp");
    CHECK(strlen(ar_blas_config()) > 0 && strlen(ar_blas_corename()) > 0);
}

static void fill(struct ar_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(ar_rng_uniform(r) * 2 - 1);
}

/* op(A)[i][l] with A stored row-major with leading dimension ld. */
static double at(const float *a, size_t ld, int trans, size_t i, size_t l)
{
    return trans ? a[l * ld + i] : a[i * ld + l];
}

static void test_gemm(void)
{
    struct ar_rng r;
    ar_rng_init(&r, 7, 0);
    size_t shapes[][3] = {{0, 3, 4}, {1, 1, 1}, {3, 0, 2}, {5, 7, 3}, {33, 17, 65}, {1, 64, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
                float *a = ar_callocn((ta ? k : m) * lda + 1, sizeof *a);
                float *b = ar_callocn((tb ? n : k) * ldb + 1, sizeof *b);
                float *c = ar_callocn(m * ldc + 1, sizeof *c);
                double *cd = ar_callocn(m * n + 1, sizeof *cd);
                fill(&r, a, (ta ? k : m) * lda);
                fill(&r, b, (tb ? n : k) * ldb);
                fill(&r, c, m * ldc);
                double *cs = ar_callocn(m * ldc + 1, sizeof *cs);
                for (size_t i = 0; i < m * ldc; i++)
                    cs[i] = c[i];
                ar_blas_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);
                double maxerr = 0;
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        double acc = 0;
                        for (size_t l = 0; l < k; l++)
                            acc += at(a, lda, ta, i, l) * at(b, ldb, tb, l, j);
                        double want = 0.5 * acc + 2.0 * cs[i * ldc + j];
                        maxerr = fmax(maxerr, fabs(want - c[i * ldc + j]));
                    }
                CHECK(maxerr < 1e-4);
                /* dgemm on the same data, tighter tolerance. */
                double *ad = ar_callocn((ta ? k : m) * lda + 1, sizeof *ad);
                double *bd = ar_callocn((tb ? n : k) * ldb + 1, sizeof *bd);
                for (size_t i = 0; i < (ta ? k : m) * lda; i++)
                    ad[i] = a[i];
                for (size_t i = 0; i < (tb ? n : k) * ldb; i++)
                    bd[i] = b[i];
                ar_blas_dgemm(ta, tb, m, n, k, 1.0, ad, lda, bd, ldb, 0.0, cd, n);
                maxerr = 0;
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        double acc = 0;
                        for (size_t l = 0; l < k; l++)
                            acc += at(a, lda, ta, i, l) * at(b, ldb, tb, l, j);
                        maxerr = fmax(maxerr, fabs(acc - cd[i * n + j]));
                    }
                CHECK(maxerr < 1e-12);
                ar_free(a);
                ar_free(b);
                ar_free(c);
                ar_free(cd);
                ar_free(cs);
                ar_free(ad);
                ar_free(bd);
            }
        }
    }
}

static void test_level1_2(void)
{
    struct ar_rng r;
    ar_rng_init(&r, 9, 0);
    float a[5 * 4], x[5], y[5], y0[5];
    fill(&r, a, 20);
    fill(&r, x, 5);
    fill(&r, y, 5);
    memcpy(y0, y, sizeof y);
    /* y(4) = 2 * A(4x3, ld 4)... use A as 5 x 4 with lda 4; x has 4 entries. */
    ar_blas_sgemv(false, 5, 4, 2.0f, a, 4, x, 1.0f, y);
    double err = 0;
    for (int i = 0; i < 5; i++) {
        double acc = 0;
        for (int j = 0; j < 4; j++)
            acc += (double)a[i * 4 + j] * x[j];
        err = fmax(err, fabs(2 * acc + y0[i] - y[i]));
    }
    CHECK(err < 1e-5);
    float yt[4] = {0};
    ar_blas_sgemv(true, 5, 4, 1.0f, a, 4, y0, 0.0f, yt);
    err = 0;
    for (int j = 0; j < 4; j++) {
        double acc = 0;
        for (int i = 0; i < 5; i++)
            acc += (double)a[i * 4 + j] * y0[i];
        err = fmax(err, fabs(acc - yt[j]));
    }
    CHECK(err < 1e-5);
    double dot = 0, nrm = 0;
    for (int i = 0; i < 5; i++) {
        dot += (double)x[i] * y0[i];
        nrm += (double)x[i] * x[i];
    }
    CHECK_NEAR(ar_blas_sdot(5, x, y0), dot, 1e-5);
    CHECK_NEAR(ar_blas_snrm2(5, x), sqrt(nrm), 1e-5);
    CHECK(ar_blas_sdot(0, x, y0) == 0.0f && ar_blas_snrm2(0, x) == 0.0f);
    float z[5];
    memcpy(z, y0, sizeof z);
    ar_blas_saxpy(5, 3.0f, x, z);
    CHECK_NEAR(z[4], y0[4] + 3.0 * x[4], 1e-6);
    ar_blas_sscal(5, -2.0f, z);
    CHECK_NEAR(z[4], -2.0 * (y0[4] + 3.0 * x[4]), 1e-5);
}

static void test_cholesky(void)
{
    /* A = M M^T + I is SPD; solve A x = b and check the residual. */
    double m[3][3] = {{2, 0.5, 1}, {0.1, 3, -1}, {0.3, 0.2, 1}};
    double a[9], f[9], b[6] = {1, 0, 2, 1, 3, -1}, x[6];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = i == j;
            for (int k = 0; k < 3; k++)
                s += m[i][k] * m[j][k];
            a[i * 3 + j] = s;
        }
    memcpy(f, a, sizeof a);
    memcpy(x, b, sizeof b);
    CHECK_OK(ar_lapack_dpotrf(3, f, 3));
    CHECK_OK(ar_lapack_dpotrs(3, 2, f, 3, x, 2));
    double res = 0;
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++) {
            double s = 0;
            for (int j = 0; j < 3; j++)
                s += a[i * 3 + j] * x[j * 2 + r];
            res = fmax(res, fabs(s - b[i * 2 + r]));
        }
    CHECK(res < 1e-12);
    double notspd[4] = {1, 2, 2, 1};
    CHECK_ERR(ar_lapack_dpotrf(2, notspd, 2), AR_ERR_INVALID, "not positive definite");
}

void test_suite_par(void)
{
    test_range();
    test_budget();
    test_gemm();
    test_level1_2();
    test_cholesky();
    ar_par_init(0);
}
