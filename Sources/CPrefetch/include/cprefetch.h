// cprefetch: the CPU's prefetch hint, which Swift does not expose.
#ifndef CPREFETCH_H
#define CPREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into its caches, to be written soon.
/// Only a hint: it never faults, whatever the address, and changes nothing a program can observe
/// but timing. Replay calls it for memory a few journal records ahead of the one it applies, so
/// that the random reads of the credit and ref tables overlap instead of waiting one by one.
static inline void creditd_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
