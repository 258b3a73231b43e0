// JournalIOError: a failed system call on a journal or snapshot file, with its errno.

#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed on a journal file. For the journal there is no retry: a failed
/// write or fsync leaves the file in an unknown state, so the server treats this as fatal.
public struct JournalIOError: Error, CustomStringConvertible, Sendable {
    /// The call that failed, e.g. "fdatasync".
    public let operation: String

    /// The file or directory it was applied to.
    public let path: String

    /// The errno it returned.
    public let code: Int32

    /// Makes an error for `operation` on `path` that failed with `code`.
    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// A log line such as "fdatasync /data/journal-….log: Input/output error (errno 5)".
    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
    }
}
