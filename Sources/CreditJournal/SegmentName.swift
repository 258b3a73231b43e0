// SegmentName: journal segment file names (journal-<first LSN, 20 digits>.log) and listing them.

/// Names of journal segment files: `journal-<first LSN as 20 zero-padded digits>.log`, so that
/// lexical order is LSN order and the name alone says where the segment's records begin.
public enum SegmentName {
    /// Digits in the LSN part of a name: enough for any UInt64.
    public static let lsnDigitCount = 20

    /// File name prefix.
    public static let prefix = "journal-"

    /// File name suffix.
    public static let suffix = ".log"

    /// The file name of the segment whose first record has `firstLSN`.
    public static func fileName(firstLSN: UInt64) -> String {
        prefix + zeroPadded(firstLSN) + suffix
    }

    /// The first LSN encoded in a segment file name, or nil if the name is not a segment's.
    public static func firstLSN(fileName: String) -> UInt64? {
        lsn(in: fileName, prefix: prefix, suffix: suffix)
    }

    /// Formats an LSN as 20 zero-padded decimal digits.
    static func zeroPadded(_ lsn: UInt64) -> String {
        let digits = String(lsn)
        return String(repeating: "0", count: lsnDigitCount - digits.count) + digits
    }

    /// Parses `<prefix><20 digits><suffix>`, accepting only LSNs of at least `minimum`.
    static func lsn(in fileName: String, prefix: String, suffix: String, minimum: UInt64 = 1) -> UInt64? {
        guard fileName.hasPrefix(prefix), fileName.hasSuffix(suffix) else { return nil }
        let digits = fileName.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count == lsnDigitCount, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        guard let value = UInt64(digits), value >= minimum else { return nil }
        return value
    }
}

/// A segment file found on disk.
struct SegmentFile: Sendable {
    /// LSN in the file name: the LSN its first record must carry.
    let firstLSN: UInt64
    /// Full path.
    let path: String

    /// The segments in `directory`, in LSN order; other files are ignored.
    static func list(directory: String) throws(JournalIOError) -> [SegmentFile] {
        let names = try POSIXFile.listDirectory(directory)
        let segments = names.compactMap { name -> SegmentFile? in
            guard let lsn = SegmentName.firstLSN(fileName: name) else { return nil }
            return SegmentFile(firstLSN: lsn, path: POSIXFile.join(directory, name))
        }
        return segments.sorted { $0.firstLSN < $1.firstLSN }
    }
}
