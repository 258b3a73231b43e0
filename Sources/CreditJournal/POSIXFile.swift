// POSIXFile: the journal's only contact with the file system — thin, errno-checked syscall wrappers.

import CSyncFileRange
#if canImport(Glibc)
import Glibc
#endif

/// Errno-checked wrappers over the few system calls the journal uses. Every failure becomes a
/// `JournalIOError`; EINTR is retried; nothing is ignored.
enum POSIXFile {
    /// Permissions of journal and snapshot files: they hold the ledger, so owner-only.
    static let fileMode: mode_t = 0o600

    /// Joins a directory and a file name.
    /// The size in bytes of the file at `path`, nil if it cannot be read.
    static func size(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Creates a new file for writing at explicit offsets (`pwriteAll`); fails if it already
    /// exists (O_EXCL), so a segment is never written by two writers or reopened after recovery.
    static func createExclusive(_ path: String) throws(JournalIOError) -> Int32 {
        let flags = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC
        return try open(path, flags: flags, operation: "create")
    }

    /// Creates or truncates a file for writing (snapshot temp files).
    static func createTruncating(_ path: String) throws(JournalIOError) -> Int32 {
        try open(path, flags: O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, operation: "create")
    }

    /// Opens a file for writing from offset 0 over what it holds, keeping its blocks (a spare
    /// snapshot file); created if missing.
    static func openForOverwrite(_ path: String) throws(JournalIOError) -> Int32 {
        try open(path, flags: O_CREAT | O_WRONLY | O_CLOEXEC, operation: "open")
    }

    /// The number of names a file has (`st_nlink`), 0 if it cannot be read.
    static func linkCount(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_nlink) : 0
    }

