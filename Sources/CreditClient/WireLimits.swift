// The protocol's size limits that a client must respect, and the client's own bounds on replies.

/// Sizes from PROTOCOL.md §3 that every request the client writes stays within, plus the bounds
/// the client puts on what it will read back (so a broken or hostile peer cannot exhaust memory).
public enum WireLimits {
    /// Longest request line in bytes, counting the LF the client appends (PROTOCOL.md §3).
    /// A longer line would get an untagged `ERR LINE_TOO_LONG`, breaking tag matching.
    public static let requestLineBytesMax = 1024

    /// Most tokens on one request line, counting the tag and the verb (PROTOCOL.md §3).
    public static let requestTokensMax = 32

    /// Longest argument value in bytes, before quoting (PROTOCOL.md §3).
    public static let valueBytesMax = 256

    /// Longest argument key in bytes (PROTOCOL.md §3).
    public static let keyBytesMax = 32

    /// Longest request tag in bytes, without the `#` (PROTOCOL.md §3).
    public static let tagBytesMax = 32

    /// Longest reply line the client accepts, in bytes without the LF.
    ///
    /// Why 64 KiB: a v1 reply line is at most a few hundred bytes (32 fields of quoted 256-byte
    /// values would be about 17 KiB); this leaves room for future fields while bounding the
    /// buffer a peer that never sends an LF can make the client hold.
    public static let replyLineBytesMax = 65_536

    /// Most item lines the client accepts in one reply.
    ///
    /// Why 100 000: `HISTORY` returns at most 1000 items; a hundred times that allows for future
    /// listing verbs while bounding memory if a peer streams items forever.
    public static let replyItemsMax = 100_000
}

/// Byte classes of the line protocol (PROTOCOL.md §3, §4), ASCII only.
enum WireByte {
    static let lineFeed: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let asterisk: UInt8 = 0x2A
    static let equals: UInt8 = 0x3D
    static let backslash: UInt8 = 0x5C

    /// True for 0x20 (space) through 0x7E (`~`): the only bytes a line may contain.
    static func isPrintable(_ byte: UInt8) -> Bool { byte >= 0x20 && byte <= 0x7E }

    /// True for `a`...`z`.
    static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }

    /// True for `A`...`Z` and `a`...`z`.
    static func isLetter(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || (byte >= 0x41 && byte <= 0x5A) }

    /// True for `0`...`9`.
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// True for the bytes of a tag: `[A-Za-z0-9_-]`.
    static func isTagByte(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) || byte == 0x5F || byte == 0x2D }

    /// True for the bytes of a key: `[a-z0-9_]`.
    static func isKeyByte(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || isDigit(byte) || byte == 0x5F }

    /// True for the bytes of an error code: `[A-Z0-9_]`.
    static func isCodeByte(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || isDigit(byte) || byte == 0x5F }

    /// True for bytes a value may carry unquoted. The server quotes exactly the complement
    /// (space, `"`, `\`, `=`) in its replies; the client follows the same rule.
    static func isSafeBare(_ byte: UInt8) -> Bool {
        isPrintable(byte) && byte != space && byte != quote && byte != backslash && byte != equals
    }

    /// A byte for a message: the character if printable, else `0xNN` with a name for LF and CR.
    static func describe(_ byte: UInt8) -> String {
        let hex = "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        switch byte {
        case 0x0A: return hex + " (line feed)"
        case 0x0D: return hex + " (carriage return)"
        default: return hex
        }
    }

    /// Whether the tag is 1–32 bytes of `[A-Za-z0-9_-]`.
    static func isValidTag(_ tag: String) -> Bool {
        !tag.isEmpty && tag.utf8.count <= WireLimits.tagBytesMax && tag.utf8.allSatisfy(isTagByte)
    }
}
