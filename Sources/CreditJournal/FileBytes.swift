// FileBytes: a whole file's bytes, mapped read-only into memory or read into memory of its own.

import Glibc

/// A whole file's bytes for recovery to scan: journal segments and snapshots, up to gigabytes.
///
/// Mapped (`.mapped`), the bytes are the kernel's page cache pages of the file: nothing is
/// copied, and no fresh memory is faulted in and zeroed for them. Reading a 1 GB snapshot into an
/// array cost about a third of a start from it, and its gigabyte stayed resident while the
/// ledger was built. A mapping must not outlive changes to the file: a page cut off by a
/// truncation would fault with SIGBUS. So only the daemon maps, while it holds the data
/// directory's lock (nothing else writes there then) and before it writes anything itself.
/// `creditd verify`, which may run beside a live daemon, reads (`.read`): its copy cannot fault.
/// The one thing mapping gives up: a disk error under a mapped page stops start-up with SIGBUS
/// instead of an error naming the file (start-up stops either way, and nothing is written).
///
/// The bytes are valid while the object lives; `withUnsafeBytes` keeps it alive for the call.
public final class FileBytes: @unchecked Sendable {
    /// How the bytes get into memory.
    public enum Access: Sendable {
        /// mmap(2), read-only and private; falls back to `.read` where the file system cannot map.
        case mapped
        /// read(2) into memory allocated for them.
        case read
    }

    /// The file's bytes, as long as it was when opened (or, read, up to where a cut made while
    /// reading left it). Valid while this object lives: use them inside `withUnsafeBytes`, since
    /// Swift may release an object right after its last use.
    public let bytes: UnsafeRawBufferPointer
    /// True when `bytes` is a mapping (unmapped on deinit), false when allocated (deallocated).
    private let isMapped: Bool

    /// The bytes of the file at `path`.
    public init(path: String, access: Access) throws(JournalIOError) {
        let fd = try POSIXFile.openForReading(path)
        defer { _ = Glibc.close(fd) }  // a read-only descriptor: close cannot lose data
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JournalIOError(operation: "fstat", path: path, code: errno) }
        let size = max(Int(info.st_size), 0)
        if size == 0 {
            (bytes, isMapped) = (UnsafeRawBufferPointer(start: nil, count: 0), false)
            return
        }
        if access == .mapped, let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED {
            // Recovery reads front to back once: ask for large read-ahead.
            _ = madvise(address, size, MADV_SEQUENTIAL)
            (bytes, isMapped) = (UnsafeRawBufferPointer(start: address, count: size), true)
            return
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        var filled = 0
        while filled < size {
            let result = Glibc.read(fd, memory + filled, size - filled)
            if result < 0 && errno == EINTR { continue }
            if result < 0 {
                let code = errno
                memory.deallocate()
                throw JournalIOError(operation: "read", path: path, code: code)
            }
            if result == 0 { break }  // the file was cut after fstat (a live daemon's doing): what is left
            filled += result
        }
        (bytes, isMapped) = (UnsafeRawBufferPointer(start: memory, count: filled), false)
    }

    /// Calls `body` with the bytes, keeping them alive for the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(bytes) }
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            _ = munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}
