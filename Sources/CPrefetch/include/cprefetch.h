// cprefetch: the CPU's prefetch hint, which Swift does not expose, and a way to map pages ahead.
#ifndef CPREFETCH_H
#define CPREFETCH_H

#include <stddef.h>

/// Asks the CPU to bring the cache line holding `address` into its caches, to be written soon.
/// Only a hint: it never faults, whatever the address, and changes nothing a program can observe
/// but timing. Replay calls it for memory a few journal records ahead of the one it applies, so
/// that the random reads of the credit and ref tables overlap instead of waiting one by one.
static inline void creditd_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Writes a zero byte at `start` and at each 4 KiB boundary in the `count` bytes from it, so that
/// the kernel maps every page of that memory now (4 KiB is the smallest page size: each page is
/// written whatever its size). For memory made ahead on one thread for another to fill: the
/// memory must be uninitialized, or hold zeros there (as from calloc).
void creditd_map_pages(void *start, size_t count);

#endif
