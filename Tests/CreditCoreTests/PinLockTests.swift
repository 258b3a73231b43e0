// Proves the PIN lock: each wrong PIN is declined and journaled against its card, the Nth in a row locks the card for the lockout, a locked card answers CARD_LOCKED even to the right PIN (and counts nothing), the lock ends on time, a right PIN clears the count, UNLOCK lifts a lock, an unknown card is journaled as declined by its digest without touching any credit, and a retried ref replays without touching the PIN count.

import CreditCore
import Testing

/// A harness with a 50.00 gift card; returns the card's credit and keys.
private func cardHolder() throws -> (Harness, CreditID, CardKeys) {
    var h = Harness()
    let card = h.nextCard()
    let id = try h.newCredit(.gift, "50", card: card)
    return (h, id, card)
}

@Test func eachWrongPINIsDeclinedAndCountedAndTheThirdLocksTheCard() throws {
    var (h, id, card) = try cardHolder()
    for count in 1...2 {
        let declined = h.balance(card: card, pin: Fixture.wrongPIN)
        #expect(declined.recordedRefusal == CreditError(.declined, "card declined"))
        #expect(declined.recordedEntry == Entry(at: Fixture.t0, idempotency: nil, events: [.cardDeclined(id)]))
        #expect(try h.credit(id).pinFailures == count && h.credit(id).lockedUntil == nil)
    }
    h.advance(millis: 5000)
    // A HOLD counts as well as a BALANCE; the attempt is not remembered under its ref.
    let third = h.hold(.card(cardDigest: card.cardDigest, pinDigest: Fixture.wrongPIN), "1", ref: "h-1")
    #expect(third.recordedRefusal == CreditError(.declined, "card declined"))
    #expect(third.recordedEntry?.idempotency == nil && h.ledger.refCount == 1)
    let lockedUntil = Instant(millis: h.now.millis + 900_000)
    let credit = try h.credit(id)
    #expect(credit.pinFailures == 0 && credit.lockedUntil == lockedUntil)
    #expect(credit.history.last == Activity(seq: 2, at: h.now, kind: .lock, amount: .zero, balanceAfter: MinorUnits(5000),
                                            hold: nil, ref: nil, reason: "3 wrong PINs"))
    #expect(h.ledger.auditProblems.isEmpty)
}

@Test func aLockedCardIsCardLockedEvenWithTheRightPINAndCountsNothing() throws {
    var (h, id, card) = try cardHolder()
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    let until = try #require(try h.credit(id).lockedUntil)
    let before = h.ledger.canonicalState
    let locked = CreditError(.cardLocked, "card locked after too many wrong PINs until \(until.rfc3339)")
    #expect(h.balance(card: card).refusal == locked)
    #expect(h.balance(card: card, pin: Fixture.wrongPIN).refusal == locked)
    #expect(h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "1").refusal == locked)
    #expect(h.quote(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "1").refusal == locked)
    #expect(h.ledger.canonicalState == before)
    // By id (staff) and by number alone (LOAD) the credit is still reachable.
    #expect(h.balance(id).readReply?.value("balance") == "50.00")
    #expect(h.load(card, "5").appliedReply?.value("balance") == "55.00")
}

@Test func theLockEndsAfterTheLockoutAndTheRightPINThenClearsIt() throws {
    var (h, id, card) = try cardHolder()
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    let until = try #require(try h.credit(id).lockedUntil)
    #expect(h.balance(card: card, at: Instant(millis: until.millis - 1)).code == .cardLocked)
    let read = h.balance(card: card, at: until)
    #expect(read.readReply?.value("balance") == "50.00")
    #expect(read.readEntry == Entry(at: until, idempotency: nil, events: [.pinReset(id)]))
    let credit = try h.credit(id)
    #expect(credit.lockedUntil == nil && credit.pinFailures == 0)
    #expect(credit.history.last?.kind == .lock)  // a lock that ran out just clears: no unlock line
}

@Test func wrongPINsAfterALockRanOutCountAfresh() throws {
    var (h, id, card) = try cardHolder()
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    let until = try #require(try h.credit(id).lockedUntil)
    h.now = until
    h.balance(card: card, pin: Fixture.wrongPIN)
    #expect(try h.credit(id).pinFailures == 1 && h.credit(id).lockedUntil == until)  // stale until cleared or relocked
    h.balance(card: card, pin: Fixture.wrongPIN)
    h.balance(card: card, pin: Fixture.wrongPIN)
    #expect(try h.credit(id).lockedUntil == Instant(millis: until.millis + 900_000))
    #expect(try h.credit(id).history.filter { $0.kind == .lock }.count == 2)
}

