// Flock's view of OpenBLAS. Own include guard: reusing CBLAS_H would hide cblas.h.
#ifndef FLOCK_CBLAS_SHIM_H
#define FLOCK_CBLAS_SHIM_H
#include <cblas.h>
#include <stddef.h>

// LAPACK's Cholesky factorization and inverse, which libopenblas exports with Fortran
// linkage (Debian ships no lapacke.h for it). Column-major, 32-bit integers (OpenBLAS
// built without INTERFACE64); the trailing length is gfortran's hidden CHARACTER length.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_length);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_length);
#endif
