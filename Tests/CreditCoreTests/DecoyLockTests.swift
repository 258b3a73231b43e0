// Proves decoy locks: an unknown card number gets exactly the replies a real card gets when every PIN is wrong (DECLINED N times, then CARD_LOCKED until the lockout ends, counting afresh after), its state survives a restore and a replay, old journals' `cardDeclined(nil)` still changes nothing, and the table stays within its cap by a rule that depends only on applied entries.

import CreditCore
import Testing

/// What a card request came to, as a client sees it: the code and text of the refusal, or the reply.
private func seen(_ execution: Execution) -> String {
    if let error = execution.refusal ?? execution.recordedRefusal { return "\(error.code.rawValue) \(error.message)" }
    return "ok"
}

/// `count` wrong-PIN BALANCE requests, one a second from now, and what each came to.
private func wrongTries(_ h: inout Harness, _ card: CardKeys, _ count: Int) -> [String] {
    (0..<count).map { _ in
        h.advance(millis: 1000)
        return seen(h.balance(card: card, pin: Fixture.wrongPIN))
    }
}

@Test func anUnknownNumberLocksAfterTheSameTriesWithTheSameRepliesAsARealCard() throws {
    var real = Harness()
    let card = real.nextCard()
    _ = try real.newCredit(.gift, "50", card: card)
    var unknown = Harness()
    let stranger = Fixture.card(777)
    let attempts = Fixture.policy.pinAttemptsMax + 2
    let realSeen = wrongTries(&real, card, attempts)
    let unknownSeen = wrongTries(&unknown, stranger, attempts)
    #expect(realSeen == unknownSeen)
    let until = Instant(millis: Fixture.t0.millis + Int64(Fixture.policy.pinAttemptsMax) * 1000 + 900_000)
    #expect(unknownSeen == Array(repeating: "DECLINED card declined", count: Fixture.policy.pinAttemptsMax)
        + Array(repeating: "CARD_LOCKED card locked after too many wrong PINs until \(until.rfc3339)", count: 2))
    // The right PIN does not open a decoy (there is none), and a locked decoy records nothing.
    let before = unknown.ledger.canonicalState
    #expect(unknown.balance(card: stranger).refusal?.code == .cardLocked)
    #expect(unknown.ledger.canonicalState == before)
    #expect(unknown.ledger.state.decoys[stranger.cardDigest] == DecoyLock(failures: 0, lockedUntil: until,
                                                                          lastFailureAt: Instant(millis: Fixture.t0.millis + 3000)))
}

@Test func aDecoyLockEndsAfterTheLockoutAndThenCountsAfresh() throws {
    var h = Harness()
    let stranger = Fixture.card(777)
    _ = wrongTries(&h, stranger, 3)
    let until = try #require(h.ledger.state.decoys[stranger.cardDigest]?.lockedUntil)
    #expect(h.balance(card: stranger, at: Instant(millis: until.millis - 1)).code == .cardLocked)
    h.now = until
    #expect(h.balance(card: stranger).recordedEntry?.events == [.unknownCardDeclined(stranger.cardDigest)])
    #expect(h.ledger.state.decoys[stranger.cardDigest]?.failures == 1)
    #expect(h.balance(card: stranger).recordedRefusal?.code == .declined)
    #expect(h.balance(card: stranger).recordedRefusal?.code == .declined)
    #expect(h.ledger.state.decoys[stranger.cardDigest]?.lockedUntil == Instant(millis: until.millis + 900_000))
    #expect(h.balance(card: stranger).code == .cardLocked)
    // Another unknown number has a decoy of its own.
    #expect(h.balance(card: Fixture.card(778)).recordedRefusal?.code == .declined)
}

@Test func decoysSurviveARestoreAndAReplay() throws {
    var h = Harness()
    _ = wrongTries(&h, Fixture.card(777), 3)
    _ = wrongTries(&h, Fixture.card(778), 2)
    var restored = Ledger(policy: h.ledger.policy, state: h.ledger.canonicalState)
    var replayed = Ledger(policy: h.ledger.policy)
    for entry in h.entries { replayed.apply(entry) }
    #expect(replayed.canonicalState == h.ledger.canonicalState && restored.canonicalState == h.ledger.canonicalState)
    #expect(h.ledger.state.decoys.count == 2)
    // The restored ledger goes on where the live one stood: 778's third wrong PIN locks it.
    let context = RequestContext(now: h.now, client: ClientID("till-1"), ref: nil, fingerprint: Fixture.wrongPIN)
    let stranger = Fixture.card(778)
    let third = restored.execute(.balance(.card(cardDigest: stranger.cardDigest, pinDigest: Fixture.wrongPIN)), context: context)
    #expect(third.recordedRefusal?.code == .declined)
    #expect(restored.state.decoys[stranger.cardDigest]?.lockedUntil == Instant(millis: h.now.millis + 900_000))
}

@Test func anOldJournalsUnknownCardDeclineChangesNothing() {
    var ledger = Ledger(policy: Fixture.policy)
    let before = ledger.canonicalState
    ledger.apply(Entry(at: Fixture.t0, idempotency: nil, events: [.cardDeclined(nil)]))
    var expected = before
    expected.lastAt = Fixture.t0
    #expect(ledger.canonicalState == expected)
}

@Test func theDecoyTableKeepsToItsCapForgettingSpentThenOldestDecoys() throws {
    var policy = Fixture.policy
    policy.decoysMax = 10
    var h = Harness(policy: policy)
    // Five locked decoys, then five with one wrong PIN each: the table is full.
    for n in 0..<5 { _ = wrongTries(&h, Fixture.card(100 + UInt64(n)), 3) }
    for n in 0..<5 { _ = wrongTries(&h, Fixture.card(200 + UInt64(n)), 1) }
    #expect(h.ledger.state.decoys.count == 10)
    // While the locks hold, an eleventh number evicts the least recently tried (cards 100 and 101)
    // down to nine tenths of the cap.
    _ = wrongTries(&h, Fixture.card(300), 1)
    #expect(h.ledger.state.decoys.count == 9)
    #expect(h.ledger.state.decoys[Fixture.card(100).cardDigest] == nil && h.ledger.state.decoys[Fixture.card(101).cardDigest] == nil)
    // Once the locks have run out, locked decoys with no count are like numbers never tried.
    h.advance(millis: 900_000)
    _ = wrongTries(&h, Fixture.card(301), 1)
    _ = wrongTries(&h, Fixture.card(302), 1)
    let left = Set([200, 201, 202, 203, 204, 300, 301, 302].map { Fixture.card(UInt64($0)).cardDigest })
    #expect(Set(h.ledger.state.decoys.keys) == left)
    var replayed = Ledger(policy: policy)
    for entry in h.entries { replayed.apply(entry) }
    #expect(replayed.canonicalState == h.ledger.canonicalState)
}
