// Writes reply lines (`* item`, `OK`, `ERR`) as bytes into a connection's output buffer.

import CreditCore

/// Encodes replies: zero or more item lines `* key=value ...`, then one final line, either
/// `[#tag ]OK key=value ...` or `[#tag ]ERR CODE message`. Only the final line carries the tag.
///
/// Values are written bare when they can be, otherwise double-quoted with `"` and `\` escaped,
/// so `RequestParser` reads them back unchanged. A value byte outside printable ASCII (which a
/// request could never have carried) is written as `?`, so a reply can never break framing.
public enum ReplyEncoder {
    /// Appends a final success line: `[#tag ]OK key=value ...\n`.
    public static func ok(tag: String?, fields: [(String, String)] = [], into buffer: inout [UInt8]) {
        appendTag(tag, into: &buffer)
        buffer.append(contentsOf: "OK".utf8)
        appendFields(fields, into: &buffer)
        buffer.append(ASCII.lineFeed)
    }

    /// Appends a success line whose fields are ledger `Field`s (no intermediate tuple array).
    public static func ok(tag: String?, ledgerFields fields: [Field], into buffer: inout [UInt8]) {
        appendTag(tag, into: &buffer)
        buffer.append(contentsOf: "OK".utf8)
        appendLedgerFields(fields, into: &buffer)
        buffer.append(ASCII.lineFeed)
    }

    /// Appends an item line whose fields are ledger `Field`s.
    public static func item(ledgerFields fields: [Field], into buffer: inout [UInt8]) {
        buffer.append(ASCII.asterisk)
        appendLedgerFields(fields, into: &buffer)
        buffer.append(ASCII.lineFeed)
    }

    /// Appends an item line, which never carries the tag: `* key=value ...\n`.
    public static func item(fields: [(String, String)], into buffer: inout [UInt8]) {
        buffer.append(ASCII.asterisk)
        appendFields(fields, into: &buffer)
        buffer.append(ASCII.lineFeed)
    }

    /// Appends a final error line: `[#tag ]ERR CODE message\n`. The message is sanitised to
    /// printable ASCII (controls become spaces, other non-ASCII characters `?`) and cut to
    /// `ProtocolLimits.errorMessageBytesMax` bytes.
    public static func error(tag: String?, code: String, message: String, into buffer: inout [UInt8]) {
        assert(!code.isEmpty && code.utf8.allSatisfy(ASCII.isCodeByte),
               "error codes are UPPER_SNAKE_CASE constants")
        appendTag(tag, into: &buffer)
        buffer.append(contentsOf: "ERR ".utf8)
        buffer.appendUTF8(code)
        appendMessage(message, into: &buffer)
        buffer.append(ASCII.lineFeed)
    }

    /// The value as it appears on the wire: unchanged when safe bare, otherwise quoted with
    /// `"` and `\` escaped. Empty values and values containing a space, `"`, `\` or `=` are
    /// quoted.
    public static func quoteIfNeeded(_ value: String) -> String {
        var bytes: [UInt8] = []
        appendValue(value, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Pieces

    /// Writes `#tag ` when there is a tag.
    private static func appendTag(_ tag: String?, into buffer: inout [UInt8]) {
        guard let tag else { return }
        assert(tag.utf8.allSatisfy(ASCII.isTagByte), "tags come from RequestParser, which validated them")
        buffer.append(ASCII.hash)
        buffer.appendUTF8(tag)
        buffer.append(ASCII.space)
    }

    /// Writes ` key=value` for each field.
    private static func appendFields(_ fields: [(String, String)], into buffer: inout [UInt8]) {
        for (key, value) in fields { appendField(key, value, into: &buffer) }
    }

    /// Bytes of the stack scratch `appendLedgerFields` writes a line's fields into.
    private static let fieldsScratchBytes = 512

    /// Writes ` key=value` for each field, as `appendField` does, with one append for the whole
    /// line: written byte by byte into a stack scratch when every value goes bare and the line
    /// fits, else field by field. Four appends per field were a twentieth of a HOLD's work.
    private static func appendLedgerFields(_ fields: [Field], into buffer: inout [UInt8]) {
        let wrote = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: fieldsScratchBytes) { scratch -> Bool in
            var end = 0
            for field in fields {
                assert(!field.key.isEmpty && field.key.utf8.allSatisfy(ASCII.isKeyByte), "reply keys are [a-z0-9_] constants")
                var key = field.key
                var value = field.value
                let fits = key.withUTF8 { key in
                    value.withUTF8 { value in
                        guard !value.isEmpty, end + 2 + key.count + value.count <= scratch.count else { return false }
                        for byte in value where !isSafeBare(byte) { return false }
                        scratch[end] = ASCII.space
                        end += 1
                        for byte in key {
                            scratch[end] = byte
                            end += 1
                        }
                        scratch[end] = ASCII.equals
                        end += 1
                        for byte in value {
                            scratch[end] = byte
                            end += 1
                        }
                        return true
                    }
                }
                guard fits else { return false }
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<end]))
            return true
        }
        if wrote { return }
        for field in fields { appendField(field.key, field.value, into: &buffer) }
    }

    private static func appendField(_ key: String, _ value: String, into buffer: inout [UInt8]) {
        assert(!key.isEmpty && key.utf8.allSatisfy(ASCII.isKeyByte), "reply keys are [a-z0-9_] constants")
        buffer.append(ASCII.space)
        buffer.appendUTF8(key)
        buffer.append(ASCII.equals)
        appendValue(value, into: &buffer)
    }

    /// Writes a value bare if possible (one memcpy), else quoted and escaped.
    static func appendValue(_ value: String, into buffer: inout [UInt8]) {
        var value = value
        let wroteBare = value.withUTF8 { utf8 in
            guard !utf8.isEmpty else { return false }
            for byte in utf8 where !isSafeBare(byte) { return false }
            buffer.append(contentsOf: utf8)
            return true
        }
        if wroteBare { return }
        buffer.append(ASCII.quote)
        for byte in value.utf8 where !ASCII.isUTF8Continuation(byte) {
            if byte == ASCII.quote || byte == ASCII.backslash { buffer.append(ASCII.backslash) }
            buffer.append(ASCII.isPrintable(byte) ? byte : ASCII.questionMark)
        }
        buffer.append(ASCII.quote)
    }

    /// True for bytes a bare value may contain without confusing a reader.
    private static func isSafeBare(_ byte: UInt8) -> Bool {
        ASCII.isPrintable(byte) && byte != ASCII.space && byte != ASCII.quote
            && byte != ASCII.backslash && byte != ASCII.equals
    }

    /// Writes ` message` (nothing if it sanitises to empty), printable and length-capped.
    private static func appendMessage(_ message: String, into buffer: inout [UInt8]) {
        guard !message.isEmpty else { return }
        buffer.append(ASCII.space)
        var written = 0
        for byte in message.utf8 where !ASCII.isUTF8Continuation(byte) {
            guard written < ProtocolLimits.errorMessageBytesMax else { return }
            buffer.append(ASCII.isPrintable(byte) ? byte : (byte < 0x80 ? ASCII.space : ASCII.questionMark))
            written += 1
        }
    }
}
