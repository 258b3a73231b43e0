// Byte constants and character classes of the line protocol (ASCII only, no Foundation).

/// Bytes with a meaning on the wire, and the character classes the grammar is built from.
///
/// Static functions rather than `UInt8` extension members so that no other module's
/// extensions on `UInt8` can make a name here ambiguous.
enum ASCII {
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let asterisk: UInt8 = 0x2A
    static let equals: UInt8 = 0x3D
    static let questionMark: UInt8 = 0x3F
    static let backslash: UInt8 = 0x5C
    static let underscore: UInt8 = 0x5F
    static let hyphen: UInt8 = 0x2D

    /// True for the bytes a request line may contain: 0x20 (space) through 0x7E (`~`).
    static func isPrintable(_ byte: UInt8) -> Bool { byte >= 0x20 && byte <= 0x7E }

    /// True for `a`...`z`.
    static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }

    /// True for `A`...`Z`.
    static func isUppercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }

    /// True for `0`...`9`.
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// True for `A`...`Z` and `a`...`z`.
    static func isLetter(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || isUppercaseLetter(byte) }

    /// True for the bytes of a tag: `[A-Za-z0-9_-]`.
    static func isTagByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == underscore || byte == hyphen
    }

    /// True for the bytes of an argument key: `[a-z0-9_]`.
    static func isKeyByte(_ byte: UInt8) -> Bool {
        isLowercaseLetter(byte) || isDigit(byte) || byte == underscore
    }

    /// True for the bytes of an error code: `[A-Z0-9_]`.
    static func isCodeByte(_ byte: UInt8) -> Bool {
        isUppercaseLetter(byte) || isDigit(byte) || byte == underscore
    }

    /// The byte with `a`...`z` mapped to `A`...`Z`.
    static func uppercased(_ byte: UInt8) -> UInt8 { isLowercaseLetter(byte) ? byte - 0x20 : byte }

    /// True for the 0b10xxxxxx bytes inside a multi-byte UTF-8 character; skipping them turns
    /// each non-ASCII character into one substitute byte rather than two to four.
    static func isUTF8Continuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}
