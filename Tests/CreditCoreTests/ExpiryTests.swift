// Proves a hold is live until 1 ms before its deadline and expired exactly at it, whether the sweep ran (journaled expire entry) or not (CAPTURE and VOID refuse with HOLD_EXPIRED), and that a sweep expires due holds before due credits.

import CreditCore
import Testing

@Test func sweepLeavesAHoldOneMillisecondBeforeItsDeadlineAndExpiresItAtTheDeadline() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30", ttl: Seconds(30))
    let deadline = try h.holdRecord(hold).deadline
    #expect(deadline == Instant(millis: Fixture.t0.millis + 30_000))

    #expect(h.ledger.sweep(now: Instant(millis: deadline.millis - 1)) == nil)
    #expect(try h.holdRecord(hold).state == .pending)
    #expect(try h.credit(credit).available == MinorUnits(7000))

    let swept = h.ledger.sweep(now: deadline)
    let entry = try #require(swept)
    #expect(entry == Entry(at: deadline, idempotency: nil, events: [.expired(hold)]))
    #expect(try h.holdRecord(hold).state == .expired)
    let after = try h.credit(credit)
    #expect(after.balance == MinorUnits(10_000) && after.held == .zero && after.available == MinorUnits(10_000))
    #expect(after.history.last?.kind == .expire)
    #expect(after.history.last?.amount == MinorUnits(3000))
    #expect(h.ledger.pendingHoldCount == 0)
    #expect(h.ledger.sweep(now: Instant(millis: deadline.millis + 60_000)) == nil)
    #expect(h.ledger.state.lastAt == deadline)
}

@Test func captureOneMillisecondBeforeTheDeadlineSucceedsWithoutASweep() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30", ttl: Seconds(30))
    let deadline = try h.holdRecord(hold).deadline
    #expect(h.capture(hold, at: Instant(millis: deadline.millis - 1)).appliedReply?.value("captured") == "30.00")
}

@Test func captureOrVoidAtOrAfterTheDeadlineWithoutASweepIsHoldExpired() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30", ttl: Seconds(30))
    let deadline = try h.holdRecord(hold).deadline
    let before = h.ledger.canonicalState
    #expect(h.capture(hold, at: deadline).refusal
        == CreditError(.holdExpired, "hold hd_1 expired at 2026-11-26T14:30:30Z"))
    #expect(h.void(hold, at: Instant(millis: deadline.millis + 5000)).code == .holdExpired)
    #expect(h.ledger.canonicalState == before)  // still pending until a sweep journals the expiry
    #expect(try h.holdRecord(hold).state == .pending)

    let swept = h.ledger.sweep(now: Instant(millis: deadline.millis + 5000))
    #expect(swept?.events == [.expired(hold)])
    #expect(h.capture(hold).refusal == CreditError(.holdExpired, "hold hd_1 expired at 2026-11-26T14:30:30Z"))
    #expect(h.void(hold).code == .holdExpired)
}

@Test func oneSweepExpiresEveryDueHoldAcrossCreditsAndSkipsResolvedOnes() throws {
    var h = Harness()
    let a = try h.newCredit(.gift, "100")
    let b = try h.newCredit(.gift, "100", "JPY")
    let a1 = try h.newHold(a, "1", ttl: Seconds(10))
    let b1 = try h.newHold(b, "1", "JPY", ttl: Seconds(20))
    let a2 = try h.newHold(a, "2", ttl: Seconds(20))
    let captured = try h.newHold(a, "3", ttl: Seconds(5))
    let late = try h.newHold(b, "4", "JPY", ttl: Seconds(60))
    #expect(h.capture(captured).appliedReply != nil)
    #expect(h.ledger.nextDeadline == Instant(millis: Fixture.t0.millis + 5000))  // stale: the captured hold

    let swept = h.ledger.sweep(now: Instant(millis: Fixture.t0.millis + 20_000))
    let entry = try #require(swept)
    #expect(entry.events.count == 3)
    #expect(entry.events.first == .expired(a1))  // the earliest deadline first
    #expect(Set(entry.events.map { "\($0)" }) == Set([a1, b1, a2].map { "\(Event.expired($0))" }))
    #expect(try h.holdRecord(captured).state == .captured)
    #expect(try h.holdRecord(late).state == .pending)
    #expect(try h.credit(a).held == .zero)
    #expect(try h.credit(b).held == MinorUnits(4))
    #expect(h.ledger.nextDeadline == Instant(millis: Fixture.t0.millis + 60_000))
}

@Test func aHoldClippedToTheCreditsExpiryExpiresAtTheEndOfThatDay() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100", expires: "2026-11-26")
    let hold = try h.newHold(credit, "10", ttl: Seconds(86_400))
    let end = try #require(CivilDate("2026-11-26")).endInstant
    #expect(h.ledger.sweep(now: Instant(millis: end.millis - 1)) == nil)
    // The hold expires first, then the credit itself (its balance becomes breakage).
    #expect(h.ledger.sweep(now: end)?.events == [.expired(hold), .creditExpired(credit)])
    #expect(h.hold(credit, "1", at: end).code == .creditExpired)
}

@Test func sweepNeverGoesBackInTime() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "10", ttl: Seconds(30))
    let later = Instant(millis: Fixture.t0.millis + 60_000)
    _ = try h.newCredit(.gift, "1", expires: nil)  // moves lastAt forward
    #expect(h.issue(.gift, "1", at: later).appliedReply != nil)
    // A sweep asked about an earlier instant runs at the last applied instant instead.
    let swept = h.ledger.sweep(now: Fixture.t0)
    let entry = try #require(swept)
    #expect(entry.at == later)
    #expect(entry.events == [.expired(hold)])
}
