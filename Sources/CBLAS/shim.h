// Flock's view of OpenBLAS. Own include guard: reusing CBLAS_H would hide cblas.h.
#ifndef FLOCK_CBLAS_SHIM_H
#define FLOCK_CBLAS_SHIM_H
#include <cblas.h>
#endif
