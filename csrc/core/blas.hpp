// The few BLAS/LAPACK routines the core uses, declared against the symbol
// names of PyPI's `scipy-openblas32` (every symbol carries a `scipy_` prefix,
// 32-bit integers). Declaring them here keeps the core free of any header
// beyond the standard library and lets the build link any OpenBLAS that
// exports those names.
//
// Why OpenBLAS and not Eigen: measured for this project on the 2-core
// development machine, one thread, float64 at N=3000, OpenBLAS (PyPI's
// scipy-openblas32) ran DGEMM at ~45 GFLOP/s and a Cholesky in 0.3 s against
// 6 GFLOP/s and 1.55 s for a portable Eigen 3.4 build (21 GFLOP/s / 0.6 s
// only with AVX2 flags, which a portable wheel cannot assume). OpenBLAS picks
// its kernels for the CPU at run time (bench/bench_gp.py prints the GEMM rate
// it reaches: 107 GFLOP/s on that machine with the CPU's own kernels), so the
// wheel stays portable and fast, and it installs from PyPI at build time.
#pragma once

namespace hh::blas {

enum Order { RowMajor = 101, ColMajor = 102 };
enum Transpose { NoTrans = 111, Trans = 112 };
enum UpLo { Upper = 121, Lower = 122 };
enum Diag { NonUnit = 131, Unit = 132 };
enum Side { Left = 141, Right = 142 };

}  // namespace hh::blas

extern "C" {
void scipy_cblas_dgemm(int order, int trans_a, int trans_b, int m, int n, int k, double alpha,
                       const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc);
void scipy_cblas_dgemv(int order, int trans, int m, int n, double alpha, const double* a, int lda,
                       const double* x, int incx, double beta, double* y, int incy);
void scipy_cblas_dtrsm(int order, int side, int uplo, int trans_a, int diag, int m, int n, double alpha,
                       const double* a, int lda, double* b, int ldb);
void scipy_cblas_dtrsv(int order, int uplo, int trans_a, int diag, int n, const double* a, int lda, double* x,
                       int incx);
void scipy_cblas_dtrmm(int order, int side, int uplo, int trans_a, int diag, int m, int n, double alpha,
                       const double* a, int lda, double* b, int ldb);
void scipy_cblas_dsyrk(int order, int uplo, int trans, int n, int k, double alpha, const double* a, int lda,
                       double beta, double* c, int ldc);
// LAPACK (Fortran calling convention, column-major). A row-major lower
// triangle is a column-major upper triangle, which is how the core calls them.
void scipy_dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info,
                   unsigned long uplo_len);
void scipy_dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info,
                   unsigned long uplo_len, unsigned long diag_len);
void scipy_dlauum_(const char* uplo, const int* n, double* a, const int* lda, int* info,
                   unsigned long uplo_len);
void scipy_dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info,
                   unsigned long uplo_len);
void scipy_openblas_set_num_threads(int num_threads);
int scipy_openblas_get_num_threads(void);
}
