// PackedReply: a stored reply re-encoded with varint counts, well-known keys as one byte and
// values packed by type, for the remembered refs kept in memory.

/// Converts replies between `StoredReply`'s layout (the journal's: every count and length a u32)
/// and the packed layout `RefLog` keeps in memory. A million remembered ISSUE replies spent about
/// half their bytes on u32 counts that are almost all below 128, and on the same half dozen keys;
/// and with those packed, most of what was left was values spelled out as text (`hd_98765`,
/// `2026-11-26T14:45:00Z`, `************1234`), now packed by type (`PackedValue`): a gift card
/// ISSUE's reply takes about 20 bytes instead of 114, a HOLD's about 30. Only memory uses this
/// layout: the journal and snapshots still read and write `StoredReply`'s, so a key or word added
/// later changes no file.
///
/// Packed layout, the same structure as `StoredReply`'s:
///
///     reply     = varint item count, that many field lists, one field list (the OK line)
///     fieldList = varint field count, that many (key, value) pairs
///     key       = one byte: 0x80 | index into `keys`, or the key's UTF-8 byte count (at most
///                 `StoredReply.keyBytesMax`, so below 0x80) followed by its bytes
///     value     = a tag byte and what it says follows (`PackedValue`): short text's tag is its
///                 byte count, as the varint count was before values were typed
///     varint    = LEB128: 7 bits a byte, low bits first, high bit set on all but the last byte,
///                 always the shortest form (so equal replies pack to equal bytes)
///
/// Both directions trust their input: bytes come from a `StoredReply` (checked when made or read)
/// or from this packer, so anything out of place is a broken invariant and traps.
enum PackedReply {
    /// Keys written as one byte: every key a stored reply of this version of the ledger uses,
    /// commonest first. At most 128. Order matters only within one process's memory.
    static let keys: [[UInt8]] = [
        "currency", "credit", "balance", "type", "amount", "profile", "hold", "tax_class", "rate", "expires", "count",
        "card", "status", "sale_currency", "requested", "released", "to", "remaining", "refunded", "original",
        "held", "from", "effect", "covers", "claim", "captured", "campaign", "available", "written_off", "tombstone",
        "sale_amount", "revert_at", "replaced", "ref", "reason", "new_credit", "locked", "loaded", "instead_of",
        "funded_return", "funded_marketing", "credits", "bonus", "batch",
    ].map { Array($0.utf8) }

    /// Bytes of a u32 count or length in the journal layout.
    private static let countByteCount = MemoryLayout<UInt32>.size

    /// Packs a reply in the journal layout into the start of `output`, which must have room for
    /// `journal.count` bytes (packing never makes a valid reply longer: every count there is below
    /// 2²⁸, so its varint takes at most the u32's 4 bytes, a key's one byte replaces a 4-byte
    /// length, and no value packs longer than its u32 length and bytes). Returns the packed byte
    /// count.
    static func pack(_ journal: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= journal.count, "room to pack a reply in one pass")
        var sink = ByteSink(writingInto: output)
        pack(journal, into: &sink)
        // Debug builds (the tests) check what every remembered reply relies on: unpacking gives
        // back the journal layout byte for byte (a typed value's parser took only text it writes
        // back exactly).
        assert(journalLayout(ofPacked: UnsafeRawBufferPointer(rebasing: output[..<sink.offset])).elementsEqual(journal),
               "a packed reply unpacks to the very bytes packed")
        return sink.offset
    }

    /// A reply in the journal layout packed, in an array of its own (for replay's decoding
    /// thread: see `PreparedEntry`).
    static func packed(_ journal: UnsafeRawBufferPointer) -> [UInt8] {
        ByteArrays.make(byteCount: journal.count) { pack(journal, into: $0) }
    }

    /// The reply in the journal layout (as `StoredReply` keeps it) of packed bytes.
    static func journalLayout(ofPacked packed: UnsafeRawBufferPointer) -> [UInt8] {
        var counter = ByteSink(counting: ())
        unpack(packed, into: &counter)
        return ByteArrays.make(byteCount: counter.offset) { buffer in
            var sink = ByteSink(writingInto: buffer)
            unpack(packed, into: &sink)
            return sink.offset
        }
    }

    /// Walks a journal-layout reply, writing its packed form to `sink`.
    private static func pack(_ journal: UnsafeRawBufferPointer, into sink: inout ByteSink) {
        var reader = ByteSource(journal)
        // Once, not once per key or value: every read of a global checks that it is made.
        let (keyTable, wordTable) = tables
        let itemCount = reader.u32()
        sink.varint(itemCount)
        for _ in 0...itemCount {  // the item lines, then the OK line
            let fieldCount = reader.u32()
            sink.varint(fieldCount)
            for _ in 0..<fieldCount {
                let key = reader.u32Prefixed()
                if let index = keyTable.index(of: key) {
                    sink.byte(0x80 | UInt8(index))
                } else {
                    precondition(key.count < 0x80, "a stored reply's keys fit one length byte")
                    sink.byte(UInt8(key.count))
                    sink.bytes(key)
                }
                PackedValue.pack(reader.u32Prefixed(), wordTable: wordTable, into: &sink)
            }
        }
        precondition(reader.isAtEnd, "a stored reply has no bytes after its final field list")
    }

    /// Walks a packed reply, writing its journal layout to `sink`.
    private static func unpack(_ packed: UnsafeRawBufferPointer, into sink: inout ByteSink) {
        var reader = ByteSource(packed)
        let itemCount = reader.varint()
        sink.u32(itemCount)
        for _ in 0...itemCount {
            let fieldCount = reader.varint()
            sink.u32(fieldCount)
            for _ in 0..<fieldCount {
                let keyByte = reader.byte()
                if keyByte & 0x80 != 0 {
                    let key = keys[Int(keyByte & 0x7F)]
                    sink.u32(key.count)
                    key.withUnsafeBytes { sink.bytes($0) }
                } else {
                    sink.u32(Int(keyByte))
                    sink.bytes(reader.take(Int(keyByte)))
                }
                PackedValue.unpack(from: &reader, into: &sink)
            }
        }
        precondition(reader.isAtEnd, "a packed reply has no bytes after its final field list")
    }

    /// `keys` for lookup by hashing (every remembered ref's reply goes through it during journal
    /// replay, a million times at startup), and `PackedValue.wordTable`: one global to read per
    /// reply instead of two.
    private static let tables = (keys: ShortStringTable(keys), words: PackedValue.wordTable)
}
