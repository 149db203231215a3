// Flock's view of oneDNN (Debian libdnnl-dev 2.6, C API). Own include guard.
#ifndef FLOCK_CDNNL_SHIM_H
#define FLOCK_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

// Argument indices are macros defined through other macros; Swift sees them here.
static inline int flock_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int flock_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int flock_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int flock_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int flock_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
static inline int flock_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int flock_dnnl_arg_to(void) { return DNNL_ARG_TO; }
static inline int flock_dnnl_arg_diff_src(void) { return DNNL_ARG_DIFF_SRC; }
static inline int flock_dnnl_arg_diff_weights(void) { return DNNL_ARG_DIFF_WEIGHTS; }
static inline int flock_dnnl_arg_diff_dst(void) { return DNNL_ARG_DIFF_DST; }

// libgomp, oneDNN's threading runtime in Debian's build (no omp.h on clang's path):
// the team size of parallel regions the calling thread starts. Per thread, so each
// rank of a ranks-as-threads job sets its own.
void omp_set_num_threads(int count);
int omp_get_max_threads(void);
#endif
