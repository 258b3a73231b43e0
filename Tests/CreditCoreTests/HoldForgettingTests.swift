// Proves resolved holds are forgotten a ref window after their deadline, oldest number first:
// CAPTURE and VOID then get NOT_FOUND saying so, the refs that name them were forgotten earlier
// (so REVERSE never meets a forgotten hold), a long pending hold keeps the holds after it, a
// replayed or restored ledger forgets exactly what the live one did (also from a state whose last
// instant is the earliest), and the table frees the storage of the chunks it emptied.

@testable import CreditCore
import Testing

private let minute: Int64 = 60_000
/// The fixture's default TTL (15 min) and ref window (1 h).
private let ttl: Int64 = 15 * minute
private let window: Int64 = 60 * minute

/// A ledger replaying the entries `h` applied, for comparing with the live one.
private func replayed(_ h: Harness) -> Ledger {
    var ledger = Ledger(policy: Fixture.policy)
    for entry in h.entries { ledger.apply(entry) }
    return ledger
}

@Test func resolvedHoldsAreForgottenARefWindowAfterTheirDeadline() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let captured = try h.newHold(credit, "30")
    _ = try #require(h.capture(captured, ref: "cap-1").appliedReply)
    let voided = try h.newHold(credit, "10")
    _ = try #require(h.void(voided).appliedReply)
    // Just before the first deadline plus the window, everything is kept.
    h.advance(millis: ttl + window - 1)
    _ = try h.newHold(credit, "1")
    #expect(h.ledger.state.holds.contains(captured) && h.ledger.state.holds.contains(voided))
    #expect(h.capture(captured).refusal == CreditError(.holdCaptured, "hold hd_1 was already captured"))
    // From the deadline plus the window on, both are forgotten at the next change.
    h.advance(millis: 1)
    _ = try h.newHold(credit, "1")
    #expect(!h.ledger.state.holds.contains(captured) && !h.ledger.state.holds.contains(voided))
    #expect(h.capture(captured).refusal
            == CreditError(.notFound, "hold hd_1 ended and was forgotten a ref window after its deadline"))
    #expect(h.void(voided).code == .notFound)
    #expect(h.capture(HoldID(99)).refusal == CreditError(.notFound, "no hold hd_99"))
    // The CAPTURE's ref went before its hold: reversing it now only leaves a tombstone.
    #expect(h.reverse("cap-1").appliedReply?.value("tombstone") == "yes")
    // The later holds are pending and kept; the credit's books still balance.
    #expect(h.ledger.state.holds.count == 2 && h.ledger.auditProblems.isEmpty)
    #expect(replayed(h).canonicalState == h.ledger.canonicalState)
}

@Test func aLongPendingHoldKeepsTheHoldsNumberedAfterIt() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let long = try h.newHold(credit, "5", ttl: Seconds(86_400))
    let short = try h.newHold(credit, "5")
    _ = try #require(h.capture(short).appliedReply)
    h.advance(millis: ttl + window)
    _ = try h.newHold(credit, "1")
    #expect(h.ledger.state.holds.contains(short), "hd_1 is pending, so hd_2 waits behind it")
    // A ledger restored from this state goes on forgetting exactly as the live one.
    var restored = Ledger(policy: Fixture.policy, state: h.ledger.canonicalState)
    let applied = h.entries.count
    _ = try #require(h.void(long).appliedReply)
    h.advance(millis: 86_400_000 + window)
    _ = try h.newHold(credit, "1")
    #expect(!h.ledger.state.holds.contains(long) && !h.ledger.state.holds.contains(short))
    for entry in h.entries[applied...] { restored.apply(entry) }
    #expect(restored.canonicalState == h.ledger.canonicalState)
    #expect(replayed(h).canonicalState == h.ledger.canonicalState)
}

@Test func aStateFromBeforeHoldsWereForgottenForgetsThemWhenRestored() throws {
    // A snapshot written before this rule keeps every hold; restored, it must equal what replaying
    // the journal from the start gives, before any further entry is applied.
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let ended = try h.newHold(credit, "30")
    _ = try #require(h.void(ended).appliedReply)
    h.advance(millis: ttl + window)
    _ = try h.newHold(credit, "1")
    #expect(!h.ledger.state.holds.contains(ended))
    var old = h.ledger.canonicalState
    let hold = try #require(replayedHold(ended, h))
    old.holds[ended] = hold
    #expect(old.holds.contains(ended))
    let restored = Ledger(policy: Fixture.policy, state: old)
    #expect(restored.canonicalState == h.ledger.canonicalState)
}

