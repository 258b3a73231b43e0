// PageMapping: memory made ahead with every page written, so that the thread filling it later
// takes none of its page faults.

/// Writes a zero byte every 4 KiB of `memory`, from its start: the kernel maps each page on its
/// first write, and on this project's VM a fresh page costs microseconds (BENCHMARKS.md). 4 KiB
/// is the smallest page size, so every page is written whatever its size. `memory` must be
/// uninitialized or hold bytes for which a zero changes nothing the caller relies on (as
/// calloc's zeros).
func mapPages(_ memory: UnsafeMutableRawBufferPointer) {
    for offset in stride(from: 0, to: memory.count, by: 4096) { memory.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self) }
}
