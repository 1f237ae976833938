/* OpenBLAS (cblas + LAPACK) behind row-major wrappers. */
#include "core/blas.h"

#include <cblas.h>

#include "core/err.h"
#include "core/mem.h"

/* Declared by OpenBLAS's cblas.h on some versions only; declare what we use. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
                    const int *lda, double *b, const int *ldb, int *info);

static blasint bi(size_t v)
{
    AR_ASSERT(v <= 0x7fffffff);
    return (blasint)v;
}

void ar_blas_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, bi(m), bi(n), bi(k), alpha, a, bi(lda), b,
                bi(ldb), beta, c, bi(ldc));
}

void ar_blas_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
                   const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
                   size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, bi(m), bi(n), bi(k), alpha, a, bi(lda), b,
                bi(ldb), beta, c, bi(ldc));
}

void ar_blas_sgemv(bool trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
                   const float *x, float beta, float *y)
{
    if (m == 0 || n == 0)
        return;
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, bi(m), bi(n), alpha, a, bi(lda),
                x, 1, beta, y, 1);
}

float ar_blas_sdot(size_t n, const float *x, const float *y)
{
    return n ? cblas_sdot(bi(n), x, 1, y, 1) : 0.0f;
}

void ar_blas_saxpy(size_t n, float alpha, const float *x, float *y)
{
    if (n)
        cblas_saxpy(bi(n), alpha, x, 1, y, 1);
}

void ar_blas_sscal(size_t n, float alpha, float *x)
{
    if (n)
        cblas_sscal(bi(n), alpha, x, 1);
}

float ar_blas_snrm2(size_t n, const float *x)
{
    return n ? cblas_snrm2(bi(n), x, 1) : 0.0f;
}

/* LAPACK is column-major: a row-major lower triangle is a column-major upper triangle. */
int ar_lapack_dpotrf(size_t n, double *a, size_t lda)
{
    if (n == 0)
        return AR_OK;
    int nn = bi(n), ld = bi(lda), info = 0;
    dpotrf_("U", &nn, a, &ld, &info);
    if (info > 0)
        return ar_err_set(AR_ERR_INVALID, "matrix is not positive definite (leading minor %d)",
                          info);
    if (info < 0)
        return ar_err_set(AR_ERR_INTERNAL, "dpotrf: argument %d invalid", -info);
    return AR_OK;
}

int ar_lapack_dpotrs(size_t n, size_t nrhs, const double *a, size_t lda, double *b, size_t ldb)
{
    if (n == 0 || nrhs == 0)
        return AR_OK;
    /* Row-major B (n x nrhs) is column-major B^T; solve one right-hand side at a time. */
    int nn = bi(n), ld = bi(lda), one = 1, info = 0;
    double *col = ar_allocn(n, sizeof *col);
    if (!col)
        return AR_ERR_NOMEM;
    for (size_t r = 0; r < nrhs; r++) {
        for (size_t i = 0; i < n; i++)
            col[i] = b[i * ldb + r];
        dpotrs_("U", &nn, &one, a, &ld, col, &nn, &info);
        if (info != 0) {
            ar_free(col);
            return ar_err_set(AR_ERR_INTERNAL, "dpotrs: argument %d invalid", -info);
        }
        for (size_t i = 0; i < n; i++)
            b[i * ldb + r] = col[i];
    }
    ar_free(col);
    return AR_OK;
}

void ar_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}

int ar_blas_threads(void)
{
    return openblas_get_num_threads();
}

const char *ar_blas_config(void)
{
    return openblas_get_config();
}

const char *ar_blas_corename(void)
{
    return openblas_get_corename();
}

const char *ar_blas_threading(void)
{
    switch (openblas_get_parallel()) {
    case 0:
        return "sequential";
    case 1:
        return "pthreads";
    case 2:
        return "openmp";
    default:
        return "unknown";
    }
}
