// SecretFile: the POSIX calls behind the server secret file, each turned into a thrown error.

import Glibc

/// Thin wrappers over open/read/write/fsync that report failures as `CryptoError.secretFileIO`.
enum SecretFile {
    /// Opens an existing file for reading; nil if it does not exist.
    static func openExisting(_ path: String) throws -> Int32? {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        if fd >= 0 { return fd }
        if errno == ENOENT { return nil }
        throw failure(path, "open")
    }

    /// Creates a new file readable and writable by its owner only; nil if it already exists.
    static func createExclusive(_ path: String) throws -> Int32? {
        let fd = retryingOnInterrupt { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) }
        if fd >= 0 { return fd }
        if errno == EEXIST { return nil }
        throw failure(path, "create")
    }

    /// The `st_mode` of an open file.
    static func mode(_ fd: Int32, path: String) throws -> mode_t {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path, "fstat") }
        return info.st_mode
    }

    /// Reads until end of file, but at most `byteCountMax` bytes.
    static func read(_ fd: Int32, path: String, byteCountMax: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCountMax)
        var filled = 0
        while filled < byteCountMax {
            let got = out.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { Glibc.read(fd, buffer.baseAddress! + filled, byteCountMax - filled) }
            }
            guard got >= 0 else { throw failure(path, "read") }
            if got == 0 { break }
            filled += got
        }
        return Array(out[..<filled])
    }

    /// Writes all of `bytes`, retrying short writes.
    static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var written = 0
        while written < bytes.count {
            let put = bytes.withUnsafeBytes { buffer in
                retryingOnInterrupt { Glibc.write(fd, buffer.baseAddress! + written, bytes.count - written) }
            }
            guard put > 0 else { throw failure(path, "write") }
            written += put
        }
    }

    /// Flushes an open file to stable storage.
    static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw failure(path, "fsync") }
    }

    /// Flushes the directory holding `path`, so a newly created entry survives a crash.
    static func syncDirectory(of path: String) throws {
        let directory = directoryName(path)
        let fd = retryingOnInterrupt { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw failure(path, "open directory \(directory)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(path, "fsync directory \(directory)") }
    }

    /// The directory part of `path`: "." for a bare name, "/" for a file in the root.
    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func failure(_ path: String, _ operation: String) -> CryptoError {
        .secretFileIO(path: path, operation: operation, errno: errno)
    }

    private static func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}
