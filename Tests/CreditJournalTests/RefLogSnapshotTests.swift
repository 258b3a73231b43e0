// Proves a snapshot of refs kept packed in memory (across chunks, some reversed, the oldest pruned) writes exactly the bytes the journal's record encoding gives for each ref, so the snapshot format is unchanged, and decodes back to an equal state that a ledger re-indexes and replays retries from.

import CreditCore
import CreditJournal
import Testing

private let t0 = Instant(millis: 1_795_703_400_000)  // 2026-11-26T14:30:00Z

/// Ref number `n`: every kind of action, refs short and long, multi-line replies now and then.
private func record(_ n: Int) -> IdempotencyRecord {
    let actions: [RecordedAction] = [.issued(CreditID(UInt64(n + 1))), .held(HoldID(2)), .captured(HoldID(3)),
                                     .loaded(CreditID(4), amount: MinorUnits(500), activated: n % 2 == 0),
                                     .refunded(CreditID(5), amount: MinorUnits(25)), .tombstone, .none]
    let items: [[Field]] = n % 7 == 0 ? [[Field("credit", "cr_\(n)"), Field("odd key", "ü")]] : []
    return IdempotencyRecord(client: ClientID(n % 2 == 0 ? "dev-pos" : "till-1"), ref: Ref("run-7f3a-issue-\(n)")!,
                             fingerprint: Digest32(w0: UInt64(n), w1: 1, w2: 2, w3: 3),
                             reply: Reply(items: items, fields: [Field("credit", "cr_\(n)"), Field("card", "************4242")]),
                             action: actions[n % actions.count])
}

/// The bytes `EntryCodec` writes for a record (an entry holding only it, minus the entry's framing).
private func journalBytes(_ record: IdempotencyRecord) -> ArraySlice<UInt8> {
    let entry = EntryCodec.encode(Entry(at: t0, idempotency: record, events: []))
    return entry[10..<(entry.count - 4)]  // u8 version, i64 at, u8 present ... u32 event count
}

@Test func aSnapshotOfPackedRefsIsByteForByteTheJournalsRecordsAndDecodesBackEqual() throws {
    var ledger = Ledger(policy: LedgerPolicy(currencies: CurrencyTable([])))
    let n = 30_000  // about 100 bytes each: three 1 MiB chunks
    for k in 0..<n {
        ledger.apply(Entry(at: Instant(millis: t0.millis + Int64(k)), idempotency: record(k), events: []))
    }
    #expect(Set(ledger.state.refs.positions.map { $0 >> 32 }).count >= 3)
    // Reverse a few, then forget the oldest 100 (a snapshot's refs need not start at position 0).
    let reversed = [150, 1000, n - 1]
    for k in reversed {
        ledger.apply(Entry(at: Instant(millis: t0.millis + Int64(n)), idempotency: nil,
                           events: [.markReversed(record(k).client, record(k).ref)]))
    }
    var state = ledger.canonicalState
    for _ in 0..<100 { state.refs.removeFirst() }

    // The refs section: a u32 count, then each ref's i64 instant and journal record bytes.
    var expected = ByteWriter()
    expected.u32(UInt32(n - 100))
    for k in 100..<n {
        let original = record(k)
        let kept = reversed.contains(k)
            ? IdempotencyRecord(client: original.client, ref: original.ref, fingerprint: original.fingerprint,
                                storedReply: original.storedReply, action: .none)
            : original
        expected.i64(t0.millis + Int64(k))
        expected.raw(Array(journalBytes(kept)))
    }
    let body = SnapshotCodec.encode(state)
    let refsStart = 1 + 8 + 8 + 8 + 4 + 4  // version, counters, no credits, no holds
    #expect(Array(body[refsStart..<(body.count - 4)]) == expected.buffer)

    let decoded = try SnapshotCodec.decode(body, currencies: CurrencyTable([]))
    #expect(decoded == state && SnapshotCodec.encode(decoded) == body)
    #expect(Array(decoded.refs.map(\.record)) == Array(state.refs.map(\.record)))

    // A ledger restored from it finds the kept refs and replays a retry's reply from them.
    var restored = Ledger(policy: LedgerPolicy(currencies: CurrencyTable([])), state: decoded)
    #expect(restored.refCount == n - 100 && restored.canonicalState == state)
    let issue = Command.issue(IssueCommand(type: .gift, amount: DecimalAmount("1.00")!, bonus: nil, currency: "AUD",
                                           profile: nil, campaign: nil, expires: nil, card: nil))
    for k in [99, 700, n - 5] {  // forgotten, then two issues (k % 7 == 0)
        let context = RequestContext(now: Instant(millis: t0.millis + Int64(n)), client: record(k).client,
                                     ref: record(k).ref, fingerprint: record(k).fingerprint)
        switch restored.execute(issue, context: context) {
        case .replayed(let reply): #expect(k != 99 && reply == record(k).reply)
        case let other: #expect(k == 99, "ref \(k) came to \(other)")
        }
    }
}
