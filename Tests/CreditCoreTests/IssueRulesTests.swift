// Proves the type rules of ISSUE: store credit's marketing-funded bonus (recorded as its own activity and spent before the return-funded part), promo credit's required campaign (refused on other types), and that CREDITS lists a profile's credits with card last four and campaign.

import CreditCore
import Testing

// MARK: Store credit bonus

@Test func storeBonusAddsAMarketingFundedPartRecordedAsItsOwnActivity() throws {
    var h = Harness()
    let result = h.issue(.store, "50", profile: "cust-1", bonus: "10", ref: "r-1")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("type", "store"), Field("balance", "60.00"),
                             Field("currency", "AUD"), Field("bonus", "10.00"), Field("profile", "cust-1")])
    #expect(result.entry?.events == [.issued(IssuedCredit(credit: CreditID(1), type: .store, currency: "AUD",
                                                          amount: MinorUnits(5000), bonus: MinorUnits(1000), expires: nil,
                                                          profile: ProfileID("cust-1"), card: nil, campaign: nil))])
    let credit = try h.credit(CreditID(1))
    #expect(credit.balance == MinorUnits(6000) && credit.marketing == MinorUnits(1000) && credit.available == MinorUnits(6000))
    let history = try #require(h.history(CreditID(1)).readReply)
    #expect(history.items == [
        [Field("seq", "1"), Field("at", "2026-11-26T14:30:00Z"), Field("kind", "issue"), Field("amount", "50.00"),
         Field("balance", "50.00"), Field("ref", "r-1")],
        [Field("seq", "2"), Field("at", "2026-11-26T14:30:00Z"), Field("kind", "bonus"), Field("amount", "10.00"),
         Field("balance", "60.00"), Field("ref", "r-1")],
    ])
}

@Test func theMarketingFundedPartIsSpentFirst() throws {
    var h = Harness()
    let id = try h.newCredit(.store, "50", bonus: "10")
    let first = try h.newHold(id, "7")
    _ = try #require(h.capture(first).appliedReply)
    #expect(try h.credit(id).marketing == MinorUnits(300) && h.credit(id).balance == MinorUnits(5300))
    let hold = try h.newHold(id, "20")
    _ = try #require(h.capture(hold, "5").appliedReply)  // part of a hold: only what is captured counts
    #expect(try h.credit(id).marketing == .zero && h.credit(id).balance == MinorUnits(4800))
    _ = try #require(h.refund(id, "10").appliedReply)  // a refund returns value, not marketing money
    #expect(try h.credit(id).marketing == .zero && h.credit(id).balance == MinorUnits(5800))
}

@Test func aVoidedOrExpiredHoldSpendsNoMarketingMoney() throws {
    var h = Harness()
    let id = try h.newCredit(.store, "50", bonus: "10")
    let voided = try h.newHold(id, "30")
    _ = try #require(h.void(voided).appliedReply)
    _ = try h.newHold(id, "30", ttl: Seconds(1))
    h.advance(millis: 1000)
    #expect(h.sweep()?.events == [.expired(HoldID(2))])
    #expect(try h.credit(id).marketing == MinorUnits(1000) && h.credit(id).balance == MinorUnits(6000))
}

@Test(arguments: [CreditType.gift, .promo])
func bonusIsOnlyForStoreCredit(_ type: CreditType) {
    var h = Harness()
    let refusal = h.issue(type, "10", profile: "cust-1", bonus: "1", campaign: type == .promo ? "spring" : nil).refusal
    #expect(refusal == CreditError(.badRequest, "bonus= is only for store credit"))
    #expect(h.ledger.creditCount == 0)
}

@Test func aBonusMustBeAPositiveAmountAndTheTotalWithinTheMaximum() throws {
    var h = Harness()
    #expect(h.issue(.store, "10", profile: "cust-1", bonus: "0").refusal
        == CreditError(.badAmount, "amount must be positive with at most 2 decimal places for AUD"))
    #expect(h.issue(.store, "10", profile: "cust-1", bonus: "0.001").code == .badAmount)
    #expect(h.issue(.store, "900", profile: "cust-1", bonus: "100.01").refusal
        == CreditError(.badAmount, "amount exceeds the maximum balance of 1000.00 AUD"))
    #expect(h.issue(.store, "900", profile: "cust-1", bonus: "100").appliedReply?.value("balance") == "1000.00")
    #expect(h.issue(.store, "5", "KWD", profile: "cust-1", bonus: "0.005").appliedReply?.value("bonus") == "0.005")
}

// MARK: Promo campaigns

@Test func promoCreditRequiresACampaignAndKeepsIt() throws {
    var h = Harness()
    #expect(h.issue(.promo, "10", profile: "cust-1").refusal == CreditError(.badRequest, "promo credit requires campaign="))
    let reply = try #require(h.issue(.promo, "10", profile: "cust-1", campaign: "xmas-26").appliedReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("type", "promo"), Field("balance", "10.00"),
                             Field("currency", "AUD"), Field("campaign", "xmas-26"), Field("profile", "cust-1")])
    #expect(try h.credit(CreditID(1)).campaign == "xmas-26")
    #expect(h.ledger.creditCount == 1)
}

@Test(arguments: [CreditType.gift, .store])
func aCampaignIsOnlyForPromoCredit(_ type: CreditType) {
    var h = Harness()
    #expect(h.issue(type, "10", profile: "cust-1", campaign: "xmas-26").refusal
        == CreditError(.badRequest, "campaign= is only for promo credit"))
    #expect(h.ledger.creditCount == 0)
}

// MARK: CREDITS

@Test func creditsListsAProfilesCreditsInIssueOrderWithCardAndCampaign() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    _ = try h.newCredit(.gift, "25", profile: "cust-1", card: Fixture.card(4321))
    _ = try h.newCredit(.store, "12.505", "KWD", bonus: "1")
    _ = try h.newCredit(.store, "5", profile: "cust-2")
    _ = try h.newCredit(.promo, "500", "JPY", campaign: "xmas-26", expires: "2026-11-26")
    _ = try h.newHold(CreditID(1), "5")
    let before = h.ledger.canonicalState
    let reply = try #require(h.credits("cust-1").readReply)
    #expect(reply.items == [
        [Field("credit", "cr_1"), Field("type", "gift"), Field("balance", "25.00"), Field("held", "5.00"),
         Field("available", "20.00"), Field("currency", "AUD"), Field("status", "active"), Field("card", "4321")],
        [Field("credit", "cr_2"), Field("type", "store"), Field("balance", "13.505"), Field("held", "0.000"),
         Field("available", "13.505"), Field("currency", "KWD"), Field("status", "active")],
        [Field("credit", "cr_4"), Field("type", "promo"), Field("balance", "500"), Field("held", "0"),
         Field("available", "500"), Field("currency", "JPY"), Field("status", "active"), Field("expires", "2026-11-26"),
         Field("campaign", "xmas-26")],
    ])
    #expect(reply.fields == [Field("profile", "cust-1"), Field("count", "3")])
    #expect(h.ledger.canonicalState == before)
    #expect(h.credits("cust-2").readReply?.value("count") == "1")
    #expect(h.credits("nobody").readReply == Reply(items: [], fields: [Field("profile", "nobody"), Field("count", "0")]))
    // After its last day the promo credit shows as expired, swept or not.
    let end = try #require(CivilDate("2026-11-26")).endInstant
    #expect(h.credits("cust-1", at: end).readReply?.items.last?[6] == Field("status", "expired"))
}
