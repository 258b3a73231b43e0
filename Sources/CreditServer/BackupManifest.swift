// BackupManifest: the MANIFEST of a backup directory — what it holds, how big, and its SHA-256.

import CreditCrypto

/// The `MANIFEST` file written last into every backup directory:
///
/// ```
/// creditd-backup 1
/// lsn 1234
/// created 2026-11-26T17:01:02.123Z
/// file snapshot-00000000000000001234.bin 5678 sha256:<64 hex digits>
/// file server.secret 32 sha256:<64 hex digits>
/// ```
///
/// The first line names the format and its version; `lsn` is the journal position the backup
/// covers; one `file` line per file: name, size in bytes, SHA-256 of the content.
struct BackupManifest: Equatable {
    /// The manifest's file name inside a backup directory.
    static let fileName = "MANIFEST"
    /// The manifest format this code writes and reads.
    static let version = 1
    /// The first word of the first line.
    static let magic = "creditd-backup"
    /// Longest manifest read: far above any real one (a few files), low enough that a wrong
    /// path cannot make restore read gigabytes as text.
    static let bytesMax = 64 * 1024

    /// One file of the backup.
    struct Entry: Equatable {
        /// Plain file name (no `/`).
        let name: String
        /// Size in bytes.
        let byteCount: Int
        /// SHA-256 of the content, lower-case hex.
        let sha256: String
    }

    /// The journal position the backup covers: every record up to and including it.
    let lsn: UInt64
    /// When the backup was taken (RFC 3339), for people.
    let created: String
    /// The files, in the order written.
    let entries: [Entry]

    /// The entry for `bytes` stored as `name`.
    static func entry(name: String, bytes: [UInt8]) -> Entry {
        Entry(name: name, byteCount: bytes.count, sha256: hex(HMACSHA256.sha256(bytes)))
    }

    /// The manifest as text.
    var text: String {
        var lines = ["\(Self.magic) \(Self.version)", "lsn \(lsn)", "created \(created)"]
        lines += entries.map { "file \($0.name) \($0.byteCount) sha256:\($0.sha256)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses a manifest; `path` names it in errors.
    static func parse(_ text: String, path: String) throws(ServerError) -> BackupManifest {
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard let first = lines.first, first.count == 2, first[0] == magic else {
            throw ServerError("\(path) is not a creditd backup manifest")
        }
        guard Int(first[1]) == version else {
            throw ServerError("\(path): backup format version \(first[1]) is not supported (this creditd reads version \(version))")
        }
        var lsn: UInt64?
        var created = ""
        var entries: [Entry] = []
        for (index, words) in lines.enumerated().dropFirst() {
            switch (words.first, words.count) {
            case ("lsn", 2): lsn = UInt64(words[1])
            case ("created", 2): created = words[1]
            case ("file", 4):
                guard isPlainName(words[1]), let size = Int(words[2]), size >= 0, words[3].hasPrefix("sha256:"),
                      words[3].count == 7 + 64 else {
                    throw ServerError("\(path) line \(index + 1): malformed file line")
                }
                entries.append(Entry(name: words[1], byteCount: size, sha256: String(words[3].dropFirst(7))))
            default: throw ServerError("\(path) line \(index + 1): unknown line")
            }
        }
        guard let lsn else { throw ServerError("\(path): no lsn line") }
        return BackupManifest(lsn: lsn, created: created, entries: entries)
    }

    /// Lower-case hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `name` is a plain file name: restore must never write outside its target.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && name != fileName
    }
}
