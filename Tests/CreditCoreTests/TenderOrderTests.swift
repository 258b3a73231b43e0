// Proves a profile tender uses its credits in the configured order — soonest expiry first (expiring before non-expiring), then promo < store < gift, then smallest available, ties by credit id — that each key and custom orders work alone and combined, and that only usable credits that can pay in the sale's currency take part.

import CreditCore
import Testing

/// A harness under `order` with five AUD credits on `cust-1`:
/// cr_1 gift 30, cr_2 store 20, cr_3 promo 10 (none expire), cr_4 store 5 expiring 2026-12-31,
/// cr_5 gift 50 expiring 2026-12-01. Together 115.00.
private func fiveCredits(_ order: TenderOrder) throws -> Harness {
    var policy = Fixture.fxPolicy
    policy.tenderOrder = order
    var h = Harness(policy: policy)
    _ = try h.newCredit(.gift, "30", profile: "cust-1")
    _ = try h.newCredit(.store, "20")
    _ = try h.newCredit(.promo, "10")
    _ = try h.newCredit(.store, "5", expires: "2026-12-31")
    _ = try h.newCredit(.gift, "50", profile: "cust-1", expires: "2026-12-01")
    return h
}

/// The credits a QUOTE for `amount` across `cust-1` uses, in order.
private func order(_ h: inout Harness, _ amount: String = "115", _ currency: String = "AUD") throws -> [String] {
    let reply = try #require(h.quote(.profile(ProfileID("cust-1")!), amount, currency, partial: true).readReply)
    return reply.items.map { $0[0].value }
}

@Test(arguments: [
    (TenderOrder.standard, ["cr_5", "cr_4", "cr_3", "cr_2", "cr_1"]),
    (TenderOrder(keys: [.expiry], types: [.promo, .store, .gift]), ["cr_5", "cr_4", "cr_1", "cr_2", "cr_3"]),
    (TenderOrder(keys: [.type], types: [.promo, .store, .gift]), ["cr_3", "cr_2", "cr_4", "cr_1", "cr_5"]),
    (TenderOrder(keys: [.balance], types: []), ["cr_4", "cr_3", "cr_2", "cr_1", "cr_5"]),
    (TenderOrder(keys: [], types: []), ["cr_1", "cr_2", "cr_3", "cr_4", "cr_5"]),
    (TenderOrder(keys: [.type, .balance], types: [.gift, .store, .promo]), ["cr_1", "cr_5", "cr_4", "cr_2", "cr_3"]),
    (TenderOrder(keys: [.type], types: [.store]), ["cr_2", "cr_4", "cr_1", "cr_3", "cr_5"]),  // unlisted types last
    (TenderOrder(keys: [.balance, .expiry], types: []), ["cr_4", "cr_3", "cr_2", "cr_1", "cr_5"]),
    (TenderOrder(keys: [.expiry, .balance], types: []), ["cr_5", "cr_4", "cr_3", "cr_2", "cr_1"]),
])
func eachKeyAndCustomOrderSortsTheProfilesCredits(_ tender: TenderOrder, _ expected: [String]) throws {
    var h = try fiveCredits(tender)
    #expect(try order(&h) == expected)
}

@Test func theStandardOrderIsExpiryThenPromoStoreGiftThenBalance() {
    #expect(TenderOrder.standard == TenderOrder(keys: [.expiry, .type, .balance], types: [.promo, .store, .gift]))
    #expect(LedgerPolicy(currencies: CurrencyTable([Fixture.aud])).tenderOrder == .standard)
}

@Test func legsCoverTheSaleInOrderSoTheLastOneUsedMayBePartial() throws {
    var h = try fiveCredits(.standard)
    let reply = try #require(h.hold(profile: "cust-1", "60").appliedReply)
    #expect(reply.items.map { [$0[0].value, $0[2].value] } == [["cr_5", "50.00"], ["cr_4", "5.00"], ["cr_3", "5.00"]])
    #expect(try h.credit(CreditID(3)).available == MinorUnits(500))
    #expect(try h.credit(CreditID(2)).held == .zero && h.credit(CreditID(1)).held == .zero)
}

@Test func tiesAfterEveryKeyGoByCreditIDNumerically() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    for _ in 1...10 { _ = try h.newCredit(.store, "1") }
    // cr_10 comes after cr_9, not after cr_1 as it would by text.
    #expect(try order(&h, "10") == (1...10).map { "cr_\($0)" })
}

