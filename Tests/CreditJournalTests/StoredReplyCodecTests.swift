// Proves remembered replies keep the journal's reply encoding byte for byte: a StoredReply's bytes are what the field-by-field writer wrote, an entry decodes to the reply the field-by-field reader gave; and that a stored reply with a count or length over its limit, invalid UTF-8 or a cut is refused with a DecodeError at the field's offset, in journal entries and in snapshots alike.

import CreditCore
import CreditJournal
import Testing

private let t0 = Instant(millis: 1_795_703_400_000)

/// Replies of every shape: item lines, empty lines and strings, non-ASCII, and every limit reached.
private let replies: [Reply] = [
    Reply(fields: []),
    Reply(fields: [Field("credit", "cr_1"), Field("balance", "50.00")]),
    Reply(items: [[Field("credit", "cr_1"), Field("amount", "30.00")], []], fields: [Field("hold", "hd_1")]),
    Reply(items: [[Field("reason", "found ✓")], [Field("", "")]], fields: [Field("note", "Ünïcödé — 日本 🎁")]),
    Reply(items: Array(repeating: [Field("k", "v")], count: StoredReply.listCountMax),
          fields: Array(repeating: Field(String(repeating: "k", count: StoredReply.keyBytesMax),
                                         String(repeating: "é", count: StoredReply.valueBytesMax / 2)),
                        count: StoredReply.listCountMax)),
]

/// The reply as the journal wrote it before StoredReply, field by field with `ByteWriter`.
private func referenceEncoding(_ reply: Reply) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(UInt32(reply.items.count))
    for fields in reply.items + [reply.fields] {
        writer.u32(UInt32(fields.count))
        for field in fields {
            writer.string(field.key)
            writer.string(field.value)
        }
    }
    return writer.buffer
}

/// The reply as the journal read it before StoredReply, field by field into `String`s.
private func referenceDecoding(_ reader: inout ByteReader) throws(DecodeError) -> Reply {
    func fields(_ reader: inout ByteReader) throws(DecodeError) -> [Field] {
        var fields: [Field] = []
        for _ in 0..<(try reader.u32()) {
            let key = try reader.string(maxBytes: StoredReply.keyBytesMax)
            fields.append(Field(key, try reader.string(maxBytes: StoredReply.valueBytesMax)))
        }
        return fields
    }
    var items: [[Field]] = []
    for _ in 0..<(try reader.u32()) { items.append(try fields(&reader)) }
    return Reply(items: items, fields: try fields(&reader))
}

/// Offset of the reply in `entry(with:)`'s body: u8 version, i64 at, presence byte, client
/// "till-1" (u32 length + 6), ref "r-1" (u32 length + 3), fingerprint (4 × u64).
private let replyOffset = 1 + 8 + 1 + (4 + 6) + (4 + 3) + 32

/// An entry whose record holds `bytes` as its reply, unchecked: the encoder copies them as they are.
private func entry(with bytes: [UInt8]) throws -> Entry {
    let record = IdempotencyRecord(client: ClientID("till-1"), ref: try #require(Ref("r-1")),
                                   fingerprint: Digest32(w0: 9, w1: 8, w2: 7, w3: 6),
                                   storedReply: StoredReply(validatedBytes: bytes), action: .issued(CreditID(1)))
    return Entry(at: t0, idempotency: record, events: [.voided(HoldID(1))])
}

/// A reply with one OK-line field, spelled out byte by byte so any part of it can be wrong.
private func oneField(key: [UInt8], value: [UInt8], declaredValueBytes: Int? = nil) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(0)  // no item lines
    writer.u32(1)  // one field
    writer.bytes(key)
    writer.u32(UInt32(declaredValueBytes ?? value.count))
    writer.raw(value)
    return writer.buffer
}

@Test func aStoredReplyIsTheJournalsReplyEncoding() {
    for reply in replies {
        #expect(StoredReply(reply).bytes == referenceEncoding(reply))
    }
}

@Test func anEntryDecodesToTheReplyTheFieldByFieldReaderGave() throws {
    for reply in replies {
        let stored = try entry(with: referenceEncoding(reply))
        let body = EntryCodec.encode(stored)
        let decoded = try #require(try EntryCodec.decode(body[...]).idempotency)
        var reader = testReader(body, from: replyOffset)
        #expect(try referenceDecoding(&reader) == reply)
        #expect(decoded.reply == reply)
        #expect(decoded == stored.idempotency)
        #expect(EntryCodec.encode(try EntryCodec.decode(body[...])) == body)
    }
}

