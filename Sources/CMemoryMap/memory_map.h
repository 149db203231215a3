// Page moves Swift cannot call on Linux: `mremap` is variadic (Swift imports no C
// variadic function), and glibc declares its flags only under _GNU_SOURCE.
#ifndef FLOCK_MEMORY_MAP_H
#define FLOCK_MEMORY_MAP_H

#include <stddef.h>
#include <sys/syscall.h>

// Declared here rather than by <unistd.h> and <sys/mman.h>: a header of this module that
// includes those takes them from the Glibc module Swift already imports.
extern long syscall(long number, ...);
extern int madvise(void *start, size_t bytes, int advice);

/// Moves the pages behind [from, from + bytes) to [to, to + bytes), replacing whatever is
/// mapped at `to`; `from` stays mapped and reads as zeros afterwards (MREMAP_MAYMOVE |
/// MREMAP_FIXED | MREMAP_DONTUNMAP, Linux 5.7). Both page-aligned, both private anonymous
/// memory, [from, from + bytes) within one mapping. Returns 0, or -1 with errno set.
static inline int flock_move_pages(void *from, void *to, size_t bytes) {
    long moved = syscall(SYS_mremap, from, bytes, bytes, 1 | 2 | 4, to);
    return moved == (long)to ? 0 : -1;
}

/// Faults in every page of [start, start + bytes) for writing in one call, without a trap
/// per page (MADV_POPULATE_WRITE, Linux 5.14). Returns 0, or -1 with errno set.
static inline int flock_populate_pages(void *start, size_t bytes) {
    return madvise(start, bytes, 23);
}

#endif