@Test func equalBalancesFallBackToIDAndTypeDecidesBeforeBalance() throws {
    var policy = Fixture.fxPolicy
    policy.tenderOrder = TenderOrder(keys: [.balance], types: [])
    var h = Harness(policy: policy)
    _ = try h.newCredit(.store, "10")
    _ = try h.newCredit(.promo, "10")
    _ = try h.newCredit(.gift, "10", profile: "cust-1")
    _ = try h.newCredit(.gift, "9.99", profile: "cust-1")
    #expect(try order(&h, "40") == ["cr_4", "cr_1", "cr_2", "cr_3"])
    var standard = Harness(policy: Fixture.fxPolicy)
    _ = try standard.newCredit(.store, "10")
    _ = try standard.newCredit(.promo, "10")
    _ = try standard.newCredit(.gift, "10", profile: "cust-1")
    _ = try standard.newCredit(.gift, "9.99", profile: "cust-1")
    #expect(try order(&standard, "40") == ["cr_2", "cr_1", "cr_4", "cr_3"])
}

@Test func theBalanceKeyComparesWhatIsAvailableNotTheBalance() throws {
    var h = try fiveCredits(TenderOrder(keys: [.balance], types: []))
    _ = try h.newHold(CreditID(2), "17")  // cr_2 has 3.00 available now
    #expect(try order(&h, "98") == ["cr_2", "cr_4", "cr_3", "cr_1", "cr_5"])
}

@Test func expiringOnTheSameDayFallsThroughToTheNextKey() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    _ = try h.newCredit(.gift, "5", profile: "cust-1", expires: "2027-01-01")
    _ = try h.newCredit(.store, "5", expires: "2027-01-01")
    _ = try h.newCredit(.promo, "5", expires: "2027-02-01")
    _ = try h.newCredit(.promo, "5")
    #expect(try order(&h, "20") == ["cr_2", "cr_1", "cr_3", "cr_4"])
}

@Test func onlyUsableCreditsThatCanPayInTheSaleCurrencyTakePart() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    _ = try h.newCredit(.store, "10")  // cr_1: AUD → NZD at 1.0825
    let frozen = try h.newCredit(.store, "10")  // cr_2
    #expect(h.change(frozen, .freeze).appliedReply != nil)
    _ = try h.newCredit(.store, "1000", "JPY")  // cr_3: no JPY → NZD rate
    _ = try h.newCredit(.store, "5", "NZD")  // cr_4
    let drained = try h.newCredit(.store, "10")  // cr_5: all of it held
    _ = try h.newHold(drained, "10")
    _ = try h.newCredit(.store, "10", profile: "cust-2")  // cr_6: another profile
    let cancelled = try h.newCredit(.store, "10")  // cr_7
    #expect(h.change(cancelled, .cancel).appliedReply != nil)
    let busy = try h.newCredit(.store, "10")  // cr_8: at the limit of 3 pending holds
    for _ in 1...3 { _ = try h.newHold(busy, "1") }
    _ = try h.newCredit(.store, "10", expires: "2026-11-26")  // cr_9: past its date at the end of today
    let end = try #require(CivilDate("2026-11-26")).endInstant

    let reply = try #require(h.quote(.profile(ProfileID("cust-1")!), "100", "NZD", partial: true, at: end).readReply)
    // Both store, neither expires: smaller available first (cr_4: 500 units, cr_1: 1000 units).
    #expect(reply.items == [
        [Field("credit", "cr_4"), Field("type", "store"), Field("amount", "5.00"), Field("currency", "NZD"),
         Field("tax_class", "tender")],
        [Field("credit", "cr_1"), Field("type", "store"), Field("amount", "10.00"), Field("currency", "AUD"),
         Field("covers", "10.82"), Field("sale_currency", "NZD"), Field("rate", "1.0825"), Field("tax_class", "tender")],
    ])
    #expect(reply.fields == [Field("amount", "15.82"), Field("requested", "100.00"), Field("remaining", "84.18"),
                             Field("currency", "NZD")])
    // Before the end of today the expiring credit takes part, and first.
    #expect(try order(&h, "100", "NZD").first == "cr_9")
}