    /// Writes every byte, looping over partial writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(JournalIOError) {
        var done = 0
        while done < bytes.count {
            let result = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw JournalIOError(operation: "write", path: path, code: errno)
            }
            // A zero-byte write of a non-empty buffer would loop forever; treat it as "no space".
            guard result > 0 else { throw JournalIOError(operation: "write", path: path, code: ENOSPC) }
            done += result
        }
    }

    /// Writes all of `bytes` at `offset` (pwrite), retrying short writes and EINTR.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(JournalIOError) {
        var done = 0
        while done < bytes.count {
            let result = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw JournalIOError(operation: "write", path: path, code: errno)
            }
            // A zero-byte write of a non-empty buffer would loop forever; treat it as "no space".
            guard result > 0 else { throw JournalIOError(operation: "write", path: path, code: ENOSPC) }
            done += result
        }
    }

    /// `pwriteAll` for an array slice.
    static func pwriteAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, at offset: Int, path: String) throws(JournalIOError) {
        let failure = bytes.withUnsafeBytes { raw -> JournalIOError? in
            do throws(JournalIOError) {
                try pwriteAll(fd, raw, at: offset, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Cuts an open file to `length` bytes (not synced: the caller syncs).
    static func truncate(_ fd: Int32, to length: Int, path: String) throws(JournalIOError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw JournalIOError(operation: "ftruncate", path: path, code: errno)
        }
    }

    /// Writes every byte of a slice, looping over partial writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(JournalIOError) {
        // withUnsafeBytes rethrows untyped errors, so the typed error is carried out as a value.
        let failure = bytes.withUnsafeBytes { raw -> JournalIOError? in
            do throws(JournalIOError) {
                try writeAll(fd, raw, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// fdatasync: the data and the size needed to read it back. EINTR is retried; any other
    /// error is returned, never retried, because after a failed sync the page cache may already
    /// have dropped the dirty pages ("fsyncgate").
    static func dataSync(_ fd: Int32, path: String) throws(JournalIOError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw JournalIOError(operation: "fdatasync", path: path, code: errno)
        }
    }

    /// fsync: data and all metadata.
    static func fullSync(_ fd: Int32, path: String) throws(JournalIOError) {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw JournalIOError(operation: "fsync", path: path, code: errno)
        }
    }

    /// fsyncs a directory so that creations, renames and deletions in it are durable.
    static func syncDirectory(_ path: String) throws(JournalIOError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, operation: "open directory")
        do throws(JournalIOError) {
            try fullSync(fd, path: path)
        } catch {
            _ = Glibc.close(fd)  // the sync error is the one worth reporting
            throw error
        }
        try close(fd, path: path)
    }

    /// Closes a descriptor, reporting errors (close can report a deferred write error).
    static func close(_ fd: Int32, path: String) throws(JournalIOError) {
        // Linux always releases the descriptor, even on EINTR, so close is never retried.
        if Glibc.close(fd) != 0 {
            throw JournalIOError(operation: "close", path: path, code: errno)
        }
    }

    /// Opens a file read-only (for `FileBytes`).
    static func openForReading(_ path: String) throws(JournalIOError) -> Int32 {
        try open(path, flags: O_RDONLY | O_CLOEXEC, operation: "open")
    }

    /// Cuts a file to `length` bytes and fsyncs it, so the cut survives a crash.
    static func truncate(_ path: String, to length: Int) throws(JournalIOError) {
        let fd = try open(path, flags: O_WRONLY | O_CLOEXEC, operation: "open")
        do throws(JournalIOError) {
            while ftruncate(fd, off_t(length)) != 0 {
                if errno == EINTR { continue }
                throw JournalIOError(operation: "ftruncate", path: path, code: errno)
            }
            try fullSync(fd, path: path)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        try close(fd, path: path)
    }

    /// Bytes `removeGradually` cuts a file by per step. 1 MiB: with the disk mounted `discard`,
    /// a step's freed blocks are discarded before the next fdatasync goes through. Removing a
    /// 300 MB file beside a loop of 128-byte fdatasyncs (the round of 2026-11-28 09:45 in
    /// BENCHMARKS.md) held one for 42–48 ms unlinked whole, up to 5 ms in 8 MiB steps and
    /// 1 ms in 1 MiB steps, the removal then taking 140 ms instead of 105.
    static let removalStepBytes = 1 << 20

    /// Deletes a large file without stalling other files' fdatasyncs (the caller fsyncs the
    /// directory). Freeing a file's blocks in one go held the request journal's fdatasyncs for
    /// up to 200 ms (a 600 MB snapshot): on the benchmark machine's ext4 (no journal, mounted
    /// `discard`) the freed blocks are discarded on the virtual disk, which holds the writes
    /// queued behind them (BENCHMARKS.md). So the name is unlinked while the file is still
    /// open (its blocks stay allocated until the last close), then the open file is cut from the
    /// end `removalStepBytes` at a time, each step's freed blocks a short discard that the
    /// fdatasyncs go through between. The name is gone at once, as with `remove`: a crash part-way leaves no
    /// half-cut file behind (the filesystem frees an unlinked file's blocks when it mounts).
    /// A file with another name left is only unlinked, never cut.
    static func removeGradually(_ path: String) throws(JournalIOError) {
        // If the file cannot be opened (no descriptor left, say), deleting it matters more than
        // how: a plain unlink.
        guard let fd = try? open(path, flags: O_WRONLY | O_CLOEXEC, operation: "open") else { return try remove(path) }
        var info = stat()
        let length = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        do throws(JournalIOError) {
            try remove(path)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        // Unlinked: what follows only decides how the blocks are freed, so errors do not matter.
        // A file another name still links to (an operator's hard-linked copy) keeps its bytes.
        guard fstat(fd, &info) == 0, info.st_nlink == 0 else {
            _ = Glibc.close(fd)
            return
        }
        cutGradually(fd, from: length, to: 0)
        _ = Glibc.close(fd)
    }

    /// Cuts an open file of `length` bytes back towards `target` from the end, `removalStepBytes`
    /// at a time (see `removeGradually`), stopping at the last step above `target` or at the
    /// first error: the caller makes the final cut, or closes an unlinked file.
    static func cutGradually(_ fd: Int32, from length: Int, to target: Int) {
        var remaining = length
        while remaining - target > removalStepBytes {
            remaining -= removalStepBytes
            guard ftruncate(fd, off_t(remaining)) == 0 else { break }
            sched_yield()  // let a waiting journal thread run between steps
        }
    }

    /// Deletes a file (the caller fsyncs the directory).
    static func remove(_ path: String) throws(JournalIOError) {
        if unlink(path) != 0 {
            throw JournalIOError(operation: "unlink", path: path, code: errno)
        }
    }

    /// Renames a file atomically (the caller fsyncs the directory).
    static func rename(_ from: String, to: String) throws(JournalIOError) {
        if Glibc.rename(from, to) != 0 {
            throw JournalIOError(operation: "rename to \(to)", path: from, code: errno)
        }
    }

    /// Renames a file if it exists: false if it does not (the caller fsyncs the directory).
    static func renameIfPresent(_ from: String, to: String) throws(JournalIOError) -> Bool {
        if Glibc.rename(from, to) == 0 { return true }
        if errno == ENOENT { return false }
        throw JournalIOError(operation: "rename to \(to)", path: from, code: errno)
    }

    /// Writes the range's dirty pages to the device and waits (`sync_file_range`): no metadata
    /// and no cache flush, so a later `dataSync` must still make them durable. It spreads a
    /// large write's I/O out without a device cache flush per piece.
    static func writeOut(_ fd: Int32, offset: Int, count: Int, path: String) throws(JournalIOError) {
        while csync_file_range_write_wait(fd, Int64(offset), Int64(count)) != 0 {
            if errno == EINTR { continue }
            throw JournalIOError(operation: "sync_file_range", path: path, code: errno)
        }
    }

    /// `writeOut`, or where `sync_file_range` is refused (a sandbox's seccomp filter, a file
    /// system without it), an fdatasync, which sends the same pages with a cache flush besides.
    /// Throws only if the fdatasync fails too: that is the error that says the data is at risk.
    static func writeOutOrSync(_ fd: Int32, offset: Int, count: Int, path: String) throws(JournalIOError) {
        do {
            try writeOut(fd, offset: offset, count: count, path: path)
        } catch {
            try dataSync(fd, path: path)
        }
    }

    /// Gives a file a second name; fails if `to` exists, so nothing is ever replaced (the
    /// caller fsyncs the directory).
    static func link(_ from: String, to: String) throws(JournalIOError) {
        if Glibc.link(from, to) != 0 {
            throw JournalIOError(operation: "link to \(to)", path: from, code: errno)
        }
    }

    /// Names of the entries in a directory, without "." and "..".
    static func listDirectory(_ path: String) throws(JournalIOError) -> [String] {
        guard let dir = opendir(path) else {
            throw JournalIOError(operation: "opendir", path: path, code: errno)
        }
        // closedir of a stream we opened can only fail with EBADF, which would be a bug here.
        defer { _ = closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw JournalIOError(operation: "readdir", path: path, code: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// open(2) with EINTR retry and mode 0600 for created files.
    private static func open(_ path: String, flags: Int32, operation: String) throws(JournalIOError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags, fileMode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw JournalIOError(operation: operation, path: path, code: errno)
        }
    }
}
