// Proves that what replay's decoding thread works out beside an entry (its ref's hash, the credit
// its hold changes, the hold it resolves) is what the ledger itself would use, and that a ledger
// replayed from prepared entries, prefetching ahead as replay does (for credits and holds that
// are not there yet, too, and following what they refer to), ends equal to the live one and
// finds every ref again.

import Testing
@testable import CreditCore
import CreditJournal

@Test func aPreparedEntryNamesItsRefsHashTheCreditItHoldsAndTheHoldItResolves() throws {
    var h = Harness()
    let credits = [try h.newCredit(.gift, "100"), try h.newCredit(.gift, "50")]
    let holds = [try h.newHold(credits[0], "5"), try h.newHold(credits[1], "7")]
    _ = try #require(h.capture(holds[0], "2").appliedReply)
    _ = try #require(h.void(holds[1]).appliedReply)
    let prepared = h.entries.map { PreparedEntry($0) }
    try #require(prepared.count == 6)
    for (entry, prepared) in zip(h.entries, prepared) {
        let record = try #require(entry.idempotency)
        var (client, ref) = (record.client.text, record.ref.text)  // the bytes the ledger hashes
        let expected = client.withUTF8 { client in
            ref.withUTF8 { ref in Ledger.refHash(UnsafeRawBufferPointer(client), UnsafeRawBufferPointer(ref)) }
        }
        #expect(prepared.refHash == expected)
    }
    #expect(prepared.map(\.heldCredit) == [nil, nil, credits[0], credits[1], nil, nil])
    #expect(prepared.map(\.resolvedHold) == [nil, nil, nil, nil, holds[0], holds[1]])
    #expect(PreparedEntry(Entry(at: Fixture.t0, idempotency: nil, events: [])).refHash == nil)

    var replayed = Ledger(policy: Fixture.policy)
    var lent = prepared
    for index in lent.indices {
        if index + 2 < lent.count { replayed.prefetch(for: &lent[index + 2]) }
        if index + 1 < lent.count { replayed.prefetchFurther(for: &lent[index + 1]) }
        replayed.prefetchFurther(for: &lent[index])  // its credit and hold there now, or not yet
        replayed.apply(&lent[index])
    }
    #expect(replayed.state == h.ledger.state)
    for entry in h.entries {
        let record = try #require(entry.idempotency)
        #expect(replayed.refPosition(client: record.client, ref: record.ref) != nil, "ref \(record.ref.text)")
    }
}

@Test func replaysDecoderKeepsAnASCIIReplyPackedAndThePreparedEntryTakesItAsItIs() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    _ = try h.newHold(credit, "5")
    for entry in h.entries {
        let journal = try #require(entry.idempotency).storedReply.bytes
        let body = EntryCodec.encode(entry)
        let decoded = try body.withUnsafeBytes { try EntryCodec.decode($0, packingReplies: true) }
        let reply = try #require(decoded.idempotency).storedReply
        let expected = journal.withUnsafeBytes { PackedReply.packed($0) }
        #expect(reply.packedBytes == expected && reply.byteCount == journal.count && reply.bytes == journal)
        #expect(try EntryCodec.decode(body[...]).idempotency?.storedReply.packedBytes == nil, "read as it is without the flag")
        #expect(PreparedEntry(decoded).packedReply == expected && PreparedEntry(entry).packedReply == expected)
    }
}

@Test func aLedgerRestoredExpectingRefsIsTheSameLedgerWithARefIndexThatNeedNotGrow() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    for _ in 0..<20 { _ = try #require(h.capture(try h.newHold(credit, "1"), "1").appliedReply) }
    let plain = Ledger(policy: Fixture.policy, state: h.ledger.state)
    var expecting = Ledger(policy: Fixture.policy, state: h.ledger.state, expectingRefs: 5_000)
    #expect(expecting.state == plain.state && expecting.refCount == plain.refCount)
    #expect(expecting.refIndexCapacity * 3 >= (plain.refCount + 5_000) * 4 && expecting.refIndexCapacity > plain.refIndexCapacity)
    for entry in h.entries {
        let record = try #require(entry.idempotency)
        #expect(expecting.refPosition(client: record.client, ref: record.ref) == plain.refPosition(client: record.client, ref: record.ref))
    }
    // Going on from it: more holds and a capture, each ref found again.
    h.ledger = expecting
    let held = try h.newHold(credit, "3")
    _ = try #require(h.capture(held, "2").appliedReply)
    expecting = h.ledger
    for entry in h.entries {
        let record = try #require(entry.idempotency)
        #expect(expecting.refPosition(client: record.client, ref: record.ref) != nil, "ref \(record.ref.text)")
    }
    #expect(expecting.refCount == plain.refCount + 2)
}
