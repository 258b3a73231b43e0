// Proves StoredReply lays a reply out as the journal does (u32 little-endian counts and lengths, UTF-8 strings), decodes back to the same reply — item lines, empty lines and strings, non-ASCII — is equal exactly when the bytes are (also when read packed, as replay reads it), and that an idempotency record keeps and compares its reply as those bytes.

@testable import CreditCore
import Testing

/// Replies of every shape a stored reply must keep.
private let replies: [Reply] = [
    Reply(fields: []),
    Reply(fields: [Field("credit", "cr_1"), Field("balance", "50.00"), Field("currency", "AUD")]),
    Reply(items: [[Field("credit", "cr_1"), Field("amount", "30.00")], [], [Field("", "")]],
          fields: [Field("hold", "hd_1"), Field("remaining", "0.00")]),
    Reply(items: [[Field("reason", "found ✓")]], fields: [Field("note", "Ünïcödé — 日本 🎁"), Field("empty", "")]),
    Reply(items: [[Field("credit", "cr_9")]], fields: []),
    Reply(items: Array(repeating: [Field("k", "v")], count: StoredReply.listCountMax),
          fields: [Field(String(repeating: "k", count: StoredReply.keyBytesMax),
                         String(repeating: "é", count: StoredReply.valueBytesMax / 2))]),
]

@Test func everyReplyRoundTripsThroughItsBytes() {
    for reply in replies {
        let stored = StoredReply(reply)
        #expect(stored.reply == reply)
        #expect(StoredReply(validatedBytes: stored.bytes) == stored)
        #expect(StoredReply(validatedBytes: stored.bytes).reply == reply)
        #expect(StoredReply(stored.reply).bytes == stored.bytes)
        // A stored reply shares the reply's bytes, so the round trip that can fail is through
        // the decoded lines.
        #expect(Reply(items: stored.reply.items, fields: stored.reply.fields) == reply,
                "decoding the lines and encoding them again gives the same bytes")
    }
}

@Test func aReplyReadPackedGivesBackItsBytesAndEqualsTheReplyReadAsItIs() {
    for reply in replies {
        let stored = StoredReply(reply)
        let packed = stored.bytes.withUnsafeBytes { StoredReply(packingValidatedBytes: $0) }
        #expect(packed.bytes == stored.bytes && packed.byteCount == stored.bytes.count && stored.byteCount == stored.bytes.count)
        #expect(packed.reply == reply)
        #expect(packed == stored && stored == packed)
        #expect(packed == stored.bytes.withUnsafeBytes { StoredReply(packingValidatedBytes: $0) })
        #expect(packed.packedBytes == stored.bytes.withUnsafeBytes { PackedReply.packed($0) } && stored.packedBytes == nil)
    }
    let one = StoredReply(replies[1]).bytes.withUnsafeBytes { StoredReply(packingValidatedBytes: $0) }
    let other = StoredReply(replies[4]).bytes.withUnsafeBytes { StoredReply(packingValidatedBytes: $0) }
    #expect(one != other && one != StoredReply(replies[4]) && StoredReply(replies[4]) != one)
}

@Test func theLayoutIsLittleEndianCountsAndLengthPrefixedUTF8() {
    let reply = Reply(items: [[Field("a", "b")], []], fields: [Field("k", "é")])
    let expected: [UInt8] = [
        2, 0, 0, 0,  // two item lines
        1, 0, 0, 0, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0x62,  // the first: a=b
        0, 0, 0, 0,  // the second: no fields
        1, 0, 0, 0, 1, 0, 0, 0, 0x6B, 2, 0, 0, 0, 0xC3, 0xA9,  // the OK line: k=é
    ]
    #expect(StoredReply(reply).bytes == expected)
    #expect(StoredReply(Reply(fields: [])).bytes == [0, 0, 0, 0, 0, 0, 0, 0])
}

@Test func storedRepliesAreEqualExactlyWhenTheirBytesAre() {
    for (i, a) in replies.enumerated() {
        for (j, b) in replies.enumerated() {
            #expect((StoredReply(a) == StoredReply(b)) == (i == j), "replies \(i) and \(j)")
        }
    }
    // The same strings split differently are different replies, and different bytes.
    let lines = [Reply(items: [[Field("a", "b")]], fields: []), Reply(items: [], fields: [Field("a", "b")]),
                 Reply(fields: [Field("ab", "")]), Reply(fields: [Field("a", "b")] + [Field("", "")])]
    #expect(Set(lines.map { StoredReply($0).bytes }).count == lines.count)
    // Bytes are stricter than `String ==`: canonically equivalent spellings are equal strings, not
    // equal bytes, and replies (kept as their bytes) compare as stored replies do.
    let (precomposed, combining) = (Reply(fields: [Field("k", "\u{E9}")]), Reply(fields: [Field("k", "e\u{301}")]))
    #expect(precomposed.fields == combining.fields)
    #expect(precomposed != combining)
    #expect(StoredReply(precomposed) != StoredReply(combining))
    #expect(StoredReply(combining).reply.fields[0].value.unicodeScalars.count == 2, "the spelling is kept")
}

@Test func aRecordKeepsItsReplyAsBytesAndComparesThem() throws {
    let (client, ref, fingerprint) = (ClientID("till-1"), try #require(Ref("r-1")), Digest32(w0: 1, w1: 2, w2: 3, w3: 4))
    let reply = replies[3]
    let record = IdempotencyRecord(client: client, ref: ref, fingerprint: fingerprint, reply: reply, action: .held(HoldID(1)))
    #expect(record.storedReply == StoredReply(reply))
    #expect(record.reply == reply)
    #expect(record == IdempotencyRecord(client: client, ref: ref, fingerprint: fingerprint, storedReply: StoredReply(reply),
                                        action: .held(HoldID(1))))
    #expect(record != IdempotencyRecord(client: client, ref: ref, fingerprint: fingerprint, reply: replies[2],
                                        action: .held(HoldID(1))))
}

@Test func theLongestStoredReplyAStockFitsTheJournalsLimits() {
    // A STOCK reply has one item line per card; the journal must read back the largest one.
    #expect(StoredReply.listCountMax >= Ledger.stockCountMax)
    let stock = Reply(items: Array(repeating: [Field("credit", "cr_1000000"), Field("card", "************1234")],
                                   count: Ledger.stockCountMax),
                      fields: [Field("count", "\(Ledger.stockCountMax)"), Field("currency", "AUD")])
    #expect(StoredReply.fitsLimits(stock))
    #expect(!StoredReply.fitsLimits(Reply(items: Array(repeating: [], count: StoredReply.listCountMax + 1), fields: [])))
    #expect(!StoredReply.fitsLimits(Reply(fields: [Field("k", String(repeating: "v", count: StoredReply.valueBytesMax + 1))])))
    #expect(!StoredReply.fitsLimits(Reply(fields: [Field(String(repeating: "k", count: StoredReply.keyBytesMax + 1), "v")])))
}
