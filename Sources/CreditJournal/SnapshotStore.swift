// SnapshotStore: writes a snapshot atomically (temp, fsync, rename, fsync dir) and loads the newest.

#if canImport(Glibc)
import Glibc
#endif

/// Snapshots of the ledger, one file per snapshot: `snapshot-<lsn, 20 digits>.bin`, holding the
/// state after applying every journal record up to and including `lsn`.
///
/// ```
/// offset  size  field
///      0     8  magic "CRSNAP01"
///      8     8  lsn          u64 LE (equals the LSN in the file name)
///     16     8  body length  u64 LE (equals file size - 28)
///     24     4  body CRC32C  u32 LE
///     28     n  body
/// ```
public enum SnapshotStore {
    /// First eight bytes of every snapshot; the trailing digits version the format.
    public static let magic: [UInt8] = Array("CRSNAP01".utf8)

    /// Bytes before the body.
    public static let headerByteCount = 28

    /// File name prefix.
    static let prefix = "snapshot-"

    /// File name suffix.
    static let suffix = ".bin"

    /// Suffix of a snapshot still being written; such a file is never read.
    static let tempSuffix = ".tmp"

    /// The file name of the snapshot at `lsn`.
    public static func fileName(lsn: UInt64) -> String {
        prefix + SegmentName.zeroPadded(lsn) + suffix
    }

    /// The snapshot file a newer one replaced, kept for its disk blocks: the next snapshot is
    /// written over it (renamed to the temp name first) rather than into a new file. Never read.
    ///
    /// Deleting a large file frees its blocks, and on a file system mounted with `discard` (as
    /// this project's benchmark machine's is) the freed blocks go to the virtual disk as discards,
    /// after which the disk held every write, the journal's fdatasyncs among them, for tens of
    /// milliseconds and once for 190 ms; writing over blocks already allocated never did
    /// (BENCHMARKS.md). So the disk keeps two snapshots' worth of blocks instead of needing them
    /// for a moment at each snapshot. A file with other hard links (an operator's copy) is never
    /// made or used as the spare: writing over it would change the copy. Only its name is removed.
    public static let spareFileName = "snapshot-spare.tmp"

    /// Writes the snapshot at `lsn` durably: to a temp file, fsync, rename into place, fsync the
    /// directory; then retires older snapshots and deletes leftover temp files. The temp file is
    /// the spare (`spareFileName`) renamed when there is one, written over and cut to length.
    ///
    /// Call only with state whose records are durable in the journal (`durableLSN >= lsn`), and
    /// from one thread at a time. Treat any error as fatal: after a failed fsync or rename the
    /// state of the directory is unknown (the previous snapshot is never deleted before the new
    /// one is durable, so a restart recovers from one or the other).
    public static func write(directory: String, lsn: UInt64, body: [UInt8]) throws {
        try write(directory: directory, lsn: lsn) { emit in
            var start = 0
            while start < body.count {  // in chunks, as an encoder's pieces come, each written out in turn
                let end = min(start + writeChunkBytes, body.count)
                try body[start..<end].withUnsafeBytes { try emit($0) }
                start = end
            }
        }
    }

    /// Writes the snapshot at `lsn` as `write(directory:lsn:body:)` does, the body coming from
    /// `encodeBody` a piece at a time (`SnapshotCodec.encode(_:pieceBytes:emit:)`): it calls its
    /// argument with each piece in order. The whole body is never in memory.
    public static func write(directory: String, lsn: UInt64,
                             encodeBody: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let finalPath = POSIXFile.join(directory, fileName(lsn: lsn))
        let tempPath = finalPath + tempSuffix
        let sparePath = POSIXFile.join(directory, spareFileName)
        var reusing = try POSIXFile.renameIfPresent(sparePath, to: tempPath)
        if reusing && POSIXFile.linkCount(tempPath) != 1 {
            // Another name links to it (an operator's `cp -al` of the directory): not ours to
            // write over. Dropping this name frees nothing.
            try POSIXFile.remove(tempPath)
            reusing = false
        }
        try writeSynced(tempPath, lsn: lsn, overwriting: reusing, encodeBody)
        // A snapshot at the newest one's LSN (BACKUP twice with no change between) replaces that
        // file by name: given the spare's name first, it is kept rather than freed at once. A
        // crash between the link and the rename leaves the spare sharing the newest snapshot's
        // file, which the link check above then leaves alone. If the link fails, it is freed.
        if POSIXFile.linkCount(finalPath) == 1 && POSIXFile.linkCount(sparePath) == 0 {
            try? POSIXFile.link(finalPath, to: sparePath)
        }
        try POSIXFile.rename(tempPath, to: finalPath)
        try POSIXFile.syncDirectory(directory)
        try removeStale(directory: directory, olderThan: lsn)
    }