@Test func aReplyWithTooManyLinesOrFieldsIsRefused() throws {
    var items = referenceEncoding(Reply(items: Array(repeating: [], count: StoredReply.listCountMax + 1), fields: []))
    var body = EntryCodec.encode(try entry(with: items))
    #expect(throws: DecodeError("reply items count \(StoredReply.listCountMax + 1) exceeds \(StoredReply.listCountMax)", offset: replyOffset)) { try EntryCodec.decode(body[...]) }

    items = referenceEncoding(Reply(items: [Array(repeating: Field("k", "v"), count: StoredReply.listCountMax + 1)], fields: []))
    body = EntryCodec.encode(try entry(with: items))
    #expect(throws: DecodeError("fields count \(StoredReply.listCountMax + 1) exceeds \(StoredReply.listCountMax)", offset: replyOffset + 4)) { try EntryCodec.decode(body[...]) }

    let fields = referenceEncoding(Reply(fields: Array(repeating: Field("k", "v"), count: StoredReply.listCountMax + 1)))
    body = EntryCodec.encode(try entry(with: fields))
    #expect(throws: DecodeError("fields count \(StoredReply.listCountMax + 1) exceeds \(StoredReply.listCountMax)", offset: replyOffset + 4)) { try EntryCodec.decode(body[...]) }
}

@Test func aKeyOrValueOverItsLimitIsRefused() throws {
    let longKey = oneField(key: Array(repeating: 0x6B, count: StoredReply.keyBytesMax + 1), value: [0x76])
    var body = EntryCodec.encode(try entry(with: longKey))
    #expect(throws: DecodeError("string length 65 exceeds limit 64", offset: replyOffset + 8)) {
        try EntryCodec.decode(body[...])
    }
    let longValue = oneField(key: [0x6B], value: Array(repeating: 0x76, count: StoredReply.valueBytesMax + 1))
    body = EntryCodec.encode(try entry(with: longValue))
    #expect(throws: DecodeError("string length 1025 exceeds limit 1024", offset: replyOffset + 8 + 5)) {
        try EntryCodec.decode(body[...])
    }
}

@Test(arguments: [[0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0xE2, 0x82], [0xFF]])
func invalidUTF8InAKeyOrValueIsRefused(_ invalid: [UInt8]) throws {
    var body = EntryCodec.encode(try entry(with: oneField(key: invalid, value: [0x76])))
    #expect(throws: DecodeError("invalid UTF-8 in string of \(invalid.count) bytes", offset: replyOffset + 8)) {
        try EntryCodec.decode(body[...])
    }
    body = EntryCodec.encode(try entry(with: oneField(key: [0x6B], value: invalid)))
    #expect(throws: DecodeError("invalid UTF-8 in string of \(invalid.count) bytes", offset: replyOffset + 8 + 5)) {
        try EntryCodec.decode(body[...])
    }
}

@Test func aReplyCutShortIsRefusedWhereverItIsCut() throws {
    // A value claiming more bytes than the record holds: 23 remain (the value byte, the action's
    // tag and u64, the event count, the event's tag and u64).
    let overlong = oneField(key: [0x6B], value: [0x76], declaredValueBytes: 1000)
    let body = EntryCodec.encode(try entry(with: overlong))
    #expect(throws: DecodeError("string length 1000 but 23 bytes remain", offset: replyOffset + 8 + 5)) {
        try EntryCodec.decode(body[...])
    }
    // A record cut anywhere inside its reply.
    let whole = EntryCodec.encode(try entry(with: referenceEncoding(replies[3])))
    for length in replyOffset..<(replyOffset + referenceEncoding(replies[3]).count) {
        #expect(throws: DecodeError.self, "cut at \(length)") { try EntryCodec.decode(whole[..<length]) }
    }
}

@Test func aSnapshotHoldingABadReplyIsRefused() throws {
    let record = try #require(try entry(with: oneField(key: [0x6B], value: [0xC3, 0x28])).idempotency)
    var state = LedgerState()
    state.refs.append(StoredRef(at: t0, record: record))
    state.lastAt = t0
    let bytes = SnapshotCodec.encode(state)
    let error = #expect(throws: DecodeError.self) { try SnapshotCodec.decode(bytes, currencies: CurrencyTable([])) }
    #expect(error?.message == "invalid UTF-8 in string of 2 bytes")

    var good = LedgerState()
    good.refs.append(StoredRef(at: t0, record: try #require(try entry(with: referenceEncoding(replies[3])).idempotency)))
    let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(good), currencies: CurrencyTable([]))
    #expect(decoded == good && decoded.refs.first?.record.reply == replies[3])
}

@Test func anEntryReadWithItsReplyPackedIsTheSameEntryAndFailsTheSameWay() throws {
    // Replay's decoder packs each reply the quick scan accepts straight from the record; the rest
    // (non-ASCII, counts of 128 and more) go the field-by-field way as always.
    let samples = replies + [Reply(fields: [Field("k", String(repeating: "v", count: 200))])]
    for reply in samples {
        let body = EntryCodec.encode(try entry(with: referenceEncoding(reply)))
        let plain = try EntryCodec.decode(body[...])
        let packed = try body.withUnsafeBytes { try EntryCodec.decode($0, packingReplies: true) }
        #expect(packed == plain && packed.idempotency?.storedReply.bytes == referenceEncoding(reply))
        #expect(packed.idempotency?.reply == reply)
    }
    var invalid = Array("0123456789".utf8)
    invalid[3] = 0xFF
    for bad in [oneField(key: [0x6B], value: invalid), oneField(key: [0x6B], value: [0x76], declaredValueBytes: 500),
                oneField(key: Array(repeating: 0x6B, count: StoredReply.keyBytesMax + 1), value: [0x76]),
                oneField(key: [0x6B], value: Array(repeating: 0x76, count: StoredReply.valueBytesMax + 1))] {
        let body = EntryCodec.encode(try entry(with: bad))
        let plain = #expect(throws: DecodeError.self) { try EntryCodec.decode(body[...]) }
        let packed = #expect(throws: DecodeError.self) {
            try body.withUnsafeBytes { try EntryCodec.decode($0, packingReplies: true) }
        }
        #expect(plain != nil && packed == plain)
    }
}

