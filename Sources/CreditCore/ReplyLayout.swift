// ReplyLayout: a reply's lines as one byte buffer, the layout the journal stores replies in.

/// Writes and reads replies in the journal's reply layout, all integers u32 little-endian:
///
///     reply     = item count, that many field lists (the item lines), one field list (the OK line)
///     fieldList = field count, that many (key string, value string) pairs
///     string    = UTF-8 byte count, the UTF-8 bytes
///
/// Bytes read here were written here or by `ReplyWriter`, or checked by the journal's decoder,
/// so anything out of place is a broken invariant and traps rather than throwing.
enum ReplyLayout {
    /// Bytes of the u32 counts and lengths.
    static let countByteCount = MemoryLayout<UInt32>.size

    /// The layout of these lines, in an array of exactly its size. The size is summed from the
    /// strings' UTF-8 counts and the bytes written through `ByteSink` (appending count by count
    /// cost about a thousand instructions per reply).
    static func bytes(items: [[Field]], fields: [Field]) -> [UInt8] {
        let byteCount = countByteCount + items.reduce(0) { $0 + Self.byteCount(of: $1) } + Self.byteCount(of: fields)
        return ByteArrays.make(byteCount: byteCount) { buffer in
            var sink = ByteSink(writingInto: buffer)
            sink.u32(items.count)
            for item in items { write(item, to: &sink) }
            write(fields, to: &sink)
            precondition(sink.offset == byteCount, "a reply fills exactly the bytes counted for it")
            return byteCount
        }
    }

    /// The lines of a reply's bytes, as fields.
    static func lines(of bytes: [UInt8]) -> (items: [[Field]], fields: [Field]) {
        bytes.withUnsafeBytes { raw in
            var source = ByteSource(raw)
            let itemCount = source.u32()
            var items: [[Field]] = []
            items.reserveCapacity(itemCount)
            for _ in 0..<itemCount { items.append(fieldList(&source)) }
            let fields = fieldList(&source)
            precondition(source.isAtEnd, "a reply has no bytes after its final field list")
            return (items, fields)
        }
    }

    /// True when every line has at most `listCountMax` fields (and there are at most that many
    /// item lines), every key at most `keyBytesMax` bytes and every value at most `valueBytesMax`.
    /// Walks the counts and lengths only.
    static func fits(_ bytes: [UInt8], listCountMax: Int, keyBytesMax: Int, valueBytesMax: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var source = ByteSource(raw)
            let itemCount = source.u32()
            guard itemCount <= listCountMax else { return false }
            for _ in 0...itemCount {
                let fieldCount = source.u32()
                guard fieldCount <= listCountMax else { return false }
                for _ in 0..<fieldCount {
                    guard source.u32Prefixed().count <= keyBytesMax, source.u32Prefixed().count <= valueBytesMax else { return false }
                }
            }
            return true
        }
    }

    /// The encoded size of one field list.
    private static func byteCount(of fields: [Field]) -> Int {
        fields.reduce(countByteCount) { $0 + 2 * countByteCount + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// Writes the field count, then each key and value.
    private static func write(_ fields: [Field], to sink: inout ByteSink) {
        sink.u32(fields.count)
        for field in fields {
            write(field.key, to: &sink)
            write(field.value, to: &sink)
        }
    }

    /// Writes the UTF-8 byte count, then the UTF-8 bytes.
    private static func write(_ text: String, to sink: inout ByteSink) {
        var text = text
        text.withUTF8 { utf8 in
            sink.u32(utf8.count)
            sink.bytes(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Reads one field list.
    private static func fieldList(_ source: inout ByteSource) -> [Field] {
        let fieldCount = source.u32()
        var fields: [Field] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let key = String(decoding: source.u32Prefixed(), as: UTF8.self)
            fields.append(Field(key, String(decoding: source.u32Prefixed(), as: UTF8.self)))
        }
        return fields
    }
}
