// PageMapping: memory made ahead with every page written, so that the thread filling it later
// takes none of its page faults.

import CPrefetch

/// Has the kernel map every page of `memory` now (`creditd_map_pages`: a zero byte written at its
/// start and at each 4 KiB boundary in it): the kernel maps a page on its first write, and on
/// this project's VM a fresh page costs microseconds (BENCHMARKS.md). `memory` must be
/// uninitialized, or hold zeros at those bytes (as calloc's memory does).
func mapPages(_ memory: UnsafeMutableRawBufferPointer) {
    guard let start = memory.baseAddress else { return }
    creditd_map_pages(start, memory.count)
}
