// Proves HOLD on one credit reserves funds without touching the balance as a single leg, and refuses or limits itself by funds, partial, currency (NO_RATE without a rate), TTL, hold count and credit expiry, with deadlines rounded up and clipped.

import CreditCore
import Testing

@Test func holdReducesAvailableNotBalance() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    let result = h.hold(id, "30", ref: "till-1/0001")
    let reply = try #require(result.appliedReply)
    // One credit in the sale's currency: the plain reply, no remaining= and no leg lines.
    #expect(reply.fields == [Field("hold", "hd_1"), Field("credit", "cr_1"), Field("amount", "30.00"),
                             Field("requested", "30.00"), Field("currency", "AUD"),
                             Field("available", "70.00"), Field("expires", "2026-11-26T14:45:00Z")])
    #expect(reply.items.isEmpty)
    let deadline = Instant(millis: Fixture.t0.millis + 900_000)
    let leg = HoldLeg(credit: id, amount: MinorUnits(3000), covers: MinorUnits(3000), rate: nil)
    #expect(result.entry?.events == [.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(3000),
                                                       legs: [leg], deadline: deadline))])
    let credit = try h.credit(id)
    #expect(credit.balance == MinorUnits(10_000))
    #expect(credit.held == MinorUnits(3000))
    #expect(credit.available == MinorUnits(7000))
    #expect(try h.pendingHolds(id) == [HoldID(1)] && credit.pendingHoldCount == 1)
    let record = try h.holdRecord(HoldID(1))
    #expect(record == Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(3000), legs: [leg],
                           deadline: deadline, state: .pending, captured: [.zero]))
    #expect(record.amount == MinorUnits(3000))
    #expect(h.ledger.pendingHoldCount == 1)
    #expect(h.ledger.nextDeadline == deadline)
}

@Test func holdOverAvailableIsInsufficientFundsAndExactlyAvailableSucceeds() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    #expect(h.hold(id, "100.01").refusal == CreditError(.insufficientFunds, "credits cover 100.00 of 100.01 AUD"))
    _ = try h.newHold(id, "30")
    let before = h.ledger.canonicalState
    #expect(h.hold(id, "70.01").refusal == CreditError(.insufficientFunds, "credits cover 70.00 of 70.01 AUD"))
    #expect(h.ledger.canonicalState == before)
    #expect(h.hold(id, "70").appliedReply?.value("available") == "0.00")
}

@Test func partialHoldReservesWhatIsAvailableAndReportsBoth() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    _ = try h.newHold(id, "30")
    let result = h.hold(id, "80", partial: true)
    let reply = try #require(result.appliedReply)
    #expect(reply.value("amount") == "70.00")
    #expect(reply.value("requested") == "80.00")
    #expect(reply.value("remaining") == nil)  // requested − amount; the plain reply leaves it out
    #expect(reply.value("available") == "0.00")
    #expect(reply.items.isEmpty)
    let hold = try h.holdRecord(HoldID(2))
    #expect(hold.amount == MinorUnits(7000) && hold.requested == MinorUnits(8000))
    #expect(try h.credit(id).available == .zero)
    #expect(h.hold(id, "0.01", partial: true).refusal == CreditError(.insufficientFunds, "credits cover 0.00 of 0.01 AUD"))
}

@Test func partialHoldWithinAvailableHoldsTheWholeRequest() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "5000", "JPY")
    let reply = try #require(h.hold(id, "1200", "JPY", partial: true).appliedReply)
    #expect(reply.value("amount") == "1200")
    #expect(reply.value("requested") == "1200")
    #expect(reply.value("available") == "3800")
}

@Test func holdInAnotherCurrencyWithoutARateIsNoRateOrBadCurrency() throws {
    var h = Harness()  // no rates configured
    let id = try h.newCredit(.gift, "100")
    #expect(h.hold(id, "5", "JPY").refusal == CreditError(.noRate, "no rate from AUD to JPY"))
    #expect(h.hold(id, "5", "XYZ").refusal == CreditError(.badCurrency, "unknown currency XYZ"))
    #expect(h.hold(id, "1.234", "AUD").code == .badAmount)
    #expect(h.hold(id, "0", "AUD").code == .badAmount)
    #expect(h.ledger.pendingHoldCount == 0)
}

