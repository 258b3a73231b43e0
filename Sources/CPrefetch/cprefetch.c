// cprefetch: see include/cprefetch.h. `creditd_prefetch` is inline there, so that each call is a
// single instruction; `creditd_map_pages` is here, out of the compiler's sight from Swift.
#include "cprefetch.h"
#include <stdint.h>

void creditd_map_pages(void *start, size_t count) {
    if (count == 0) return;
    // Through a volatile pointer: stores of zero to memory fresh from calloc are ones a compiler
    // may prove redundant and remove.
    volatile unsigned char *first = start;
    *first = 0;
    uintptr_t end = (uintptr_t)start + count;
    for (uintptr_t page = ((uintptr_t)start + 4095) & ~(uintptr_t)4095; page < end; page += 4096) {
        *(volatile unsigned char *)page = 0;
    }
}
