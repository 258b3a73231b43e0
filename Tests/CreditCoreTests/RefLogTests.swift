// Proves the packed log of remembered refs gives back every ref exactly as appended (every kind of action, replies with unknown keys, long and non-ASCII values, a reply larger than a chunk) across chunk boundaries; keeps positions when the front is dropped and drops whole chunks; knows the oldest ref's time through appends, drops and emptying; fills a spare chunk given it (and keeps a whole dropped chunk as the spare), asking for one only when its last chunk is half full; keeps a reply packed beforehand (as replay does) exactly as one packed on append; turns a reversed action to none in place; stays independent of its copies; compares by content whatever the positions and the numbers its client ids got; and that a ledger finds, retries and forgets refs held this way.

import Testing
@testable import CreditCore

private let t0 = Instant(millis: 1_795_703_400_000)

/// Every kind of recorded action, in turn.
private let actions: [RecordedAction] = [
    .none, .issued(CreditID(7)), .held(HoldID(8)), .captured(HoldID(9)),
    .loaded(CreditID(10), amount: MinorUnits(1234), activated: true),
    .loaded(CreditID(11), amount: MinorUnits(5), activated: false),
    .refunded(CreditID(12), amount: MinorUnits(-3)), .tombstone,
]

/// A varied ref number `n`: refs short and long, clients two, replies of several shapes.
private func storedRef(_ n: Int, at: Instant = t0) -> StoredRef {
    let ref = n % 2 == 0 ? "r-\(n)" : "store-0042/till-7:\(n)#retry@\(n)"
    var fields = [Field("credit", "cr_\(n)"), Field("type", "gift"), Field("balance", "50.00"),
                  Field("currency", "AUD"), Field("card", "************\(1000 + n % 9000)")]
    if n % 3 == 0 { fields.append(Field("unheard_of_key", String(repeating: "é", count: n % 200))) }
    let items: [[Field]] = n % 5 == 0 ? [[Field("credit", "cr_1"), Field("amount", "1.00")], []] : []
    let record = IdempotencyRecord(client: ClientID(n % 4 == 0 ? "dev-pos" : "till-\(n % 3)"), ref: Ref(ref)!,
                                   fingerprint: Digest32(w0: UInt64(n), w1: ~UInt64(n), w2: 3, w3: UInt64(n) << 32),
                                   reply: Reply(items: items, fields: fields), action: actions[n % actions.count])
    return StoredRef(at: at, record: record)
}

@Test func packedRepliesComeBackByteForByte() {
    let replies = [
        Reply(fields: []),
        Reply(fields: [Field("credit", "cr_1"), Field("", ""), Field(String(repeating: "k", count: 64), "v")]),
        Reply(items: [[], [Field("seq", "1")]], fields: [Field("count", String(repeating: "x", count: 1024))]),
        Reply(fields: [Field("reason", "naïve café ☕️"), Field("to", String(repeating: "y", count: 300))]),
    ]
    #expect(PackedReply.keys.count <= 128 && Set(PackedReply.keys).count == PackedReply.keys.count)
    for reply in replies {
        let journal = StoredReply(reply).bytes
        let packed = journal.withUnsafeBytes { journal in
            [UInt8](unsafeUninitializedCapacity: journal.count) { buffer, count in
                count = PackedReply.pack(journal, into: UnsafeMutableRawBufferPointer(buffer))
            }
        }
        #expect(packed.withUnsafeBytes { PackedReply.journalLayout(ofPacked: $0) } == journal)
        #expect(packed.count <= journal.count)
    }
    // A record's reply count is a varint padded to the width the unpacked count needs.
    for (value, width) in [(0, 1), (5, 2), (127, 3), (128, 2), (300, 5), (1 << 27, 4)] {
        var bytes = [UInt8](repeating: 0xFF, count: width)
        bytes.withUnsafeMutableBytes { buffer in
            var sink = ByteSink(writingInto: buffer)
            sink.varint(value, width: width)
        }
        #expect(bytes.withUnsafeBytes { buffer in
            var reader = ByteSource(buffer)
            return reader.varint() == value && reader.isAtEnd
        })
    }
    #expect(ByteSink.varintWidth(127) == 1 && ByteSink.varintWidth(128) == 2 && ByteSink.varintWidth(1 << 28) == 5)
}

