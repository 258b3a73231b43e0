// OpenSegment: the segment file the writer thread writes to, zero-filled ahead and made durable.

#if canImport(Glibc)
import Glibc
#endif

/// A segment file open for writing, owned by exactly one thread at a time.
///
/// Records are written with `pwrite` into space that was zero-filled (and synced) ahead of them.
/// Appending to the end of a file changes its size, and then every `fdatasync` must also commit
/// that size through the file system's journal; overwriting space the file already has makes
/// `fdatasync` flush only the data. On this project's ext4 test disk that was 80 µs instead of
/// 125 µs per sync (BENCHMARKS.md). Recovery reads trailing zeros as "never written", and
/// `close` cuts them off, so only the segment being written can ever end in zero fill.
struct OpenSegment: Sendable {
    /// Bytes zero-filled at a time. 1 MiB is a few thousand records, so the size changes (and
    /// the extra file-system commit) are rare, and one fill (~2 ms here) stalls little.
    static let preallocationChunkBytes = 1 << 20

    /// One chunk of zeros, shared by every fill.
    private static let zeroChunk = [UInt8](repeating: 0, count: preallocationChunkBytes)

    /// Full path of the file.
    let path: String

    /// LSN in the file's name.
    let firstLSN: UInt64

    /// The descriptor, or -1 once closed.
    private(set) var fd: Int32

    /// Bytes written since the last fdatasync.
    private(set) var unsyncedByteCount = 0

    /// Where the next record goes: the end of the records written so far.
    private(set) var writeOffset = 0

    /// End of the zero-filled space (at least `writeOffset`).
    private(set) var preallocatedEnd = 0

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

    /// What `adopt` did with a spare.
    enum Adoption {
        /// The spare is the segment now.
        case adopted(OpenSegment)
        /// The file system refused the link (no hard links there, say); nothing changed on disk
        /// but the spare's deletion, and the caller creates the segment instead.
        case refused(JournalIOError)
    }

    /// Makes `spare` the segment `journal-<firstLSN>.log` in `directory` (the name must not
    /// exist: `link` refuses to replace it), drops the spare's temporary name and fsyncs the
    /// directory. Its zero fill is already synced, so records go into filled space from the
    /// start. Takes over the spare's descriptor: closes it (and deletes the spare) if the link
    /// is refused, and closes it if a later step throws.
    static func adopt(_ spare: SpareFile, from sparePath: String, directory: String, firstLSN: UInt64) throws(JournalIOError) -> Adoption {
        let path = POSIXFile.join(directory, SegmentName.fileName(firstLSN: firstLSN))
        var segment = OpenSegment(path: path, firstLSN: firstLSN, fd: spare.fd)
        segment.preallocatedEnd = spare.byteCount
        do throws(JournalIOError) {
            try POSIXFile.link(sparePath, to: path)
        } catch {
            segment.abandon()
            _ = unlink(sparePath)  // best effort: the next start deletes a leftover spare anyway
            return .refused(error)
        }
        do throws(JournalIOError) {
            try POSIXFile.remove(sparePath)
            try POSIXFile.syncDirectory(directory)
        } catch {
            segment.abandon()
            throw error
        }
        return .adopted(segment)
    }

    private init(path: String, firstLSN: UInt64, fd: Int32) {
        self.path = path
        self.firstLSN = firstLSN
        self.fd = fd
    }

    /// Whether `byteCount` more bytes fit in the space already filled.
    func hasFilledRoom(for byteCount: Int) -> Bool {
        writeOffset + byteCount <= preallocatedEnd
    }

    /// Whether less than half a chunk of filled space is left (when `fillAheadIfLow` fills).
    var isLowOnFilledSpace: Bool {
        preallocatedEnd - writeOffset < Self.preallocationChunkBytes / 2
    }

    /// Writes `bytes` (whole records) after the records already written; they are not durable
    /// until `sync`. Zero-fills more space first if the records would not fit.
    mutating func write(_ bytes: ArraySlice<UInt8>) throws(JournalIOError) {
        precondition(fd >= 0, "write to a closed segment")
        guard !bytes.isEmpty else { return }
        while preallocatedEnd < writeOffset + bytes.count { try fillChunk() }
        try POSIXFile.pwriteAll(fd, bytes, at: writeOffset, path: path)
        writeOffset += bytes.count
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

    /// Zero-fills the next chunk and syncs it if less than half a chunk of filled space is
    /// left, so the fill happens while no batch waits. Returns whether it synced.
    mutating func fillAheadIfLow() throws(JournalIOError) -> Bool {
        precondition(fd >= 0 && unsyncedByteCount == 0, "fill ahead only between synced batches")
        guard isLowOnFilledSpace else { return false }
        try fillChunk()
        return try syncIfNeeded()
    }

    /// Closes the file, first cutting off the zero fill past the records (and syncing the cut),
    /// so a segment that is no longer written ends exactly after its last record. Everything
    /// written must already be synced.
    mutating func close() throws(JournalIOError) {
        precondition(unsyncedByteCount == 0, "closing a segment with unsynced bytes")
        if preallocatedEnd > writeOffset {
            try POSIXFile.truncate(fd, to: writeOffset, path: path)
            try POSIXFile.fullSync(fd, path: path)
            preallocatedEnd = writeOffset
        }
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

    /// Writes one chunk of zeros at the end of the filled space (counted as unsynced, so the
    /// next sync makes the new size durable too).
    private mutating func fillChunk() throws(JournalIOError) {
        try POSIXFile.pwriteAll(fd, Self.zeroChunk[...], at: preallocatedEnd, path: path)
        preallocatedEnd += Self.preallocationChunkBytes
        unsyncedByteCount += Self.preallocationChunkBytes
    }
}
