// Proves FREEZE, UNFREEZE and CANCEL move a credit between statuses only along allowed paths, record their reasons, block spending with CREDIT_FROZEN / CREDIT_CANCELLED / CREDIT_INACTIVE, and that CANCEL writes off the balance but is refused with HOLDS_PENDING while holds are pending.

import CreditCore
import Testing

@Test func freezeBlocksSpendingAndUnfreezeRestoresIt() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    let frozen = h.change(id, .freeze, reason: "reported lost", ref: "f-1")
    #expect(frozen.appliedReply?.fields == [Field("credit", "cr_1"), Field("status", "frozen"), Field("currency", "AUD")])
    #expect(frozen.entry?.events == [.frozen(id, reason: "reported lost")])
    #expect(h.balance(id).readReply?.value("status") == "frozen")
    let before = h.ledger.canonicalState
    #expect(h.hold(id, "1").refusal == CreditError(.creditFrozen, "credit cr_1 is frozen"))
    #expect(h.quote(.credit(id), "1").code == .creditFrozen)
    #expect(h.change(id, .freeze).refusal == CreditError(.creditFrozen, "credit cr_1 is frozen"))
    #expect(h.ledger.canonicalState == before)

    let unfrozen = h.change(id, .unfreeze, reason: "found", ref: "u-1")
    #expect(unfrozen.appliedReply?.fields == [Field("credit", "cr_1"), Field("status", "active"), Field("currency", "AUD")])
    #expect(unfrozen.entry?.events == [.unfrozen(id, reason: "found")])
    #expect(h.hold(id, "1").appliedReply != nil)
    #expect(h.change(id, .unfreeze).refusal == CreditError(.badRequest, "credit cr_1 is active, not frozen"))

    let history = try #require(h.history(id).readReply)
    #expect(history.items[1] == [Field("seq", "2"), Field("at", "2026-11-26T14:30:00Z"), Field("kind", "freeze"),
                                 Field("amount", "0.00"), Field("balance", "50.00"), Field("ref", "f-1"),
                                 Field("reason", "reported lost")])
    #expect(history.items[2] == [Field("seq", "3"), Field("at", "2026-11-26T14:30:00Z"), Field("kind", "unfreeze"),
                                 Field("amount", "0.00"), Field("balance", "50.00"), Field("ref", "u-1"),
                                 Field("reason", "found")])
}

@Test func aFrozenCreditsPendingHoldsCanStillBeVoided() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    let hold = try h.newHold(id, "20")
    _ = try #require(h.change(id, .freeze).appliedReply)
    #expect(h.void(hold).appliedReply?.value("released") == "20.00")
    #expect(try h.credit(id).available == MinorUnits(5000) && h.credit(id).status == .frozen)
}

@Test func cancelWritesOffTheBalanceForGood() throws {
    var h = Harness()
    let id = try h.newCredit(.store, "50", bonus: "5")
    let result = h.change(id, .cancel, reason: "fraud", ref: "x-1")
    #expect(result.appliedReply?.fields == [Field("credit", "cr_1"), Field("status", "cancelled"),
                                            Field("written_off", "55.00"), Field("currency", "AUD")])
    #expect(result.entry?.events == [.cancelled(id, reason: "fraud")])
    let credit = try h.credit(id)
    #expect(credit.status == .cancelled && credit.balance == .zero && credit.available == .zero && credit.marketing == .zero)
    #expect(credit.history.last == Activity(seq: 3, at: Fixture.t0, kind: .cancel, amount: MinorUnits(5500),
                                            balanceAfter: .zero, hold: nil, ref: Ref("x-1"), reason: "fraud"))
    #expect(h.balance(id).readReply?.value("status") == "cancelled")

    let before = h.ledger.canonicalState
    let cancelled = CreditError(.creditCancelled, "credit cr_1 is cancelled")
    #expect(h.hold(id, "1").refusal == cancelled)
    #expect(h.refund(id, "1").refusal == cancelled)
    #expect(h.change(id, .freeze).refusal == cancelled)
    #expect(h.change(id, .cancel).refusal == cancelled)
    #expect(h.change(id, .unfreeze).refusal == CreditError(.badRequest, "credit cr_1 is cancelled, not frozen"))
    #expect(h.ledger.canonicalState == before)
}

@Test func cancelIsRefusedWhileHoldsArePendingAndAllowedOnceTheyResolve() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    let first = try h.newHold(id, "10")
    let second = try h.newHold(id, "5")
    let before = h.ledger.canonicalState
    #expect(h.change(id, .cancel).refusal
        == CreditError(.holdsPending, "credit cr_1 has 2 pending holds; capture or void them first"))
    #expect(h.ledger.canonicalState == before)
    _ = try #require(h.capture(first).appliedReply)
    #expect(h.change(id, .cancel).code == .holdsPending)
    _ = try #require(h.void(second).appliedReply)
    #expect(h.change(id, .cancel).appliedReply?.value("written_off") == "40.00")
}

@Test func frozenAndInactiveCreditsCanBeCancelled() throws {
    var h = Harness()
    let frozen = try h.newCredit(.gift, "50")
    _ = try #require(h.change(frozen, .freeze).appliedReply)
    #expect(h.change(frozen, .cancel).appliedReply?.value("written_off") == "50.00")
    let inactive = CreditID(2)
    h.restore(adding: stockCard(inactive, 0, card: Fixture.card(99)))
    #expect(h.change(inactive, .cancel).appliedReply?.fields
        == [Field("credit", "cr_2"), Field("status", "cancelled"), Field("written_off", "0.00"), Field("currency", "AUD")])
}

@Test func anInactiveCardCannotBeSpentOrFrozen() throws {
    var h = Harness()
    let card = Fixture.card(99)
    h.restore(adding: stockCard(CreditID(1), 0, card: card, profile: ProfileID("cust-1")))
    _ = try h.newCredit(.store, "5")
    let inactive = CreditError(.creditInactive, "credit cr_1 is not activated")
    #expect(h.hold(CreditID(1), "1").refusal == inactive)
    #expect(h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "1").refusal == inactive)
    #expect(h.change(CreditID(1), .freeze).refusal == inactive)
    #expect(h.balance(CreditID(1)).readReply?.value("status") == "inactive")
    // A profile tender passes over it.
    #expect(h.quote(.profile(ProfileID("cust-1")!), "5").readReply?.items.map { $0[0].value } == ["cr_2"])
}

@Test func statusChangesOfAnUnknownCreditAreNotFound() {
    var h = Harness()
    for change in [StatusChange.freeze, .unfreeze, .cancel] {
        #expect(h.change(CreditID(7), change).refusal == CreditError(.notFound, "no credit cr_7"))
    }
}
