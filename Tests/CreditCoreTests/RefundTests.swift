// Proves REFUND returns value to a credit in its own currency only (CURRENCY_MISMATCH otherwise), onto active and frozen credits but not inactive, cancelled or expired ones, within the currency's maximum balance, and records it in history.

import CreditCore
import Testing

@Test func aRefundRaisesTheBalanceAndIsRecorded() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try h.newHold(id, "20")
    let result = h.refund(id, "12.50", ref: "ret-1")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("refunded", "12.50"), Field("balance", "62.50"),
                             Field("currency", "AUD")])
    #expect(result.entry?.events == [.refunded(id, amount: MinorUnits(1250))])
    let credit = try h.credit(id)
    #expect(credit.balance == MinorUnits(6250) && credit.held == MinorUnits(2000) && credit.available == MinorUnits(4250))
    #expect(credit.history.last == Activity(seq: 3, at: Fixture.t0, kind: .refund, amount: MinorUnits(1250),
                                            balanceAfter: MinorUnits(6250), hold: nil, ref: Ref("ret-1")))
    #expect(h.history(id).readReply?.items.last?[2...4] == [Field("kind", "refund"), Field("amount", "12.50"),
                                                            Field("balance", "62.50")])
}

@Test func aSpentCreditStaysActiveAndTakesRefunds() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "10", "JPY")
    _ = try #require(h.capture(try h.newHold(id, "10", "JPY")).appliedReply)
    #expect(try h.credit(id).balance == .zero && h.credit(id).status == .active)
    #expect(h.refund(id, "3", "JPY").appliedReply?.value("balance") == "3")
}

@Test func aRefundMustBeInTheCreditsCurrency() throws {
    var h = Harness(policy: Fixture.fxPolicy)  // a rate does not make a refund convertible
    let id = try h.newCredit(.gift, "50")
    let before = h.ledger.canonicalState
    #expect(h.refund(id, "5", "NZD").refusal == CreditError(.currencyMismatch, "credit cr_1 is in AUD, not NZD"))
    #expect(h.refund(id, "5", "JPY").code == .currencyMismatch)
    #expect(h.refund(id, "5", "XYZ").refusal == CreditError(.badCurrency, "unknown currency XYZ"))
    #expect(h.refund(CreditID(9), "5").refusal == CreditError(.notFound, "no credit cr_9"))
    #expect(h.ledger.canonicalState == before)
}

@Test(arguments: ["0", "0.00", "1.001"])
func aRefundOfZeroOrTooManyDigitsIsBadAmount(_ value: String) throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    #expect(h.refund(id, value).refusal == CreditError(.badAmount, "amount must be positive with at most 2 decimal places for AUD"))
}

@Test func aRefundMayFillTheCreditToItsMaximumAndNoFurther() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "999")
    #expect(h.refund(id, "1.01").refusal == CreditError(.badAmount, "would exceed the maximum balance of 1000.00 AUD"))
    #expect(h.refund(id, "1").appliedReply?.value("balance") == "1000.00")
    #expect(h.refund(id, "0.01").code == .badAmount)
    let kwd = try h.newCredit(.gift, "499.999", "KWD")
    #expect(h.refund(kwd, "0.001", "KWD").appliedReply?.value("balance") == "500.000")
}

@Test func aFrozenCreditTakesRefundsButStaysFrozen() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.change(id, .freeze, reason: "lost").appliedReply)
    #expect(h.refund(id, "5").appliedReply?.value("balance") == "55.00")
    #expect(try h.credit(id).status == .frozen)
}

@Test func inactiveCancelledAndExpiredCreditsTakeNoRefunds() throws {
    var h = Harness()
    let cancelled = try h.newCredit(.gift, "50")
    _ = try #require(h.change(cancelled, .cancel).appliedReply)
    let expiring = try h.newCredit(.gift, "50", expires: "2026-11-26")
    let inactive = CreditID(3)
    h.restore(adding: stockCard(inactive, 0, card: Fixture.card(99)))
    let before = h.ledger.canonicalState
    #expect(h.refund(cancelled, "5").refusal == CreditError(.creditCancelled, "credit cr_1 is cancelled"))
    #expect(h.refund(inactive, "5").refusal == CreditError(.creditInactive, "credit cr_3 is not activated"))
    let end = try #require(CivilDate("2026-11-26")).endInstant
    // Past its last day, before and after the sweep closes it.
    #expect(h.refund(expiring, "5", at: end).refusal == CreditError(.creditExpired, "credit cr_2 expired at the end of 2026-11-26"))
    #expect(h.ledger.canonicalState == before)
    #expect(h.ledger.sweep(now: end)?.events == [.creditExpired(expiring)])
    #expect(h.refund(expiring, "5", at: end).code == .creditExpired)
}
