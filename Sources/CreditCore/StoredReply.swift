// StoredReply: a remembered reply kept as one compact byte buffer, in the journal's reply layout.

/// The reply a retry of a remembered request gets, kept as bytes instead of `Field`s and
/// `String`s. Every remembered request's record carries one (`RefLog` keeps it packed further,
/// see `PackedReply`), but only a retry reads it back: as fields, a million refs cost hundreds of
/// bytes each, and decoding them was a quarter of journal replay.
///
/// Layout, all integers u32 little-endian; exactly the journal's reply encoding, so the journal
/// and snapshots write and read these bytes as they are:
///
///     reply     = item count, that many field lists (the item lines), one field list (the OK line)
///     fieldList = field count, that many (key string, value string) pairs
///     string    = UTF-8 byte count, the UTF-8 bytes
///
/// Equality is byte equality: equal iff the replies have the same lines holding the same keys
/// and values with the same UTF-8 bytes. (`Reply ==` compares `String`s, so it also equates
/// canonically equivalent spellings such as a precomposed and a combining "é".)
public struct StoredReply: Equatable, Sendable {
    /// Most item lines, and most fields on one line, the journal accepts in a stored reply. A
    /// HISTORY is never stored; the longest stored reply is a STOCK's, one item line per card
    /// (`Ledger.stockCountMax`), so this leaves room above it and keeps a damaged count cheap.
    /// `init(_:)` refuses (traps on) a reply beyond these limits: writing one would leave a
    /// journal that could not be read back.
    public static let listCountMax = 256
    /// Longest key the journal accepts in a stored reply: reply keys are short words.
    public static let keyBytesMax = 64
    /// Longest value the journal accepts in a stored reply: values are ids, amounts and echoed
    /// request values, none near a request line's length.
    public static let valueBytesMax = 1024

    /// The encoded reply, in the layout above.
    public let bytes: [UInt8]

    /// Encodes a reply, allocating exactly its encoded size (a million of these stay resident).
    public init(_ reply: Reply) {
        precondition(StoredReply.fitsLimits(reply), "a stored reply must be readable back from the journal")
        bytes = StoredReplyWriter.bytes(of: reply)
    }

    /// Wraps bytes already checked to be one reply in the layout above, with nothing after it,
    /// valid UTF-8 in every string (the journal's decoder checks all of this as it reads them).
    /// Bytes that are not are a caller bug: `reply` traps on a count or length that does not fit
    /// (invalid UTF-8 would come back with replacement characters).
    public init(validatedBytes: [UInt8]) {
        bytes = validatedBytes
    }

    /// True when the journal's decoder accepts `reply`: at most `listCountMax` item lines and
    /// fields per line, keys and values within `keyBytesMax` and `valueBytesMax` bytes.
    public static func fitsLimits(_ reply: Reply) -> Bool {
        func fits(_ line: [Field]) -> Bool {
            line.count <= listCountMax
                && line.allSatisfy { $0.key.utf8.count <= keyBytesMax && $0.value.utf8.count <= valueBytesMax }
        }
        return reply.items.count <= listCountMax && reply.items.allSatisfy(fits) && fits(reply.fields)
    }

    /// The reply, decoded from the bytes (only a retry needs it).
    public var reply: Reply {
        var reader = StoredReplyReader(bytes)
        return reader.reply()
    }
}

/// Writes a reply in `StoredReply`'s layout into a buffer of exactly its size: every remembered
/// request makes one, and appending count by count cost about a thousand instructions per reply.
private struct StoredReplyWriter {
    /// Bytes of the u32 counts and lengths.
    private static let countByteCount = MemoryLayout<UInt32>.size

    /// The encoded bytes of `reply`.
    static func bytes(of reply: Reply) -> [UInt8] {
        let byteCount = byteCount(of: reply)
        return [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initializedCount in
            var writer = StoredReplyWriter(buffer: UnsafeMutableRawBufferPointer(buffer))
            writer.reply(reply)
            precondition(writer.offset == byteCount, "a stored reply fills exactly the bytes counted for it")
            initializedCount = byteCount
        }
    }

    /// The encoded size of `reply`.
    private static func byteCount(of reply: Reply) -> Int {
        countByteCount + reply.items.reduce(0) { $0 + byteCount(of: $1) } + byteCount(of: reply.fields)
    }

    /// The encoded size of one field list.
    private static func byteCount(of fields: [Field]) -> Int {
        fields.reduce(countByteCount) { $0 + 2 * countByteCount + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// The buffer being written, sized by `byteCount(of:)`.
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var offset = 0

    private init(buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Writes the item count, each item's field list, then the final field list.
    private mutating func reply(_ reply: Reply) {
        count(reply.items.count)
        for item in reply.items { fields(item) }
        fields(reply.fields)
    }

    /// Writes the field count, then each key and value.
    private mutating func fields(_ fields: [Field]) {
        count(fields.count)
        for field in fields {
            string(field.key)
            string(field.value)
        }
    }

    /// Writes the UTF-8 byte count, then the UTF-8 bytes.
    private mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            count(utf8.count)
            precondition(buffer.count - offset >= utf8.count, "a stored reply's strings fit the bytes counted")
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + utf8.count]).copyMemory(from: UnsafeRawBufferPointer(utf8))
            offset += utf8.count
        }
    }

    /// Writes a count or length as a little-endian u32.
    private mutating func count(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "a stored reply's counts and lengths fit a u32")
        precondition(buffer.count - offset >= StoredReplyWriter.countByteCount, "a stored reply's counts fit the bytes counted")
        buffer.storeBytes(of: UInt32(value).littleEndian, toByteOffset: offset, as: UInt32.self)
        offset += StoredReplyWriter.countByteCount
    }
}

/// Reads a reply back from bytes in `StoredReply`'s layout. They were validated when stored, so
/// anything out of place is a broken invariant and traps rather than throwing.
private struct StoredReplyReader {
    /// The stored bytes.
    private let bytes: [UInt8]
    /// Index of the next byte to read.
    private var offset = 0

    /// Makes a reader at the start of `bytes`.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads the whole reply; the bytes must hold exactly one.
    mutating func reply() -> Reply {
        let itemCount = count()
        var items: [[Field]] = []
        items.reserveCapacity(itemCount)
        for _ in 0..<itemCount { items.append(fields()) }
        let reply = Reply(items: items, fields: fields())
        precondition(offset == bytes.count, "a stored reply has no bytes after its final field list")
        return reply
    }

    /// Reads one field list.
    private mutating func fields() -> [Field] {
        let fieldCount = count()
        var fields: [Field] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let key = string()
            fields.append(Field(key, string()))
        }
        return fields
    }

    /// Reads one length-prefixed string (valid UTF-8, checked when stored).
    private mutating func string() -> String {
        String(decoding: take(count()), as: UTF8.self)
    }

    /// Reads a little-endian u32 count or length.
    private mutating func count() -> Int {
        let value = take(MemoryLayout<UInt32>.size).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return Int(UInt32(littleEndian: value))
    }

    /// The next `count` bytes.
    private mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        precondition(bytes.count - offset >= count, "a stored reply is not cut short")
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
