/* BLAS and LAPACK wrappers: the only code that includes cblas.h or calls LAPACK.
 *
 * Row-major throughout. Call these outside our own OpenMP regions for large products: the
 * OpenMP build of OpenBLAS then uses the same thread pool and budget as our loops; called
 * inside a region it runs single-threaded.
 */
#ifndef AR_CORE_BLAS_H
#define AR_CORE_BLAS_H

#include <stdbool.h>
#include <stddef.h>

/* C = alpha * op(A) * op(B) + beta * C; op(A) is m x k, op(B) is k x n, C is m x n. */
void ar_blas_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc);
void ar_blas_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
                   const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
                   size_t ldc);
/* y = alpha * op(A) * x + beta * y, A is m x n. */
void ar_blas_sgemv(bool trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
                   const float *x, float beta, float *y);
float ar_blas_sdot(size_t n, const float *x, const float *y);
void ar_blas_saxpy(size_t n, float alpha, const float *x, float *y);
void ar_blas_sscal(size_t n, float alpha, float *x);
float ar_blas_snrm2(size_t n, const float *x);

/* Cholesky factorisation of the symmetric positive definite n x n matrix `a` (row-major, lower
 * triangle written). AR_ERR_INVALID when `a` is not positive definite. */
int ar_lapack_dpotrf(size_t n, double *a, size_t lda);
/* Solves A X = B with the factor from ar_lapack_dpotrf; B is n x nrhs row-major. */
int ar_lapack_dpotrs(size_t n, size_t nrhs, const double *a, size_t lda, double *b, size_t ldb);

void ar_blas_set_threads(int n);
int ar_blas_threads(void);
/* OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell ...". */
const char *ar_blas_config(void);
/* The kernel OpenBLAS chose at run time, e.g. "Haswell", "Cooperlake". */
const char *ar_blas_corename(void);
/* The threading model OpenBLAS was built with: "sequential", "pthreads" or "openmp". */
const char *ar_blas_threading(void);

#endif
