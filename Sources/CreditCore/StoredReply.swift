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
///
/// Replay reads replies already packed (`init(packingValidatedBytes:)`): the ref log keeps them
/// packed, so replay's decoding thread packs each one straight from the journal's bytes instead
/// of copying them into an array of their own first. Such a reply gives its journal layout back
/// unpacked, byte for byte.
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

    /// The reply's bytes: in the layout above, or packed (`PackedReply`).
    private enum Storage: Sendable {
        case journal([UInt8])
        case packed([UInt8], journalByteCount: Int)
    }

    private let storage: Storage

    /// The encoded reply, in the layout above (unpacked first if it was read packed).
    public var bytes: [UInt8] {
        switch storage {
        case .journal(let bytes): bytes
        case .packed(let packed, _): packed.withUnsafeBytes { PackedReply.journalLayout(ofPacked: $0) }
        }
    }

    /// The byte count of `bytes`, without unpacking.
    public var byteCount: Int {
        switch storage {
        case .journal(let bytes): bytes.count
        case .packed(_, let journalByteCount): journalByteCount
        }
    }

    /// The reply packed (`PackedReply`) if it was read that way, without packing it.
    var packedBytes: [UInt8]? {
        guard case .packed(let packed, _) = storage else { return nil }
        return packed
    }

    /// Encodes a reply, allocating exactly its encoded size (a million of these stay resident).
    public init(_ reply: Reply) {
        precondition(StoredReply.fitsLimits(reply), "a stored reply must be readable back from the journal")
        storage = .journal(StoredReplyWriter.bytes(of: reply))
    }

    /// Wraps bytes already checked to be one reply in the layout above, with nothing after it,
    /// valid UTF-8 in every string (the journal's decoder checks all of this as it reads them).
    /// Bytes that are not are a caller bug: `reply` traps on a count or length that does not fit
    /// (invalid UTF-8 would come back with replacement characters).
    public init(validatedBytes: [UInt8]) {
        storage = .journal(validatedBytes)
    }

    /// Packs bytes already checked as `init(validatedBytes:)` requires, keeping only the packed
    /// form (for replay: see the type's note).
    public init(packingValidatedBytes bytes: UnsafeRawBufferPointer) {
        storage = .packed(PackedReply.packed(bytes), journalByteCount: bytes.count)
    }

    /// Byte equality of the layout above, however each side is kept.
    public static func == (lhs: StoredReply, rhs: StoredReply) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case let (.journal(left), .journal(right)): left == right
        // Packing is a function of the bytes and unpacking gives them back, so equal packed
        // bytes are equal replies.
        case let (.packed(left, _), .packed(right, _)): left == right
        default: lhs.bytes == rhs.bytes
        }
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
/// The bytes go through the `ByteSink` `RefLog` packs with; the size is summed from the strings'
/// UTF-8 counts (a counting walk of the sink cost 3,000 instructions more per HOLD).
private enum StoredReplyWriter {
    /// Bytes of the u32 counts and lengths.
    private static let countByteCount = MemoryLayout<UInt32>.size

    /// The encoded bytes of `reply`.
    static func bytes(of reply: Reply) -> [UInt8] {
        let byteCount = countByteCount + reply.items.reduce(0) { $0 + Self.byteCount(of: $1) } + Self.byteCount(of: reply.fields)
        return ByteArrays.make(byteCount: byteCount) { buffer in
            var sink = ByteSink(writingInto: buffer)
            write(reply, to: &sink)
            precondition(sink.offset == byteCount, "a stored reply fills exactly the bytes counted for it")
            return byteCount
        }
    }

    /// The encoded size of one field list.
    private static func byteCount(of fields: [Field]) -> Int {
        fields.reduce(countByteCount) { $0 + 2 * countByteCount + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// Writes the item count, each item's field list, then the final field list.
    private static func write(_ reply: Reply, to sink: inout ByteSink) {
        sink.u32(reply.items.count)
        for item in reply.items { write(item, to: &sink) }
        write(reply.fields, to: &sink)
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