@Test func aStateWhoseLastInstantIsTheEarliestRestoresAndForgetsNothing() throws {
    // A snapshot's last instant is any i64; a ref window before the earliest one is not a
    // number (found by fuzzing: restoring trapped). Nothing is older than the window then.
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let ended = try h.newHold(credit, "30")
    _ = try #require(h.void(ended).appliedReply)
    var state = h.ledger.canonicalState
    state.lastAt = Instant(millis: Int64.min)
    var restored = Ledger(policy: Fixture.policy, state: state)
    #expect(restored.canonicalState == state && restored.state.holds.contains(ended))
    #expect(restored.refCount == h.ledger.refCount)
    // An entry at an ordinary time then forgets by that time, as the live ledger would.
    restored.apply(Entry(at: Instant(millis: Fixture.t0.millis + ttl + window), idempotency: nil, events: []))
    #expect(!restored.state.holds.contains(ended) && restored.refCount == 0)
}

/// Hold `id` as it was when it ended: replaying `h`'s entries up to the first that forgot it.
private func replayedHold(_ id: HoldID, _ h: Harness) -> Hold? {
    var ledger = Ledger(policy: Fixture.policy)
    var last: Hold?
    for entry in h.entries {
        ledger.apply(entry)
        if let hold = ledger.state.holds[id] { last = hold } else if last != nil { break }
    }
    return last
}

@Test func forgettingThousandsOfHoldsFreesTheirChunks() throws {
    var h = Harness(policy: LedgerPolicy(currencies: Fixture.policy.currencies, holdTTLDefault: Seconds(60),
                                         holdTTLMax: Seconds(60), refWindow: Seconds(60), holdsPerCreditMax: 3))
    let credit = try h.newCredit(.gift, "100")
    let count = 3 * NumberedTable<HoldID, Hold>.chunkCount + 5
    for _ in 0..<count {
        let hold = try h.newHold(credit, "1")
        _ = try #require(h.void(hold).appliedReply)
    }
    #expect(h.ledger.state.holds.allocatedChunkCount == 4)
    h.advance(millis: 2 * minute + 1)
    _ = try h.newHold(credit, "1")
    #expect(h.ledger.state.holds.count == 1 && h.ledger.state.holds.allocatedChunkCount == 1)
    #expect(h.ledger.auditProblems.isEmpty)
}

@Test func aTableFreesOnlyChunksBelowTheGivenNumberAndCanRefillThem() {
    var table = NumberedTable<HoldID, Int>()
    let perChunk = NumberedTable<HoldID, Int>.chunkCount
    for number in 1...(2 * perChunk + 10) { table[HoldID(UInt64(number))] = number }
    for number in 1...(perChunk + 3) { table.removeValue(forKey: HoldID(UInt64(number))) }
    table.releaseEmptyChunks(below: HoldID(1))
    #expect(table.allocatedChunkCount == 3)
    table.releaseEmptyChunks(below: HoldID(UInt64(perChunk + 4)))  // the second chunk still holds values
    #expect(table.allocatedChunkCount == 2)
    #expect(table.count == perChunk + 7 && table[HoldID(UInt64(perChunk + 4))] == perChunk + 4)
    table[HoldID(7)] = 7
    #expect(table[HoldID(7)] == 7 && table.count == perChunk + 8 && table.allocatedChunkCount == 3)
}

@Test func firstIDFindsTheNextValueAcrossGapsAndMissingChunks() {
    var table = NumberedTable<HoldID, Int>()
    #expect(table.firstID(atOrAbove: HoldID(1)) == nil)
    let far: UInt64 = 3_000_000_000  // chunks apart, as in a restored state with a gap
    for number in [3, 5, far] { table[HoldID(number)] = Int(number % 1000) }
    #expect(table.firstID(atOrAbove: HoldID(0)) == HoldID(3))
    #expect(table.firstID(atOrAbove: HoldID(4)) == HoldID(5))
    #expect(table.firstID(atOrAbove: HoldID(6)) == HoldID(far))
    #expect(table.firstID(atOrAbove: HoldID(far + 1)) == nil)
    #expect(table.firstID(atOrAbove: HoldID(NumberedTable<HoldID, Int>.numberMax + 1)) == nil)
}

