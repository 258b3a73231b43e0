// Proves a credit past its expiry date shows status=expired at once and is closed by the sweep — after its pending holds expire — as a creditExpired event that writes its whole balance off as breakage, in (expiry, id) order, live, after replay and after a restore.

import CreditCore
import Testing

private let lastDay = CivilDate("2026-11-26")!

@Test func balanceShowsExpiredFromTheEndOfTheLastDayEvenBeforeTheSweep() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "40", expires: "2026-11-26")
    let end = lastDay.endInstant
    #expect(h.balance(id, at: Instant(millis: end.millis - 1)).readReply?.value("status") == "active")
    let reply = try #require(h.balance(id, at: end).readReply)
    #expect(reply.value("status") == "expired" && reply.value("balance") == "40.00")
    #expect(try h.credit(id).status == .active)  // nothing swept yet
    #expect(h.ledger.nextDeadline == end)
}

@Test func theSweepExpiresHoldsFirstThenWritesTheBalanceOffAsBreakage() throws {
    var h = Harness()
    let id = try h.newCredit(.store, "40", bonus: "5", expires: "2026-11-26")
    let hold = try h.newHold(id, "10", ttl: Seconds(86_400))  // clipped to the end of the last day
    let end = lastDay.endInstant
    #expect(h.ledger.sweep(now: Instant(millis: end.millis - 1)) == nil)

    let swept = h.ledger.sweep(now: end)
    let entry = try #require(swept)
    #expect(entry == Entry(at: end, idempotency: nil, events: [.expired(hold), .creditExpired(id)]))
    let credit = try h.credit(id)
    #expect(credit.status == .expired && credit.balance == .zero && credit.held == .zero && credit.marketing == .zero)
    #expect(credit.pendingHoldCount == 0 && h.ledger.pendingHoldCount == 0)
    #expect(credit.history.suffix(2).map(\.kind) == [.expire, .breakage])
    #expect(credit.history.last == Activity(seq: 5, at: end, kind: .breakage, amount: MinorUnits(4500),
                                            balanceAfter: .zero, hold: nil, ref: nil))
    h.now = end
    let history = try #require(h.history(id, limit: 1).readReply)
    #expect(history.items == [[Field("seq", "5"), Field("at", "2026-11-27T00:00:00Z"), Field("kind", "breakage"),
                               Field("amount", "45.00"), Field("balance", "0.00")]])
    #expect(h.balance(id).readReply?.value("status") == "expired")
    #expect(h.capture(hold).refusal == CreditError(.holdExpired, "hold hd_1 expired at 2026-11-27T00:00:00Z"))
    #expect(h.hold(id, "1").refusal == CreditError(.creditExpired, "credit cr_1 expired at the end of 2026-11-26"))
    #expect(h.change(id, .cancel).code == .creditExpired)
    #expect(h.ledger.sweep(now: Instant(millis: end.millis + 86_400_000)) == nil)
}

@Test func frozenCreditsExpireTooButCancelledOnesAreNotSweptAgain() throws {
    var h = Harness()
    let frozen = try h.newCredit(.gift, "10", expires: "2026-11-26")
    let cancelled = try h.newCredit(.gift, "20", expires: "2026-11-26")
    _ = try #require(h.change(frozen, .freeze).appliedReply)
    _ = try #require(h.change(cancelled, .cancel).appliedReply)
    #expect(h.ledger.sweep(now: lastDay.endInstant)?.events == [.creditExpired(frozen)])
    #expect(try h.credit(frozen).status == .expired && h.credit(frozen).history.last?.amount == MinorUnits(1000))
    #expect(try h.credit(cancelled).status == .cancelled)
    #expect(h.balance(cancelled, at: lastDay.endInstant).readReply?.value("status") == "cancelled")
}

@Test func dueCreditsExpireInExpiryThenIDOrderAfterEveryDueHold() throws {
    var h = Harness()
    let later = try h.newCredit(.gift, "1", expires: "2026-11-28")
    let sooner = try h.newCredit(.gift, "2", expires: "2026-11-27")
    let sameDay = try h.newCredit(.gift, "3", expires: "2026-11-27")
    let never = try h.newCredit(.gift, "4")
    let hold = try h.newHold(never, "1", ttl: Seconds(86_400))
    let entry = h.ledger.sweep(now: CivilDate("2026-11-29")!.startInstant)
    #expect(entry?.events == [.expired(hold), .creditExpired(sooner), .creditExpired(sameDay), .creditExpired(later)])
    #expect(try h.credit(never).status == .active)
}

@Test func creditsWaitForTheirHoldsWhenOneSweepCannotTakeThemAll() throws {
    let policy = LedgerPolicy(currencies: CurrencyTable([Fixture.aud]), holdTTLMax: Seconds(86_400),
                              holdsPerCreditMax: Ledger.sweepEventsMax + 1)
    var h = Harness(policy: policy)
    let id = try h.newCredit(.gift, "1000", expires: "2026-11-26")
    for _ in 0...Ledger.sweepEventsMax { _ = try h.newHold(id, "0.01", ttl: Seconds(86_400)) }
    let firstSweep = h.ledger.sweep(now: lastDay.endInstant)
    let first = try #require(firstSweep)
    #expect(first.events.count == Ledger.sweepEventsMax)
    #expect(!first.events.contains(.creditExpired(id)))
    #expect(try h.credit(id).status == .active && h.credit(id).pendingHoldCount == 1)
    let second = h.ledger.sweep(now: lastDay.endInstant)
    #expect(second?.events == [.expired(HoldID(UInt64(Ledger.sweepEventsMax + 1))), .creditExpired(id)])
    #expect(try h.credit(id).status == .expired)
}

@Test func replayedAndRestoredLedgersExpireCreditsAlike() throws {
    var h = Harness()
    var entries: [Entry] = []
    for (value, expires) in [("10", "2026-11-26"), ("20", "2026-11-27"), ("30", "2026-11-26")] {
        entries.append(try #require(h.issue(.gift, value, expires: expires).entry))
    }
    entries.append(try #require(h.hold(CreditID(1), "5").entry))
    var replayed = Ledger(policy: Fixture.policy)
    for entry in entries { replayed.apply(entry) }
    var restored = Ledger(policy: Fixture.policy, state: h.ledger.canonicalState)
    #expect(replayed.nextDeadline == h.ledger.nextDeadline && restored.nextDeadline == h.ledger.nextDeadline)
    let at = CivilDate("2026-11-28")!.startInstant
    let live = h.ledger.sweep(now: at)
    #expect(live?.events == [.expired(HoldID(1)), .creditExpired(CreditID(1)), .creditExpired(CreditID(3)),
                             .creditExpired(CreditID(2))])
    #expect(replayed.sweep(now: at) == live && restored.sweep(now: at) == live)
    #expect(replayed.canonicalState == h.ledger.canonicalState && restored.canonicalState == h.ledger.canonicalState)
}
