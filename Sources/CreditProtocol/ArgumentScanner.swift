// Reads one `key=value` argument token: key syntax, bare values and quoted values with escapes.

/// Scans a single argument token at the cursor; every malformation becomes a `RequestError`.
enum ArgumentScanner {
    /// Reads `key=value` or `key="quoted value"` and leaves the cursor after it.
    static func readArgument(_ cursor: inout LineCursor) throws(RequestError) -> Argument {
        let start = cursor.index
        while !cursor.isAtTokenEnd && cursor.current != ASCII.equals { cursor.index += 1 }
        guard cursor.current == ASCII.equals else {
            throw RequestError("expected key=value, got \(cursor.snippet(start..<cursor.index))")
        }
        let key = try readKey(cursor, start..<cursor.index)
        cursor.index += 1  // the `=`
        guard !cursor.isAtTokenEnd else { throw RequestError("empty value for \(key)") }
        let value = cursor.current == ASCII.quote
            ? try readQuotedValue(&cursor, key: key)
            : try readBareValue(&cursor, key: key)
        return Argument(key: key, value: value)
    }

    /// Checks a key: 1–32 bytes of `[a-z0-9_]` starting with a letter; uppercase is rejected.
    private static func readKey(_ cursor: LineCursor, _ range: Range<Int>) throws(RequestError) -> String {
        guard !range.isEmpty else { throw RequestError("missing key before =") }
        if let problem = keyProblem(cursor.bytes[range]) {
            throw RequestError("key \(cursor.snippet(range)) \(problem)")
        }
        return cursor.string(range)
    }

    /// What is wrong with a non-empty key, or nil if it is valid.
    private static func keyProblem(_ key: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        if key.count > ProtocolLimits.keyBytesMax { return "exceeds \(ProtocolLimits.keyBytesMax) bytes" }
        if key.allSatisfy(ASCII.isKeyByte) && ASCII.isLowercaseLetter(key.first!) { return nil }
        if key.contains(where: ASCII.isUppercaseLetter) { return "must be lowercase" }
        if !ASCII.isLowercaseLetter(key.first!) { return "must start with a letter" }
        return "may contain only a-z, 0-9 and _"
    }

    /// Reads an unquoted value: printable bytes up to the next space, no `"` allowed.
    private static func readBareValue(_ cursor: inout LineCursor, key: String) throws(RequestError) -> String {
        let range = cursor.readBareToken()
        guard range.count <= ProtocolLimits.valueBytesMax else { throw valueTooLong(key) }
        guard !cursor.bytes[range].contains(ASCII.quote) else {
            throw RequestError("unquoted value of \(key) contains \"")
        }
        return cursor.string(range)
    }

    /// Reads `"..."` with `\"` and `\\` decoded; the closing quote must end the token.
    private static func readQuotedValue(_ cursor: inout LineCursor, key: String) throws(RequestError) -> String {
        let contentStart = cursor.index + 1
        let (contentEnd, escapeCount) = try findClosingQuote(cursor, from: contentStart, key: key)
        cursor.index = contentEnd + 1
        guard cursor.isAtTokenEnd else {
            throw RequestError("closing quote of \(key) must be followed by a space or end of line")
        }
        let decodedCount = contentEnd - contentStart - escapeCount
        guard decodedCount > 0 else { throw RequestError("empty value for \(key)") }
        guard decodedCount <= ProtocolLimits.valueBytesMax else { throw valueTooLong(key) }
        let content = contentStart..<contentEnd
        return escapeCount == 0 ? cursor.string(content) : unescape(cursor, content, decodedCount)
    }

    /// Finds the unescaped `"` that closes a quoted value, checking every escape on the way;
    /// returns its index and how many escapes precede it.
    private static func findClosingQuote(
        _ cursor: LineCursor, from start: Int, key: String
    ) throws(RequestError) -> (end: Int, escapeCount: Int) {
        let bytes = cursor.bytes
        var index = start
        var escapeCount = 0
        while index < bytes.count {
            switch bytes[index] {
            case ASCII.quote:
                return (index, escapeCount)
            case ASCII.backslash:
                guard index + 1 < bytes.count else { throw RequestError("unterminated quoted value") }
                try checkEscape(bytes[index + 1], key: key)
                escapeCount += 1
                index += 2
            default:
                index += 1
            }
        }
        throw RequestError("unterminated quoted value")
    }

    /// Accepts the byte after a backslash only if it is `"` or `\`.
    private static func checkEscape(_ escaped: UInt8, key: String) throws(RequestError) {
        guard escaped != ASCII.quote && escaped != ASCII.backslash else { return }
        let shown = String(decoding: [ASCII.backslash, escaped], as: UTF8.self)
        throw RequestError("bad escape \(shown) in value of \(key) (only \\\" and \\\\)")
    }

    /// Copies quoted content into a String with each backslash escape replaced by its byte.
    private static func unescape(_ cursor: LineCursor, _ content: Range<Int>, _ decodedCount: Int) -> String {
        String(unsafeUninitializedCapacity: decodedCount) { storage in
            var written = 0
            var index = content.lowerBound
            while index < content.upperBound {
                if cursor.bytes[index] == ASCII.backslash { index += 1 }
                storage[written] = cursor.bytes[index]
                written += 1
                index += 1
            }
            return written
        }
    }

    /// The error for a value over `ProtocolLimits.valueBytesMax`.
    private static func valueTooLong(_ key: String) -> RequestError {
        RequestError("value of \(key) exceeds \(ProtocolLimits.valueBytesMax) bytes")
    }
}
