// Proves ISSUE creates gift, store and promo credits only within the currency, amount, profile and expiry rules, and BALANCE finds credits by id or card without telling a wrong PIN from an unknown card.

import CreditCore
import Testing

@Test func giftIssueRepliesWithMaskedCardAndJournalsOneIssuedEvent() throws {
    var h = Harness()
    let card = Fixture.card(4321)
    let result = h.issue(.gift, "50", "AUD", card: card, ref: "sale-1")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("type", "gift"), Field("balance", "50.00"),
                             Field("currency", "AUD"), Field("card", "************4321")])
    #expect(reply.items.isEmpty)
    let entry = try #require(result.entry)
    #expect(entry.at == Fixture.t0)
    #expect(entry.events == [.issued(IssuedCredit(credit: CreditID(1), type: .gift, currency: "AUD", amount: MinorUnits(5000),
                                                  bonus: .zero, expires: nil, profile: nil, card: card, campaign: nil))])
    #expect(entry.idempotency?.ref == Ref("sale-1"))
    #expect(entry.idempotency?.reply == reply)
    #expect(h.ledger.cardExists(card.cardDigest))
    #expect(!h.ledger.cardExists(Fixture.card(1).cardDigest))
    let credit = try h.credit(CreditID(1))
    #expect(credit.balance == MinorUnits(5000) && credit.held == .zero && credit.available == MinorUnits(5000))
    #expect(credit.card == card && credit.status == .active && credit.profile == nil)
    #expect(credit.marketing == .zero && credit.campaign == nil)
    #expect(credit.history == [Activity(seq: 1, at: Fixture.t0, kind: .issue, amount: MinorUnits(5000),
                                        balanceAfter: MinorUnits(5000), hold: nil, ref: Ref("sale-1"))])
}

@Test func storeAndPromoIssueWithProfileAndExpiry() throws {
    var h = Harness()
    let store = try #require(h.issue(.store, "12.505", "KWD", profile: "cust-9").appliedReply)
    #expect(store.fields == [Field("credit", "cr_1"), Field("type", "store"), Field("balance", "12.505"),
                             Field("currency", "KWD"), Field("profile", "cust-9")])
    let promo = try #require(h.issue(.promo, "500", "JPY", profile: "cust-9", campaign: "xmas-26",
                                     expires: "2027-06-30").appliedReply)
    #expect(promo.fields == [Field("credit", "cr_2"), Field("type", "promo"), Field("balance", "500"),
                             Field("currency", "JPY"), Field("campaign", "xmas-26"), Field("profile", "cust-9"),
                             Field("expires", "2027-06-30")])
    let credit = try h.credit(CreditID(2))
    #expect(credit.profile == ProfileID("cust-9"))
    #expect(credit.expires == CivilDate("2027-06-30"))
    #expect(credit.card == nil)
    #expect(credit.campaign == "xmas-26")
    #expect(h.ledger.creditCount == 2)
}

@Test(arguments: [CreditType.store, .promo])
func storeAndPromoRequireAProfile(_ type: CreditType) {
    var h = Harness()
    let refusal = h.issue(type, "10", "AUD", campaign: type == .promo ? "spring" : nil).refusal
    #expect(refusal == CreditError(.badRequest, "\(type.rawValue) credit requires profile="))
    #expect(h.ledger.creditCount == 0)
}

@Test(arguments: ["XYZ", "aud", "", "AUDD"])
func issueInAnUnconfiguredCurrencyIsBadCurrency(_ code: String) {
    var h = Harness()
    #expect(h.issue(.gift, "10", code).refusal == CreditError(.badCurrency, "unknown currency \(code)"))
}

@Test(arguments: [("12.505", "AUD"), ("0", "AUD"), ("0.00", "AUD"), ("1.5", "JPY"), ("1000.0", "JPY"), ("0.0001", "KWD")])
func issueWithTooManyDigitsOrZeroIsBadAmount(_ value: String, _ code: String) {
    var h = Harness()
    #expect(h.issue(.gift, value, code).code == .badAmount)
    #expect(h.ledger.creditCount == 0)
}