@Test func anEntryCutOrDamagedAfterAReplyReadPackedFailsAsItFailsUnpacked() throws {
    // The reply is packed before the rest of the record is read: whatever comes after it must
    // still fail, and the same way.
    let body = EntryCodec.encode(try entry(with: referenceEncoding(replies[2])))
    let replyEnd = replyOffset + referenceEncoding(replies[2]).count
    func outcomes(_ bytes: [UInt8]) -> (Result<Entry, DecodeError>, Result<Entry, DecodeError>) {
        (Result { () throws(DecodeError) in try EntryCodec.decode(bytes[...]) },
         bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try EntryCodec.decode(raw, packingReplies: true) } })
    }
    for cut in replyEnd..<body.count {
        let (plain, packed) = outcomes(Array(body[..<cut]))
        #expect(plain == packed, "cut at \(cut)")
        if case .success = plain { Issue.record("a record cut at \(cut) decoded") }
    }
    for position in replyEnd..<body.count {
        var damaged = body
        damaged[position] ^= 0xFF
        let (plain, packed) = outcomes(damaged)
        #expect(plain == packed, "damaged at \(position)")
    }
}

@Test func aValueWithOneNonASCIIByteAnywhereIsCheckedByTheFieldByFieldReader() throws {
    // The quick scan tests ASCII eight bytes at a time: an odd byte in any word or tail position
    // must send the reply to the field-by-field reader, which keeps valid UTF-8 and refuses the rest.
    let ascii = Array("0123456789abcdefghij".utf8)
    for position in ascii.indices {
        var accented = ascii
        accented.replaceSubrange(position...position, with: [0xC3, 0xA9])  // é
        let good = oneField(key: [0x6B], value: accented)
        let decoded = try EntryCodec.decode(EntryCodec.encode(try entry(with: good))[...])
        #expect(decoded.idempotency?.storedReply.bytes == good)
        #expect(decoded.idempotency?.reply == Reply(fields: [Field("k", String(decoding: accented, as: UTF8.self))]))

        var invalid = ascii
        invalid[position] = 0xFF
        for (bad, offset) in [(oneField(key: [0x6B], value: invalid), replyOffset + 8 + 5),
                              (oneField(key: invalid, value: [0x76]), replyOffset + 8)] {
            #expect(throws: DecodeError("invalid UTF-8 in string of \(invalid.count) bytes", offset: offset)) {
                try EntryCodec.decode(EntryCodec.encode(try entry(with: bad))[...])
            }
        }
    }
}

@Test func aReplyWithACountOrLengthOf128OrMoreKeepsItsBytes() throws {
    // Counts and lengths of 128 and up have bytes that are not ASCII: the quick scan's test of
    // the whole reply fails on them and it must test the strings one by one instead.
    let samples = [
        Reply(fields: [Field("k", String(repeating: "v", count: 200))]),
        Reply(fields: [Field(String(repeating: "k", count: StoredReply.keyBytesMax), String(repeating: "v", count: StoredReply.valueBytesMax))]),
        Reply(items: Array(repeating: [Field("k", "v")], count: 200), fields: Array(repeating: Field("a", "b"), count: 130)),
        Reply(items: [[Field("k", String(repeating: "v", count: 128) + "é")]], fields: []),
    ]
    for reply in samples {
        let stored = try entry(with: referenceEncoding(reply))
        let decoded = try EntryCodec.decode(EntryCodec.encode(stored)[...])
        #expect(decoded.idempotency?.storedReply.bytes == referenceEncoding(reply))
        #expect(decoded.idempotency?.reply == reply)
    }
    let invalid = oneField(key: [0x6B], value: Array(repeating: 0x76, count: 150) + [0xFF])
    #expect(throws: DecodeError("invalid UTF-8 in string of 151 bytes", offset: replyOffset + 8 + 5)) {
        try EntryCodec.decode(EntryCodec.encode(try entry(with: invalid))[...])
    }
}