    /// Loads the newest snapshot, or nil if there is none. Leftover temp files are deleted (a
    /// spare is kept) unless `removingLeftovers` is false: with it true, call this at startup,
    /// never while a snapshot is being written. `creditd verify`, which changes nothing, passes false.
    /// A damaged newest snapshot throws `JournalCorruption` naming it: falling back to an older
    /// one would silently lose the records between the two whose segments were already deleted.
    /// The file is mapped or read whole (`access`, see `FileBytes`) and decoded where it lies.
    public static func loadLatest(directory: String, access: FileBytes.Access = .mapped,
                                  removingLeftovers: Bool = true) throws -> LoadedSnapshot? {
        if removingLeftovers { try removeStale(directory: directory, olderThan: nil) }
        let names = try POSIXFile.listDirectory(directory)
        guard let lsn = names.compactMap(snapshotLSN(fileName:)).max() else { return nil }
        let path = POSIXFile.join(directory, fileName(lsn: lsn))
        let file = try FileBytes(path: path, access: access)
        try file.withUnsafeBytes { try validate($0, lsn: lsn, path: path) }
        return LoadedSnapshot(lsn: lsn, file: file)
    }

    /// The LSN in a snapshot file name, or nil if the name is not a finished snapshot's.
    /// LSN 0 is allowed: the snapshot of a ledger no record has changed yet.
    static func snapshotLSN(fileName: String) -> UInt64? {
        SegmentName.lsn(in: fileName, prefix: prefix, suffix: suffix, minimum: 0)
    }

    /// Bytes a snapshot is written in, each written out to the device before the next. Left to
    /// the kernel, hundreds of MB of dirty snapshot pages go to the disk in large bursts, and the
    /// journal's fdatasyncs (which every reply waits for) queue behind them; a chunk at a time
    /// keeps at most this much ahead of them. Also the size of the pieces to encode a body in.
    /// 128 KiB: at 2,000 HOLD/s during 1M-credit snapshots, requests' p99 was 1.8–2.7 ms against
    /// 3.5–5.0 ms with 1 MiB chunks, and the worst 6.0–8.4 ms against 8.2–51.5 ms; a snapshot
    /// took 5.0–6.1 s against 3.4–4.9 s. 64 KiB was a little better again (p99 1.4–1.9 ms, worst
    /// 5.4–6.9 ms) but took 6.2–7.4 s (BENCHMARKS.md).
    ///
    /// Each chunk goes out with `sync_file_range` rather than fdatasync (since ad24621; the
    /// figures above are from fdatasync per chunk), as the journal's spare segments do: no device
    /// cache flush and no metadata commit per chunk, so a journal fdatasync never waits behind
    /// one of the snapshot's; the one full fsync at the end makes the file durable before it is
    /// renamed into place. Where `sync_file_range` is refused, the chunk is fdatasync'd as
    /// before. At 2,000 HOLD/s during two 1M-credit snapshots, 12 alternating pairs: p99 median
    /// 2.75 ms against 2.93, worst request over 10 ms in 2 runs against 7, a snapshot 9.2 s
    /// against 10.0 s (BENCHMARKS.md).
    public static let writeChunkBytes = 128 << 10

    /// Creates `path` (or opens it, `overwriting` a spare renamed to it), writes the body's
    /// pieces (writing them out to the device whenever a chunk's worth has not been) after room
    /// for the header, then the header, whose length and checksum are known only at the end;
    /// cuts what is left of an overwritten file beyond the body, fsyncs and closes it.
    private static func writeSynced(_ path: String, lsn: UInt64, overwriting: Bool,
                                    _ encodeBody: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let fd = try overwriting ? POSIXFile.openForOverwrite(path) : POSIXFile.createTruncating(path)
        do {
            try POSIXFile.writeAll(fd, [UInt8](repeating: 0, count: headerByteCount)[...], path: path)
            var length: UInt64 = 0
            var checksum: UInt32 = 0
            var writtenOut = 0  // file bytes before this offset are on their way to the device
            try encodeBody { piece in
                try POSIXFile.writeAll(fd, piece, path: path)
                checksum = CRC32C.checksum(piece, seed: checksum)
                length += UInt64(piece.count)
                let end = headerByteCount + Int(length)
                if end - writtenOut >= writeChunkBytes {
                    try POSIXFile.writeOutOrSync(fd, offset: writtenOut, count: end - writtenOut, path: path)
                    writtenOut = end
                }
            }
            var header = ByteWriter(capacity: headerByteCount)
            header.raw(magic)
            header.u64(lsn)
            header.u64(length)
            header.u32(checksum)
            precondition(header.count == headerByteCount, "snapshot header layout")
            try POSIXFile.pwriteAll(fd, header.buffer[...], at: 0, path: path)
            if overwriting {
                // A smaller snapshot over a larger spare: the tail's blocks are freed in steps, as
                // a deleted file's are (`POSIXFile.removeGradually`).
                let end = headerByteCount + Int(length)
                var info = stat()
                if fstat(fd, &info) == 0 { POSIXFile.cutGradually(fd, from: Int(info.st_size), to: end) }
                try POSIXFile.truncate(fd, to: end, path: path)
            }
            try POSIXFile.fullSync(fd, path: path)
        } catch {
            _ = Glibc.close(fd)  // the write, sync or encoding error is the one worth reporting
            _ = Glibc.unlink(path)  // best effort: start-up deletes a leftover temp file anyway
            throw error
        }
        try POSIXFile.close(fd, path: path)
    }