@Test func refLogGivesBackEveryRefAcrossChunksAndKeepsPositionsWhenTheFrontIsDropped() {
    var log = RefLog()
    var kept: [(position: Int, stored: StoredRef)] = []
    var n = 0
    while log.chunkCount < 4 {
        let stored = storedRef(n, at: Instant(millis: t0.millis + Int64(n)))
        kept.append((log.append(stored), stored))
        n += 1
    }
    #expect(log.count == n && log.first == kept.first?.stored && log.last == kept.last?.stored)
    #expect(Array(log.positions) == kept.map(\.position))
    #expect(Array(log) == kept.map(\.stored))
    for (position, stored) in kept {
        #expect(log[position] == stored && log.at(position) == stored.at && log.action(at: position) == stored.record.action)
    }
    // Drop the first chunk and a few refs of the second: the others keep their positions.
    let firstChunkRefs = kept.firstIndex { $0.position >> 32 == 1 }!
    for _ in 0..<(firstChunkRefs + 3) { log.removeFirst() }
    kept.removeFirst(firstChunkRefs + 3)
    #expect(log.chunkCount == 3 && log.count == kept.count && log.firstPosition == kept.first?.position)
    #expect(Array(log.positions) == kept.map(\.position) && Array(log) == kept.map(\.stored))
    for (position, stored) in kept.suffix(100) { #expect(log[position] == stored) }
    while !log.isEmpty { log.removeFirst() }
    #expect(log.chunkCount == 0 && log.first == nil && log.last == nil && Array(log.positions).isEmpty)
    let position = log.append(storedRef(1))
    #expect(position >> 32 == 4 && log[position] == storedRef(1) && Array(log) == [storedRef(1)])
}

@Test func firstAtIsTheOldestKeptRefsTimeThroughAppendsChunkDropsAndEmptying() {
    var log = RefLog()
    #expect(log.firstAt == nil)
    var times: [Instant] = []
    var n = 0
    while log.chunkCount < 3 {
        // Times that repeat and jump, as entries' instants may.
        let at = Instant(millis: t0.millis + Int64(n / 3) * 997)
        log.append(storedRef(n, at: at))
        times.append(at)
        n += 1
        #expect(log.firstAt == times[0])
    }
    var removed = 0
    while !log.isEmpty {
        #expect(log.firstAt == times[removed] && log.firstAt == log.first?.at)
        log.removeFirst()
        removed += 1
    }
    #expect(removed == times.count && log.firstAt == nil)
    // Appended to again once empty, from a chunk kept as the spare.
    log.append(storedRef(1, at: Instant(millis: t0.millis + 5)))
    #expect(log.firstAt == Instant(millis: t0.millis + 5))
}

@Test func aSpareChunkIsTheNextFilledAndAWholeDroppedChunkBecomesTheSpare() {
    // Held in an optional so that it can be moved into the log: a copy kept here would make the
    // log's first append to it copy it.
    var spareChunk: [UInt8]? = RefLog.makeSpareChunk()
    #expect(spareChunk!.isEmpty && spareChunk!.capacity >= RefLog.chunkBytes)
    var log = RefLog()
    var kept: [(position: Int, stored: StoredRef)] = []
    func append() {
        let stored = storedRef(kept.count, at: Instant(millis: t0.millis + Int64(kept.count)))
        kept.append((log.append(stored), stored))
    }
    #expect(!log.wantsSpareChunk)  // nothing appended yet
    while !log.wantsSpareChunk { append() }
    // It asks once its only chunk is half full, not before.
    #expect(log.chunkCount == 1 && kept.count > 1000)
    let given = spareChunk!.withUnsafeBytes { $0.baseAddress }
    log.giveSpareChunk(spareChunk.take()!)
    #expect(log.hasSpareChunk && !log.wantsSpareChunk && log.chunkAddress(nil) == given)
    while log.chunkCount < 2 { append() }
    // The chunk given is the one written next.
    #expect(!log.hasSpareChunk && log.chunkAddress(1) == given)
    while log.chunkCount < 3 { append() }  // none given: a chunk made whole
    #expect(!log.hasSpareChunk && log.wantsSpareChunk == false)
    // Forget every ref of the first chunk: that whole chunk becomes the spare, then the next one.
    let firstChunk = log.chunkAddress(0)
    let inFirst = kept.firstIndex { $0.position >> 32 == 1 }!
    for _ in 0..<inFirst { log.removeFirst() }
    kept.removeFirst(inFirst)
    #expect(log.chunkCount == 2 && log.hasSpareChunk && log.chunkAddress(nil) == firstChunk)
    while log.chunkCount < 3 { append() }
    #expect(log.chunkAddress(2) == firstChunk)
    // Whatever chunk it went into, every ref reads back at its position, in order.
    #expect(Array(log.positions) == kept.map(\.position) && Array(log) == kept.map(\.stored))
    for (position, stored) in kept.suffix(50) { #expect(log[position] == stored) }
    // A spare is not part of the log's value, and a log with none compares equal.
    var other: RefLog = []
    for (_, stored) in kept { other.append(stored) }
    #expect(other == log)
}

/// A supplier that has a ref log chunk from the second time it is asked, and counts the asks.
private final class CountingSupplier: LedgerSpareSupplier {
    var refChunksAsked = 0
    var othersAsked = 0
    func refChunk() -> [UInt8]? {
        refChunksAsked += 1
        return refChunksAsked == 1 ? nil : RefLog.makeSpareChunk()  // the first time, none is ready
    }
    func refIndexTable(capacity: Int) -> SpareIndexTable? { othersAsked += 1; return nil }
    func holdChunk() -> [Hold?]? { othersAsked += 1; return nil }
    func creditChunk() -> [Credit?]? { othersAsked += 1; return nil }
}

@Test func aLedgerAsksForASpareRefChunkOnlyWhenItsRefLogWantsOne() {
    var ledger = Ledger(policy: Fixture.policy)
    let supplier = CountingSupplier()
    ledger.offerSpares(from: supplier)
    #expect(supplier.refChunksAsked == 0)
    var n = 0
    while !ledger.state.refs.wantsSpareChunk {
        ledger.apply(Entry(at: Instant(millis: t0.millis + Int64(n)), idempotency: storedRef(n).record, events: []))
        n += 1
    }
    ledger.offerSpares(from: supplier)
    #expect(supplier.refChunksAsked == 1 && !ledger.state.refs.hasSpareChunk)
    ledger.offerSpares(from: supplier)
    #expect(supplier.refChunksAsked == 2 && ledger.state.refs.hasSpareChunk)
    ledger.offerSpares(from: supplier)
    #expect(supplier.refChunksAsked == 2)
    // No credit, hold or large index here: nothing else was asked for.
    #expect(supplier.othersAsked == 0)
}

@Test func aReplyLargerThanAChunkGetsAChunkOfItsOwn() {
    let value = String(repeating: "v", count: StoredReply.valueBytesMax)
    let items = [[Field]](repeating: [Field("credit", value), Field("amount", value), Field("held", value),
                                      Field("to", value), Field("from", value)], count: 250)
    let huge = StoredRef(at: t0, record: IdempotencyRecord(client: ClientID("till-1"), ref: Ref("stock-1")!,
                                                             fingerprint: Digest32(w0: 1, w1: 2, w2: 3, w3: 4),
                                                             reply: Reply(items: items, fields: [Field("count", "250")])))
    var log: RefLog = [storedRef(0), huge, storedRef(1)]
    #expect(log.chunkCount == 3 && Array(log) == [storedRef(0), huge, storedRef(1)])
    log.removeFirst()
    log.removeFirst()
    #expect(log.chunkCount == 1 && Array(log) == [storedRef(1)])
    // Its chunk, dropped, is not kept as the next to fill: only a chunk's worth would be filled.
    #expect(!log.hasSpareChunk)
}

@Test func markReversedTurnsTheActionToNoneInPlaceAndEqualsARecordMadeThatWay() {
    let original = storedRef(1)  // .issued
    #expect(original.record.action == .issued(CreditID(7)))
    var log = RefLog()
    let before = log.append(storedRef(0))
    let position = log.append(original)
    let after = log.append(storedRef(2))
    log.markReversed(at: position)
    let record = original.record
    let reversed = StoredRef(at: original.at, record: IdempotencyRecord(
        client: record.client, ref: record.ref, fingerprint: record.fingerprint, storedReply: record.storedReply, action: .none))
    #expect(log[position] == reversed && log.action(at: position) == RecordedAction.none)
    #expect(log[before] == storedRef(0) && log[after] == storedRef(2))
    #expect(log == [storedRef(0), reversed, storedRef(2)])
    #expect(log != [storedRef(0), original, storedRef(2)])
}

@Test func aCopiedRefLogStaysIndependentAndLogsCompareByContent() {
    var log = RefLog()
    var positions: [Int] = []
    while log.chunkCount < 2 { positions.append(log.append(storedRef(positions.count))) }
    let copy = log
    let copied = Array(copy)
    log.append(storedRef(-1 & 0xFFFF))
    log.markReversed(at: positions[1])
    log.removeFirst()
    #expect(Array(copy) == copied && copy.count == positions.count && copy.first == storedRef(0))
    #expect(copy != log)
    var other = copy
    let reversible = positions.indices.last { actions[$0 % actions.count] != .none }!  // reversing .none changes nothing
    other.markReversed(at: positions[reversible])
    #expect(copy[positions[reversible]] == copied[reversible] && other != copy)

    // Same refs at other positions: equal. One byte of a reply different: not.
    var dropped = RefLog()
    for n in 0..<10 { dropped.append(storedRef(n)) }
    for _ in 0..<7 { dropped.removeFirst() }
    let fresh: RefLog = [storedRef(7), storedRef(8), storedRef(9)]
    #expect(dropped == fresh)
    let changed = StoredRef(at: t0, record: IdempotencyRecord(
        client: storedRef(9).record.client, ref: storedRef(9).record.ref, fingerprint: storedRef(9).record.fingerprint,
        reply: Reply(fields: [Field("credit", "cr_8")]), action: storedRef(9).record.action))
    #expect(dropped != [storedRef(7), storedRef(8), changed])
    #expect(dropped != [storedRef(7), storedRef(8)])
}

@Test func aLedgerFindsRetriesAndForgetsRefsAcrossChunks() {
    let policy = Fixture.policy  // refs remembered an hour
    var ledger = Ledger(policy: policy)
    // Remembered refs from tombstones (REVERSE of unknown refs): thousands, across chunks.
    let client = ClientID("till-1")
    let total = 20_000
    for n in 0..<total {
        let entry = Entry(at: Instant(millis: t0.millis + Int64(n)), idempotency: storedRef(n).record,
                          events: [.tombstone(client, Ref("gone-\(n)")!)])
        ledger.apply(entry)
    }
    #expect(ledger.refCount == 2 * total && ledger.state.refs.chunkCount > 2)
    for n in stride(from: 0, to: total, by: 997) {
        let record = storedRef(n).record
        let position = ledger.refPosition(client: record.client, ref: record.ref)
        #expect(position.map { ledger.state.refs[$0].record } == record)
        #expect(ledger.refPosition(client: client, ref: Ref("gone-\(n)")!) != nil)
        #expect(ledger.refPosition(client: ClientID("till-9"), ref: record.ref) == nil)
    }
    // A ledger restored from the state indexes every ref, and equals it.
    let restored = Ledger(policy: policy, state: ledger.canonicalState)
    #expect(restored.canonicalState == ledger.canonicalState)
    #expect(restored.refPosition(client: client, ref: Ref("gone-\(total - 1)")!) != nil)
    // An hour after the middle ref, the first half is forgotten, chunk by chunk.
    let chunks = ledger.state.refs.chunkCount
    ledger.apply(Entry(at: Instant(millis: t0.millis + Int64(total / 2) + 3_600_000), idempotency: nil, events: []))
    #expect(ledger.refCount == 2 * (total / 2 - 1) && ledger.state.refs.chunkCount < chunks)
    #expect(ledger.refPosition(client: client, ref: Ref("gone-\(total / 2)")!) == nil)
    #expect(ledger.refPosition(client: client, ref: Ref("gone-\(total / 2 + 1)")!) != nil)
    let last = storedRef(total - 1).record
    #expect(ledger.refPosition(client: last.client, ref: last.ref).map { ledger.state.refs[$0].record } == last)
}

@Test func aRestoredLedgerFindsTheNewerOfTwoRecordsForOneRef() {
    // A ref used again (after a REVERSE tombstone, or once its window passed) is remembered twice;
    // as live, a ledger restored from the state points the ref at the newer record, and the other
    // refs around it still resolve.
    let policy = Fixture.policy
    var ledger = Ledger(policy: policy)
    let client = ClientID("till-1")
    for n in 0..<6 {
        let ref = Ref(n == 0 || n == 4 ? "again" : "once-\(n)")!
        let record = IdempotencyRecord(client: client, ref: ref, fingerprint: Digest32(w0: UInt64(n), w1: 0, w2: 0, w3: 0),
                                       reply: Reply(fields: [Field("n", "\(n)")]), action: .none)
        ledger.apply(Entry(at: Instant(millis: t0.millis + Int64(n)), idempotency: record, events: []))
    }
    #expect(ledger.refCount == 6)
    let restored = Ledger(policy: policy, state: ledger.canonicalState)
    for candidate in [ledger, restored] {
        let position = candidate.refPosition(client: client, ref: Ref("again")!)
        #expect(position.map { candidate.state.refs[$0].record.fingerprint.w0 } == 4)
        #expect(candidate.refPosition(client: client, ref: Ref("once-5")!) != nil)
        #expect(candidate.refPosition(client: ClientID("till-2"), ref: Ref("again")!) == nil)
    }
}

@Test func clientIDsAreNumberedPerLogAndLogsNumberingThemApartStillCompareEqual() {
    /// Ref `n` of one of 300 clients (more than a one-byte number holds).
    func stored(_ n: Int) -> StoredRef {
        let base = storedRef(n).record
        return StoredRef(at: t0, record: IdempotencyRecord(client: ClientID("till-\(n % 300)"), ref: base.ref,
                                                           fingerprint: base.fingerprint, storedReply: base.storedReply,
                                                           action: base.action))
    }
    var forward = RefLog()
    var positions: [Int] = []
    for n in 0..<600 { positions.append(forward.append(stored(n))) }
    for (n, position) in positions.enumerated() {
        #expect(forward[position] == stored(n))
        #expect(forward.withKey(at: position) { client, _ in Array(client) } == Array("till-\(n % 300)".utf8))
    }
    // A log that saw the clients in another order numbers them apart, and still equals it.
    var other = RefLog()
    for n in (0..<300).reversed() { other.append(stored(n)) }
    for n in 300..<600 { other.append(stored(n)) }
    for _ in 0..<300 { other.removeFirst() }
    for _ in 0..<300 { forward.removeFirst() }
    #expect(forward == other && Array(forward) == Array(other))
    var longer = other
    longer.append(stored(0))
    #expect(forward != longer && other.count == 300)
}

@Test func aReplyPackedBeforehandIsKeptExactlyAsOnePackedOnAppend() {
    // Replay packs replies on its decoding thread; the log must not tell the two apart.
    var packedOnAppend = RefLog()
    var packedBefore = RefLog()
    for n in 0..<400 {
        let stored = storedRef(n)
        packedOnAppend.append(stored)
        packedBefore.append(stored.record, at: stored.at,
                            packedReply: stored.record.storedReply.bytes.withUnsafeBytes { PackedReply.packed($0) })
    }
    #expect(packedBefore == packedOnAppend)
    // Same positions: every record took the same bytes, count width included.
    #expect(Array(packedBefore.positions) == Array(packedOnAppend.positions))
    #expect(Array(packedBefore) == (0..<400).map { storedRef($0) })
}
