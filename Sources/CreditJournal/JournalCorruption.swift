// JournalCorruption: a journal segment or snapshot whose content cannot be trusted, and where.

/// Damage that recovery must not repair by guessing: a bad checksum before the tail, an LSN out
/// of sequence, a missing segment, a torn record in a segment that is not the last, or a damaged
/// snapshot. The server refuses to start; an operator has to look at the named file.
public struct JournalCorruption: Error, CustomStringConvertible, Sendable {
    /// What kind of file is damaged.
    public enum Kind: Sendable {
        /// A journal segment (`journal-<lsn>.log`).
        case journalSegment
        /// A snapshot (`snapshot-<lsn>.bin`).
        case snapshot
    }

    /// Path of the damaged file.
    public let file: String

    /// Byte offset of the damaged record (for a snapshot: of the damaged field).
    public let offset: Int

    /// What is wrong, e.g. "payload checksum mismatch".
    public let reason: String

    /// Whether the file is a journal segment or a snapshot.
    public let kind: Kind

    /// Whether the file is intact but in a format version this build cannot read.
    public let isUnsupportedVersion: Bool

    /// Makes a corruption report for `file` at `offset`.
    public init(file: String, offset: Int, reason: String, kind: Kind = .journalSegment) {
        self.file = file
        self.offset = offset
        self.reason = reason
        self.kind = kind
        self.isUnsupportedVersion = false
    }

    /// A file in a format version this build cannot read (written by a newer creditd): not
    /// damage, but start-up must stop just the same.
    public init(file: String, offset: Int, kind: Kind, unsupportedVersion: String, supported: String) {
        self.file = file
        self.offset = offset
        self.kind = kind
        self.reason = "format version \(unsupportedVersion) is not supported by this creditd (it reads version \(supported)); "
            + "run the creditd that wrote it, or a newer one"
        self.isUnsupportedVersion = true
    }

    /// A log line naming the file and the offset, e.g.
    /// "…/journal-00000000000000000001.log: corrupt record at offset 4096: payload checksum mismatch".
    public var description: String {
        let what = kind == .journalSegment ? "record" : "snapshot"
        if isUnsupportedVersion { return "\(file): \(what) \(reason)" }
        return "\(file): corrupt \(what) at offset \(offset): \(reason)"
    }
}
