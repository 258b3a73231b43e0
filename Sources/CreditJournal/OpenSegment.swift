// OpenSegment: the segment file the writer thread appends to, created O_EXCL and made durable.

#if canImport(Glibc)
import Glibc
#endif

/// A segment file open for appending, owned by exactly one thread at a time.
struct OpenSegment: Sendable {
    /// Full path of the file.
    let path: String

    /// LSN in the file's name.
    let firstLSN: UInt64

    /// The descriptor, or -1 once closed.
    private(set) var fd: Int32

    /// Bytes written since the last fdatasync.
    private(set) var unsyncedByteCount = 0

    /// Creates `journal-<firstLSN>.log` in `directory` (it must not exist) and fsyncs the
    /// directory, so that the file itself survives a crash before any record is acknowledged.
    static func create(directory: String, firstLSN: UInt64) throws(JournalIOError) -> OpenSegment {
        let path = POSIXFile.join(directory, SegmentName.fileName(firstLSN: firstLSN))
        let fd = try POSIXFile.createExclusive(path)
        var segment = OpenSegment(path: path, firstLSN: firstLSN, fd: fd)
        do throws(JournalIOError) {
            try POSIXFile.syncDirectory(directory)
        } catch {
            segment.abandon()
            throw error
        }
        return segment
    }

    /// Appends `bytes` (whole records) to the file; they are not durable until `sync`.
    mutating func write(_ bytes: ArraySlice<UInt8>) throws(JournalIOError) {
        precondition(fd >= 0, "write to a closed segment")
        guard !bytes.isEmpty else { return }
        try POSIXFile.writeAll(fd, bytes, path: path)
        unsyncedByteCount += bytes.count
    }

    /// fdatasyncs if anything was written since the last sync; returns whether it synced.
    mutating func syncIfNeeded() throws(JournalIOError) -> Bool {
        precondition(fd >= 0, "sync of a closed segment")
        guard unsyncedByteCount > 0 else { return false }
        try POSIXFile.dataSync(fd, path: path)
        unsyncedByteCount = 0
        return true
    }

    /// Closes the file; everything written must already be synced.
    mutating func close() throws(JournalIOError) {
        precondition(unsyncedByteCount == 0, "closing a segment with unsynced bytes")
        let descriptor = fd
        fd = -1
        try POSIXFile.close(descriptor, path: path)
    }

    /// Closes the file after a fatal error, when nothing about it matters any more.
    mutating func abandon() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)  // already failing fatally; a second error adds nothing
        fd = -1
        unsyncedByteCount = 0
    }
}
