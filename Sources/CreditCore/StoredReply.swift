// StoredReply: a remembered reply kept as one compact byte buffer, in the journal's reply layout.

/// The reply a retry of a remembered request gets, kept as bytes instead of `Field`s and
/// `String`s. Every remembered ref holds one, but only a retry reads it back: as fields, a
/// million refs cost hundreds of bytes each, and decoding them was a quarter of journal replay.
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
        var writer = StoredReplyWriter(capacity: StoredReplyWriter.byteCount(of: reply))
        writer.reply(reply)
        bytes = writer.bytes
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
        reply.items.count <= listCountMax && (reply.items + [reply.fields]).allSatisfy { line in
            line.count <= listCountMax
                && line.allSatisfy { $0.key.utf8.count <= keyBytesMax && $0.value.utf8.count <= valueBytesMax }
        }
    }

    /// The reply, decoded from the bytes (only a retry needs it).
    public var reply: Reply {
        var reader = StoredReplyReader(bytes)
        return reader.reply()
    }
}

/// Appends a reply in `StoredReply`'s layout.
private struct StoredReplyWriter {
    /// Bytes of the u32 counts and lengths.
    private static let countByteCount = MemoryLayout<UInt32>.size

    /// The bytes written so far.
    private(set) var bytes: [UInt8] = []

    /// Makes an empty writer holding room for `capacity` bytes.
    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// The encoded size of `reply`.
    static func byteCount(of reply: Reply) -> Int {
        countByteCount + reply.items.reduce(0) { $0 + byteCount(of: $1) } + byteCount(of: reply.fields)
    }

    /// The encoded size of one field list.
    private static func byteCount(of fields: [Field]) -> Int {
        fields.reduce(countByteCount) { $0 + 2 * countByteCount + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// Appends the item count, each item's field list, then the final field list.
    mutating func reply(_ reply: Reply) {
        count(reply.items.count)
        for item in reply.items { fields(item) }
        fields(reply.fields)
    }

    /// Appends the field count, then each key and value.
    private mutating func fields(_ fields: [Field]) {
        count(fields.count)
        for field in fields {
            string(field.key)
            string(field.value)
        }
    }

    /// Appends the UTF-8 byte count, then the UTF-8 bytes.
    private mutating func string(_ value: String) {
        let utf8 = value.utf8
        count(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// Appends a count or length as a little-endian u32.
    private mutating func count(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "a stored reply's counts and lengths fit a u32")
        withUnsafeBytes(of: UInt32(value).littleEndian) { bytes.append(contentsOf: $0) }
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