@Test func holdOnAMissingCreditOrWithAWrongPINIsRefused() throws {
    var h = Harness()
    let card = Fixture.card(1111)
    _ = try h.newCredit(.gift, "100", card: card)
    #expect(h.hold(CreditID(2), "5").refusal == CreditError(.notFound, "no credit cr_2"))
    // A wrong PIN is declined, and the attempt is journaled (it counts toward the card's lock).
    #expect(h.hold(.card(cardDigest: card.cardDigest, pinDigest: Fixture.wrongPIN), "5").recordedRefusal
        == CreditError(.declined, "card declined"))
    let byCard = try #require(h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "5").appliedReply)
    #expect(byCard.value("credit") == "cr_1")
    #expect(byCard.value("available") == "95.00")
}

@Test func ttlAboveTheMaximumIsBadRequestAndAtItSucceeds() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    #expect(h.hold(id, "1", ttl: Seconds(86_401)).refusal == CreditError(.badRequest, "ttl exceeds the maximum of 1d"))
    let reply = try #require(h.hold(id, "1", ttl: Seconds(86_400)).appliedReply)
    #expect(reply.value("expires") == "2026-11-27T14:30:00Z")
}

@Test func theHoldsPerCreditLimitIsTooManyHoldsUntilOneResolves() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    let other = try h.newCredit(.gift, "100")
    let first = try h.newHold(id, "1")
    _ = try h.newHold(id, "1")
    _ = try h.newHold(id, "1")
    #expect(h.hold(id, "1").refusal == CreditError(.tooManyHolds, "credit has 3 pending holds"))
    #expect(h.hold(other, "1").appliedReply != nil)  // the limit is per credit
    #expect(h.void(first).appliedReply != nil)
    #expect(h.hold(id, "1").appliedReply != nil)
}

@Test func holdAfterTheCreditsExpiryDateIsCreditExpired() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100", expires: "2026-11-27")
    let end = try #require(CivilDate("2026-11-27")).endInstant
    #expect(h.hold(id, "1", at: Instant(millis: end.millis - 1)).appliedReply != nil)
    #expect(h.hold(id, "1", at: end).refusal == CreditError(.creditExpired, "credit cr_1 expired at the end of 2026-11-27"))
    #expect(h.hold(id, "1", at: Instant(millis: end.millis + 86_400_000)).code == .creditExpired)
}

@Test func holdDeadlineIsClippedToTheEndOfTheCreditsLastDay() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100", expires: "2026-11-26")
    let long = try #require(h.hold(id, "1", ttl: Seconds(86_400)).appliedReply)
    #expect(long.value("expires") == "2026-11-27T00:00:00Z")
    #expect(try h.holdRecord(HoldID(1)).deadline == CivilDate("2026-11-26")!.endInstant)
    let short = try #require(h.hold(id, "1", ttl: Seconds(60)).appliedReply)
    #expect(short.value("expires") == "2026-11-26T14:31:00Z")
}

@Test func holdDeadlineIsRoundedUpToAWholeSecond() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    let at = Instant(millis: Fixture.t0.millis + 250)
    let reply = try #require(h.hold(id, "1", ttl: Seconds(30), at: at).appliedReply)
    #expect(reply.value("expires") == "2026-11-26T14:30:31Z")
    #expect(try h.holdRecord(HoldID(1)).deadline == Instant(millis: Fixture.t0.millis + 31_000))
    // Already on a whole second: unchanged.
    let exact = try #require(h.hold(id, "1", ttl: Seconds(30), at: Instant(millis: Fixture.t0.millis + 1000)).appliedReply)
    #expect(exact.value("expires") == "2026-11-26T14:30:31Z")
}

@Test func holdsInZeroAndThreeDigitCurrenciesFormatExactly() throws {
    var h = Harness()
    let kwd = try h.newCredit(.gift, "12.505", "KWD")
    let reply = try #require(h.hold(kwd, "0.005", "KWD").appliedReply)
    #expect(reply.value("amount") == "0.005")
    #expect(reply.value("available") == "12.500")
    #expect(h.hold(kwd, "1.0005", "KWD").code == .badAmount)
}

@Test func holdIDsCountUpAcrossCredits() throws {
    var h = Harness()
    let a = try h.newCredit(.gift, "100")
    let b = try h.newCredit(.gift, "100")
    #expect(try h.newHold(a, "1") == HoldID(1))
    #expect(try h.newHold(b, "1") == HoldID(2))
    #expect(try h.newHold(a, "1") == HoldID(3))
    #expect(h.ledger.state.lastHoldNumber == 3)
}
