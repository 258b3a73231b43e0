// A read position in one request line, with the small scanning steps the parser is built from.

/// A position in a request line's bytes. The parser advances it token by token.
///
/// It views the line through a pointer (valid only inside `withUnsafeBufferPointer`) so that
/// scanning does no reference counting; the parser never lets a cursor escape that scope.
struct LineCursor {
    /// The whole line, without LF or CR.
    let bytes: UnsafeBufferPointer<UInt8>
    /// Index of the next unread byte.
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// True when every byte has been read.
    var isAtEnd: Bool { index == bytes.count }

    /// The next unread byte, or nil at the end of the line.
    var current: UInt8? { isAtEnd ? nil : bytes[index] }

    /// True at the end of the line or at a space: where a token may end.
    var isAtTokenEnd: Bool { isAtEnd || bytes[index] == ASCII.space }

    /// Skips the spaces that separate tokens.
    mutating func skipSpaces() {
        while index < bytes.count && bytes[index] == ASCII.space { index += 1 }
    }

    /// Reads up to the next space or the end of the line; returns the range read.
    mutating func readBareToken() -> Range<Int> {
        let start = index
        while !isAtTokenEnd { index += 1 }
        return start..<index
    }

    /// The bytes in `range` as a String. ASCII (all a request may hold once checked printable)
    /// is copied in place, so a short value becomes a small String with no allocation and no
    /// second validation; anything else is decoded, with replacement characters.
    func string(_ range: Range<Int>) -> String {
        let text = UnsafeBufferPointer(rebasing: bytes[range])
        guard text.allSatisfy({ $0 < 0x80 }) else { return String(decoding: text, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: text.count) { storage in
            _ = storage.initialize(from: text)
            return text.count
        }
    }

    /// The bytes in `range` for an error message: cut to `snippetBytesMax` with `...`, quoted.
    func snippet(_ range: Range<Int>) -> String {
        let cut = range.count > Self.snippetBytesMax
        let shown = range.lowerBound..<(range.lowerBound + min(range.count, Self.snippetBytesMax))
        return "\"" + string(shown) + (cut ? "...\"" : "\"")
    }

    /// Longest piece of client input quoted back in an error message.
    ///
    /// Why 40: enough to recognise the offending token, short enough that an ERR line stays
    /// readable and well under `ProtocolLimits.errorMessageBytesMax`.
    static let snippetBytesMax = 40
}