@Test func theRightPINClearsTheCount() throws {
    var (h, id, card) = try cardHolder()
    for _ in 0..<2 { h.balance(card: card, pin: Fixture.wrongPIN) }
    let held = h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "10", ref: "h-1")
    #expect(held.entry?.events.first == .pinReset(id))  // journaled with the hold
    #expect(try h.credit(id).pinFailures == 0)
    for _ in 0..<2 { h.balance(card: card, pin: Fixture.wrongPIN) }
    #expect(try h.credit(id).lockedUntil == nil && h.credit(id).pinFailures == 2)
    // A right PIN whose request is then refused clears nothing: the refusal changes no state.
    #expect(h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "100").code == .insufficientFunds)
    #expect(try h.credit(id).pinFailures == 2)
    #expect(h.balance(card: card).readEntry?.events == [.pinReset(id)])
    #expect(h.balance(card: card).readEntry == nil)
}

@Test func unlockLiftsALockAndClearsTheCount() throws {
    var (h, id, card) = try cardHolder()
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    let unlocked = h.unlock(id, ref: "u-1")
    #expect(unlocked.appliedReply?.fields == [Field("credit", "cr_1"), Field("locked", "no")])
    #expect(unlocked.entry?.events == [.pinReset(id)])
    let credit = try h.credit(id)
    #expect(credit.lockedUntil == nil && credit.pinFailures == 0)
    #expect(credit.history.last == Activity(seq: 3, at: Fixture.t0, kind: .unlock, amount: .zero,
                                            balanceAfter: MinorUnits(5000), hold: nil, ref: Ref("u-1")))
    #expect(h.balance(card: card).readEntry == nil && h.balance(card: card).readReply != nil)
    // UNLOCK of an unlocked card changes nothing visible; it needs a credit with a card.
    #expect(h.unlock(id).appliedReply != nil)
    #expect(try h.credit(id).history.count == 3)
    let store = try h.newCredit(.store, "5")
    #expect(h.unlock(store).refusal == CreditError(.badRequest, "credit cr_2 has no card"))
    #expect(h.unlock(CreditID(9)).refusal == CreditError(.notFound, "no credit cr_9"))
}

@Test func anUnknownCardIsDeclinedAndJournaledWithoutACredit() throws {
    var (h, id, _) = try cardHolder()
    let stranger = Fixture.card(777)
    let before = h.ledger.state.credits
    let read = h.balance(card: stranger)
    #expect(read.recordedRefusal == CreditError(.declined, "card declined"))
    #expect(read.recordedEntry == Entry(at: Fixture.t0, idempotency: nil, events: [.unknownCardDeclined(stranger.cardDigest)]))
    let held = h.hold(.card(cardDigest: stranger.cardDigest, pinDigest: stranger.pinDigest), "1", ref: "h-1")
    #expect(held.recordedEntry?.events == [.unknownCardDeclined(stranger.cardDigest)])
    #expect(h.ledger.state.credits == before && h.ledger.refCount == 1)
    #expect(try h.credit(id).pinFailures == 0)
}

@Test func aRetriedRefReplaysWithoutCountingAPIN() throws {
    var (h, id, card) = try cardHolder()
    let right = Command.hold(HoldCommand(selector: .card(cardDigest: card.cardDigest, pinDigest: card.pinDigest),
                                         amount: amount("10"), currency: "AUD", ttl: nil, partial: false))
    let held = try #require(h.run(right, ref: "h-1").appliedReply)
    // The same ref with a wrong PIN is another request: REF_CONFLICT, before the PIN is looked at.
    let wrong = Command.hold(HoldCommand(selector: .card(cardDigest: card.cardDigest, pinDigest: Fixture.wrongPIN),
                                         amount: amount("10"), currency: "AUD", ttl: nil, partial: false))
    #expect(h.run(wrong, ref: "h-1").code == .refConflict)
    #expect(try h.credit(id).pinFailures == 0)
    // Even once the card is locked, a retry of the applied request replays its reply.
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    #expect(h.run(right, ref: "h-1").replayedReply == held)
    #expect(try h.credit(id).pinFailures == 0 && h.credit(id).lockedUntil != nil)
    #expect(try h.credit(id).history.filter { $0.kind == .lock }.count == 1)
}
