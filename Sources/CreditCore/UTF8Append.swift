// UTF8Append: a String's UTF-8 appended to a byte buffer with one copy.

extension Array where Element == UInt8 {
    /// Appends the UTF-8 bytes of `text` with one copy from its storage. `append(contentsOf:
    /// text.utf8)` walks the UTF-8 view byte by byte, and building each reply line that way cost
    /// thousands of instructions per request.
    @inlinable
    public mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}
