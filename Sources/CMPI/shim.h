// Flock's view of OpenMPI. MPI handles are macros over global symbols that do not
// import into Swift, so they are exposed as static inline getters.
#ifndef FLOCK_CMPI_SHIM_H
#define FLOCK_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm flock_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm flock_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype flock_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype flock_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype flock_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype flock_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype flock_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op flock_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op flock_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op flock_mpi_min(void) { return MPI_MIN; }
static inline void *flock_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *flock_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request flock_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline int flock_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int flock_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Errhandler flock_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info flock_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int flock_mpi_undefined(void) { return MPI_UNDEFINED; }
static inline int flock_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int flock_mpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static inline int flock_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int flock_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int flock_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }

// Atomics on 64-bit words in MPI-3 shared windows (the shared-memory allreduce's
// barrier flags). Swift has no atomics on raw memory without another package.
#include <stdint.h>
static inline int64_t flock_atomic_load(const int64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static inline void flock_atomic_store(int64_t *word, int64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }
static inline void flock_memory_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif
