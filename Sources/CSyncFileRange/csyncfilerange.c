// csyncfilerange: see include/csyncfilerange.h.
#define _GNU_SOURCE
#include <fcntl.h>
#include "csyncfilerange.h"

int csync_file_range_write_wait(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, (off_t)offset, (off_t)count,
                           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
}
