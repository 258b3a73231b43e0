// csyncfilerange: Linux's sync_file_range, which Swift's Glibc module does not expose.
#ifndef CSYNCFILERANGE_H
#define CSYNCFILERANGE_H

#include <stdint.h>

/// Writes the dirty pages of [offset, offset + count) of fd to the device and waits for them
/// (sync_file_range with WAIT_BEFORE | WRITE | WAIT_AFTER). Unlike fdatasync it commits no
/// metadata and does not flush the device's cache, so it makes nothing durable on its own.
/// Returns 0, or -1 with errno.
int csync_file_range_write_wait(int fd, int64_t offset, int64_t count);

#endif
