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

    /// Appends a ledger reply's lines: its item lines, then its `OK` line with the tag. They are
    /// read from the reply's bytes (`Reply.bytes`, in the layout `ReplyLayout` documents: u32
    /// little-endian counts and lengths), so no field is decoded into strings on the way.
    public static func reply(_ reply: Reply, tag: String?, into buffer: inout [UInt8]) {
        reply.bytes.withUnsafeBytes { layout in
            var reader = LayoutReader(layout)
            let itemCount = reader.count()
            for _ in 0..<itemCount {
                buffer.append(ASCII.asterisk)
                appendFields(&reader, into: &buffer)
                buffer.append(ASCII.lineFeed)
            }
            appendTag(tag, into: &buffer)
            buffer.append(contentsOf: "OK".utf8)
            appendFields(&reader, into: &buffer)
            buffer.append(ASCII.lineFeed)
            precondition(reader.isAtEnd, "a reply has no bytes after its final field list")
        }
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

    /// Bytes of the stack scratch the layout reader's `appendFields` writes a line's fields into.
    private static let fieldsScratchBytes = 512

    /// Writes ` key=value` for each field of the reader's next field list, as `appendField`
    /// does, with one append for the whole line: copied into a stack scratch when every value
    /// goes bare and the line fits, else field by field. Four appends per field were a
    /// twentieth of a HOLD's work.
    private static func appendFields(_ reader: inout LayoutReader, into buffer: inout [UInt8]) {
        let fieldCount = reader.count()
        let start = reader
        let wrote = withUnsafeTemporaryAllocation(byteCount: fieldsScratchBytes, alignment: 1) { scratch -> Bool in
            let base = scratch.baseAddress!
            var end = 0
            for _ in 0..<fieldCount {
                let key = reader.string()
                let value = reader.string()
                assert(!key.isEmpty && key.allSatisfy(ASCII.isKeyByte), "reply keys are [a-z0-9_] constants")
                guard !value.isEmpty, end + 2 + key.count + value.count <= scratch.count else { return false }
                for byte in value where !isSafeBare(byte) { return false }
                base.storeBytes(of: ASCII.space, toByteOffset: end, as: UInt8.self)
                (base + end + 1).copyMemory(from: key.baseAddress!, byteCount: key.count)
                end += 1 + key.count
                base.storeBytes(of: ASCII.equals, toByteOffset: end, as: UInt8.self)
                (base + end + 1).copyMemory(from: value.baseAddress!, byteCount: value.count)
                end += 1 + value.count
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: end))
            return true
        }
        if wrote { return }
        reader = start
        for _ in 0..<fieldCount {
            let key = reader.string()
            let value = reader.string()
            buffer.append(ASCII.space)
            buffer.append(contentsOf: key)
            buffer.append(ASCII.equals)
            appendValue(bytes: value, into: &buffer)
        }
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
        value.withUTF8 { appendValue(bytes: UnsafeRawBufferPointer($0), into: &buffer) }
    }

    /// Writes a value's UTF-8 bytes bare if possible, else quoted and escaped, each character
    /// outside printable ASCII as one `?`.
    private static func appendValue(bytes value: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        if !value.isEmpty && value.allSatisfy(isSafeBare) {
            buffer.append(contentsOf: value)
            return
        }
        buffer.append(ASCII.quote)
        for byte in value where !ASCII.isUTF8Continuation(byte) {
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

/// Reads a reply's bytes (`ReplyEncoder.reply`): u32 little-endian counts, and strings as a u32
/// length then the bytes. A reply's bytes are well formed by construction, so anything cut
/// short traps.
private struct LayoutReader {
    /// The reply's bytes.
    private let bytes: UnsafeRawBufferPointer
    /// Index of the next byte.
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// True when every byte has been read.
    var isAtEnd: Bool { offset == bytes.count }

    /// The next count.
    mutating func count() -> Int {
        let width = MemoryLayout<UInt32>.size
        precondition(bytes.count - offset >= width, "a reply's bytes are not cut short")
        defer { offset += width }
        return Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// The next string's bytes.
    mutating func string() -> UnsafeRawBufferPointer {
        let length = count()
        precondition(bytes.count - offset >= length, "a reply's bytes are not cut short")
        defer { offset += length }
        return UnsafeRawBufferPointer(start: bytes.baseAddress! + offset, count: length)
    }
}