    /// Retires snapshots older than `lsn` (if given) and deletes all temp files, then fsyncs the
    /// directory if anything changed. When there is no spare, the newest older snapshot whose
    /// file no other name links to becomes it; the others are deleted.
    private static func removeStale(directory: String, olderThan lsn: UInt64?) throws(JournalIOError) {
        let names = try POSIXFile.listDirectory(directory)
        var hasSpare = names.contains(spareFileName)
        var changed = 0
        let older = lsn.map { lsn in names.compactMap(snapshotLSN(fileName:)).filter { $0 < lsn }.sorted(by: >) } ?? []
        for olderLSN in older {
            let path = POSIXFile.join(directory, fileName(lsn: olderLSN))
            if !hasSpare && POSIXFile.linkCount(path) == 1 {
                try POSIXFile.rename(path, to: POSIXFile.join(directory, spareFileName))
                hasSpare = true
            } else {
                try POSIXFile.removeGradually(path)
            }
            changed += 1
        }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(suffix + tempSuffix) {
            try POSIXFile.removeGradually(POSIXFile.join(directory, name))
            changed += 1
        }
        if changed > 0 { try POSIXFile.syncDirectory(directory) }
    }

    /// Checks the header and body checksum of a snapshot file read from `path`.
    private static func validate(_ bytes: UnsafeRawBufferPointer, lsn: UInt64, path: String) throws(JournalCorruption) {
        func corrupt(_ offset: Int, _ reason: String) -> JournalCorruption {
            JournalCorruption(file: path, offset: offset, reason: reason, kind: .snapshot)
        }
        guard bytes.count >= headerByteCount else {
            throw corrupt(0, "file of \(bytes.count) bytes is shorter than the \(headerByteCount)-byte header")
        }
        guard bytes[0..<magic.count].elementsEqual(magic) else {
            // "CRSNAP" and two other digits: a snapshot format this build does not know (a newer
            // creditd wrote it), which is not damage and must not be reported as such.
            let family = magic[0..<(magic.count - 2)]
            let digits = bytes[(magic.count - 2)..<magic.count]
            if bytes[0..<family.count].elementsEqual(family), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                throw JournalCorruption(file: path, offset: 0, kind: .snapshot, unsupportedVersion: String(decoding: digits, as: UTF8.self),
                                        supported: String(decoding: magic.suffix(2), as: UTF8.self))
            }
            throw corrupt(0, "bad magic")
        }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[magic.count..<headerByteCount]))
        // The slice holds exactly these three fields, so the reads cannot fail.
        guard let storedLSN = try? reader.u64(), let bodyLength = try? reader.u64(), let bodyCRC = try? reader.u32() else {
            preconditionFailure("snapshot header fields fit the checked length")
        }
        guard storedLSN == lsn else { throw corrupt(8, "header says LSN \(storedLSN), file name says \(lsn)") }
        guard bodyLength == UInt64(bytes.count - headerByteCount) else {
            throw corrupt(16, "header says body of \(bodyLength) bytes, file holds \(bytes.count - headerByteCount)")
        }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerByteCount...])) == bodyCRC else {
            throw corrupt(headerByteCount, "body checksum mismatch")
        }
    }
}

/// A snapshot file `SnapshotStore.loadLatest` found and checked.
public struct LoadedSnapshot: Sendable {
    /// The LSN it covers.
    public let lsn: UInt64
    /// The whole file, header included.
    let file: FileBytes

    /// Calls `body` with the snapshot's body (the bytes after the header), valid only during the call.
    public func withBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[SnapshotStore.headerByteCount...])) }
    }

    /// The body copied into an array (for tests and tools; recovery decodes it in place).
    public var bodyBytes: [UInt8] { withBody { Array($0) } }
}
