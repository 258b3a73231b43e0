// CRC-32C with the CPU's own instruction (SSE 4.2's crc32 on x86-64), for CreditJournal.
#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction that `creditd_crc32c_update` uses, else 0.
int creditd_crc32c_hardware_available(void);

/// Folds `count` bytes into a raw CRC-32C state (no pre- or post-inversion: the caller
/// inverts). Only call when `creditd_crc32c_hardware_available()` returned 1.
uint32_t creditd_crc32c_update(uint32_t state, const void *bytes, size_t count);

#endif
