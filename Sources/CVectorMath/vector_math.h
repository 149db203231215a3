// Vector math Swift cannot reach on Linux: `Float.squareRoot()` compiles to glibc's
// `sqrtf` with its errno check (clang's math-errno default there), one lane at a time.
// clang's element-wise builtin is LLVM's `sqrt` intrinsic: `vsqrtps`, correctly rounded
// as the scalar square root is, so results are bit for bit the same.
#ifndef FLOCK_VECTOR_MATH_H
#define FLOCK_VECTOR_MATH_H

/// Eight Floats, imported into Swift as SIMD8<Float>.
typedef float flock_float8 __attribute__((ext_vector_type(8)));

/// The square root of each lane.
static inline flock_float8 flock_square_root8(flock_float8 x) { return __builtin_elementwise_sqrt(x); }

#endif