@Test func issueAboveBalanceMaxIsBadAmountAndAtItSucceeds() throws {
    var h = Harness()
    #expect(h.issue(.gift, "1000.01", "AUD").refusal
        == CreditError(.badAmount, "amount exceeds the maximum balance of 1000.00 AUD"))
    #expect(h.issue(.gift, "100001", "JPY").code == .badAmount)
    #expect(h.issue(.gift, "500.001", "KWD").code == .badAmount)
    #expect(h.issue(.gift, "1000.00", "AUD").appliedReply?.value("balance") == "1000.00")
    #expect(h.issue(.gift, "100000", "JPY").appliedReply?.value("balance") == "100000")
    #expect(h.issue(.gift, "500", "KWD").appliedReply?.value("balance") == "500.000")
}

@Test func issueWithAnExpiryThatHasEndedIsBadRequest() throws {
    var h = Harness()
    // t0 is 2026-11-26T14:30Z: yesterday has ended, today has not.
    #expect(h.issue(.gift, "10", expires: "2026-11-25").refusal
        == CreditError(.badRequest, "expires=2026-11-25 is in the past"))
    #expect(h.issue(.gift, "10", expires: "2026-11-26").appliedReply != nil)
    let end = try #require(CivilDate("2026-11-27")).endInstant
    #expect(h.issue(.gift, "10", expires: "2026-11-27", at: Instant(millis: end.millis - 1)).appliedReply != nil)
    #expect(h.issue(.gift, "10", expires: "2026-11-27", at: end).code == .badRequest)
    #expect(h.ledger.creditCount == 2)
}

@Test func refusedIssueChangesNothing() {
    var h = Harness()
    let before = h.ledger.canonicalState
    _ = h.issue(.store, "10", "AUD")
    _ = h.issue(.gift, "10", "XYZ")
    _ = h.issue(.gift, "10.001", "AUD")
    #expect(h.ledger.canonicalState == before)
    #expect(h.ledger.refCount == 0)
}

@Test func creditIDsCountUpFromOne() throws {
    var h = Harness()
    #expect(try h.newCredit(.gift, "1") == CreditID(1))
    _ = h.issue(.store, "1")  // refused: no profile
    #expect(try h.newCredit(.store, "1") == CreditID(2))
    #expect(try h.newCredit(.promo, "1", "JPY") == CreditID(3))
    #expect(h.ledger.state.lastCreditNumber == 3)
}

@Test func balanceByCreditIsAReadWithAllFields() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "100", expires: "2027-06-30")
    _ = try h.newHold(id, "30.25")
    let before = h.ledger.canonicalState
    let reply = try #require(h.balance(id).readReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("type", "gift"), Field("balance", "100.00"),
                             Field("held", "30.25"), Field("available", "69.75"), Field("currency", "AUD"),
                             Field("status", "active"), Field("expires", "2027-06-30")])
    #expect(h.ledger.canonicalState == before)
    #expect(h.balance(CreditID(99)).refusal == CreditError(.notFound, "no credit cr_99"))
}

@Test func balanceByCardNeedsTheRightPINAndHidesWhichPartWasWrong() throws {
    var h = Harness()
    let card = Fixture.card(5555)
    let id = try h.newCredit(.gift, "25", card: card)
    let byCard = try #require(h.run(.balance(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest))).readReply)
    #expect(byCard == h.balance(id).readReply)

    // All three are recorded (one counts toward this card's lock), so they cost the same too.
    let wrongPIN = h.run(.balance(.card(cardDigest: card.cardDigest, pinDigest: Fixture.wrongPIN))).recordedRefusal
    let unknownCard = h.run(.balance(.card(cardDigest: Fixture.card(6666).cardDigest,
                                           pinDigest: Fixture.card(6666).pinDigest))).recordedRefusal
    let zeroPIN = h.run(.balance(.card(cardDigest: Fixture.card(7777).cardDigest,
                                       pinDigest: Digest32(w0: 0, w1: 0, w2: 0, w3: 0)))).recordedRefusal
    #expect(wrongPIN == CreditError(.declined, "card declined"))
    #expect(unknownCard == wrongPIN)
    #expect(zeroPIN == wrongPIN)
    // Another card's PIN does not open this card.
    _ = try h.newCredit(.gift, "25", card: Fixture.card(8888))
    #expect(h.run(.balance(.card(cardDigest: card.cardDigest, pinDigest: Fixture.card(8888).pinDigest))).recordedRefusal?.code
        == .declined)
}
