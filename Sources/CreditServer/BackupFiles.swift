// BackupFiles: copying a file durably and the small POSIX steps a backup or a restore needs.

import Glibc

/// File operations for BACKUP and `creditd restore`: every copy is fsync'd and so is the
/// directory it lands in, because a backup that a power cut can half-write is no backup.
enum BackupFiles {
    /// Reads the whole file at `path`.
    static func read(_ path: String) throws(ServerError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError("cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ServerError("cannot read \(path): \(errnoText())") }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    /// Creates `path` (it must not exist) with `mode`, writes `bytes` and fsyncs it.
    static func writeNew(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(ServerError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ServerError("cannot create \(path): \(errnoText())") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let text = errnoText()
                close(fd)
                throw ServerError("cannot write \(path): \(text)")
            }
            offset += written
        }
        guard fsync(fd) == 0 else {
            let text = errnoText()
            close(fd)
            throw ServerError("cannot fsync \(path): \(text)")
        }
        guard close(fd) == 0 else { throw ServerError("cannot close \(path): \(errnoText())") }
    }

    /// fsyncs a directory, so the names created in it survive a crash.
    static func syncDirectory(_ path: String) throws(ServerError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError("cannot open directory \(path): \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ServerError("cannot fsync directory \(path): \(errnoText())") }
    }

    /// Creates the directory `path` with mode 0700; an existing directory is fine when `mayExist`.
    static func makeDirectory(_ path: String, mayExist: Bool) throws(ServerError) {
        if mkdir(path, 0o700) == 0 || (mayExist && errno == EEXIST) { return }
        throw ServerError("cannot create directory \(path): \(errnoText())")
    }

    /// The names in a directory (without `.` and `..`), nil if it does not exist.
    static func list(_ path: String) throws(ServerError) -> [String]? {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return nil }
            throw ServerError("cannot list \(path): \(errnoText())")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Renames `from` to `to` (same file system).
    static func rename(_ from: String, to: String) throws(ServerError) {
        guard Glibc.rename(from, to) == 0 else { throw ServerError("cannot rename \(from) to \(to): \(errnoText())") }
    }
}
