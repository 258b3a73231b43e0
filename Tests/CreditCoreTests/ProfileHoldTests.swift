// Proves a profile HOLD plans a tender across several credits (converting with FX where needed), is all or nothing unless partial, replies with one item per leg, is captured over its legs in plan order, voids and expires every leg, is bounded by legsMax, and that QUOTE shows exactly the plan a HOLD right after makes without changing anything.

import CreditCore
import Testing

/// `cust-1` with cr_1 promo 10.00 AUD, cr_2 store 20.00 AUD and cr_3 gift 50.00 NZD (worth 46.19 AUD):
/// 76.19 AUD in all, used in that order (promo, store, gift).
private func threeCredits() throws -> Harness {
    var h = Harness(policy: Fixture.fxPolicy)
    _ = try h.newCredit(.promo, "10")
    _ = try h.newCredit(.store, "20")
    _ = try h.newCredit(.gift, "50", "NZD", profile: "cust-1")
    return h
}

private let nzdRate = Fixture.rate("0.9238")

@Test func aProfileHoldIsAllOrNothingUnlessPartial() throws {
    var h = try threeCredits()
    let before = h.ledger.canonicalState
    #expect(h.hold(profile: "cust-1", "80").refusal == CreditError(.insufficientFunds, "credits cover 76.19 of 80.00 AUD"))
    #expect(h.ledger.canonicalState == before)
    let reply = try #require(h.hold(profile: "cust-1", "80", partial: true).appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("amount", "76.19"), Field("requested", "80.00"),
                             Field("remaining", "3.81"), Field("currency", "AUD"), Field("expires", "2026-11-26T14:45:00Z")])
    #expect(reply.items == [
        [Field("credit", "cr_1"), Field("type", "promo"), Field("amount", "10.00"), Field("currency", "AUD"),
         Field("tax_class", "promo")],
        [Field("credit", "cr_2"), Field("type", "store"), Field("amount", "20.00"), Field("currency", "AUD"),
         Field("tax_class", "tender")],
        [Field("credit", "cr_3"), Field("type", "gift"), Field("amount", "50.00"), Field("currency", "NZD"),
         Field("covers", "46.19"), Field("sale_currency", "AUD"), Field("rate", "0.9238"), Field("tax_class", "tender")],
    ])
    for id in 1...3 { #expect(try h.credit(CreditID(UInt64(id))).available == .zero) }
    #expect(h.hold(profile: "cust-1", "0.01", partial: true).refusal == CreditError(.insufficientFunds, "credits cover 0.00 of 0.01 AUD"))
}

@Test func aProfileHoldJournalsOneLegPerCreditAndEachCreditRecordsItsPart() throws {
    var h = try threeCredits()
    let result = h.hold(profile: "cust-1", "40", ref: "h-1")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("amount", "40.00"), Field("requested", "40.00"),
                             Field("remaining", "0.00"), Field("currency", "AUD"), Field("expires", "2026-11-26T14:45:00Z")])
    let legs = [HoldLeg(credit: CreditID(1), amount: MinorUnits(1000), covers: MinorUnits(1000), rate: nil),
                HoldLeg(credit: CreditID(2), amount: MinorUnits(2000), covers: MinorUnits(2000), rate: nil),
                HoldLeg(credit: CreditID(3), amount: MinorUnits(1083), covers: MinorUnits(1000), rate: nzdRate)]
    let deadline = Instant(millis: Fixture.t0.millis + 900_000)
    #expect(result.entry?.events == [.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(4000),
                                                       legs: legs, deadline: deadline))])
    #expect(try h.holdRecord(HoldID(1)) == Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(4000), legs: legs,
                                                deadline: deadline, state: .pending, captured: [.zero, .zero, .zero]))
    for leg in legs {
        let credit = try h.credit(leg.credit)
        #expect(try credit.held == leg.amount && h.pendingHolds(leg.credit) == [HoldID(1)])
        #expect(credit.history.last == Activity(seq: 2, at: Fixture.t0, kind: .hold, amount: leg.amount,
                                                balanceAfter: credit.balance, hold: HoldID(1), ref: Ref("h-1")))
    }
    #expect(h.ledger.pendingHoldCount == 1)
    #expect(h.hold(profile: "cust-1", "40", ref: "h-1").replayedReply == reply)
}

@Test(arguments: [
    // capture, then (amount, covers) per leg in plan order: promo AUD, store AUD, gift NZD.
    ("5", [(500, 500), (0, 0), (0, 0)]),
    ("10", [(1000, 1000), (0, 0), (0, 0)]),
    ("25", [(1000, 1000), (1500, 1500), (0, 0)]),
    ("35", [(1000, 1000), (2000, 2000), (542, 500)]),  // ⌈5.00 / 0.9238⌉ = 5.42 NZD
    ("39.99", [(1000, 1000), (2000, 2000), (1082, 999)]),  // ⌈9.99 / 0.9238⌉ = 10.82 NZD
    (nil, [(1000, 1000), (2000, 2000), (1083, 1000)]),  // whole: exactly what each leg reserved
] as [(String?, [(Int64, Int64)])])
func aCaptureTakesTheLegsInPlanOrder(_ value: String?, _ expected: [(Int64, Int64)]) throws {
    var h = try threeCredits()
    let hold = try h.newHold(.profile(ProfileID("cust-1")!), "40")
    let result = h.capture(hold, value)
    let taken = expected.map { CapturedLeg(amount: MinorUnits($0.0), covers: MinorUnits($0.1)) }
    #expect(result.entry?.events == [.captured(hold, legs: taken)])
    let record = try h.holdRecord(hold)
    #expect(record.state == .captured && Array(record.captured) == taken.map(\.amount))
    let balances: [Int64] = [1000, 2000, 5000]
    for (index, leg) in record.legs.enumerated() {
        let credit = try h.credit(leg.credit)
        #expect(credit.balance.value == balances[index] - expected[index].0)
        #expect(credit.held == .zero && credit.pendingHoldCount == 0)
    }
    let reply = try #require(result.appliedReply)
    let captured = expected.reduce(0) { $0 + $1.1 }
    #expect(reply.value("captured") == formatAmount(MinorUnits(captured), Fixture.aud))
    #expect(reply.value("released") == formatAmount(MinorUnits(4000 - captured), Fixture.aud))
}

@Test func aPartialCaptureRepliesPerLegWithWhatWasTakenAndReleased() throws {
    var h = try threeCredits()
    let hold = try h.newHold(.profile(ProfileID("cust-1")!), "40")
    let reply = try #require(h.capture(hold, "35").appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("captured", "35.00"), Field("released", "5.00"), Field("currency", "AUD")])
    #expect(reply.items == [
        [Field("credit", "cr_1"), Field("type", "promo"), Field("captured", "10.00"), Field("released", "0.00"),
         Field("currency", "AUD"), Field("balance", "0.00"), Field("tax_class", "promo")],
        [Field("credit", "cr_2"), Field("type", "store"), Field("captured", "20.00"), Field("released", "0.00"),
         Field("currency", "AUD"), Field("balance", "0.00"), Field("tax_class", "tender")],
        [Field("credit", "cr_3"), Field("type", "gift"), Field("captured", "5.42"), Field("released", "5.41"),
         Field("currency", "NZD"), Field("covers", "5.00"), Field("sale_currency", "AUD"), Field("rate", "0.9238"),
         Field("balance", "44.58"), Field("tax_class", "tender")],
    ])
    #expect(h.capture(hold).code == .holdCaptured)
}

@Test func aCaptureOverTheHoldsCoverIsExceedsHold() throws {
    var h = try threeCredits()
    let hold = try h.newHold(.profile(ProfileID("cust-1")!), "80", partial: true)  // covers 76.19
    let before = h.ledger.canonicalState
    #expect(h.capture(hold, "76.20").refusal == CreditError(.exceedsHold, "hold hd_1 is for 76.19 AUD"))
    #expect(h.ledger.canonicalState == before)
    #expect(h.capture(hold, "76.19").appliedReply?.items.last?[2] == Field("captured", "50.00"))
}

@Test func voidingAProfileHoldReleasesEveryLeg() throws {
    var h = try threeCredits()
    let hold = try h.newHold(.profile(ProfileID("cust-1")!), "40")
    let result = h.void(hold)
    #expect(result.appliedReply?.fields == [Field("hold", "hd_1"), Field("released", "40.00"), Field("currency", "AUD")])
    for (id, amount) in [(1, 1000), (2, 2000), (3, 1083)] as [(UInt64, Int64)] {
        let credit = try h.credit(CreditID(id))
        #expect(credit.held == .zero && credit.pendingHoldCount == 0)
        #expect(credit.history.last?.kind == .void && credit.history.last?.amount == MinorUnits(amount))
    }
    #expect(try h.holdRecord(hold).state == .voided && Array(h.holdRecord(hold).captured) == [.zero, .zero, .zero])
}

@Test func aProfileHoldsDeadlineIsClippedToItsSoonestExpiringLegAndExpiresWhole() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let today = try h.newCredit(.promo, "10", expires: "2026-11-26")
    let later = try h.newCredit(.store, "20", expires: "2027-01-31")
    let reply = try #require(h.hold(profile: "cust-1", "25", ttl: Seconds(86_400)).appliedReply)
    #expect(reply.value("expires") == "2026-11-27T00:00:00Z")
    let end = try #require(CivilDate("2026-11-26")).endInstant
    #expect(h.ledger.sweep(now: end)?.events == [.expired(HoldID(1)), .creditExpired(today)])
    #expect(try h.credit(later).held == .zero && h.credit(later).history.last?.kind == .expire)
    #expect(try h.credit(later).available == MinorUnits(2000))
}

@Test func quoteShowsThePlanAHoldRightAfterMakesAndChangesNothing() throws {
    var h = try threeCredits()
    let before = h.ledger.canonicalState
    let refs = h.ledger.refCount
    let quote = try #require(h.quote(.profile(ProfileID("cust-1")!), "40").readReply)
    #expect(quote.fields == [Field("amount", "40.00"), Field("requested", "40.00"), Field("remaining", "0.00"),
                             Field("currency", "AUD")])
    #expect(h.ledger.canonicalState == before && h.ledger.refCount == refs)
    let hold = try #require(h.hold(profile: "cust-1", "40").appliedReply)
    #expect(hold.items == quote.items)
    #expect(["amount", "requested", "remaining", "currency"].allSatisfy { hold.value($0) == quote.value($0) })
    // Quotes see what holds reserve.
    let after = try #require(h.quote(.profile(ProfileID("cust-1")!), "40", partial: true).readReply)
    #expect(after.items.map { $0[0].value } == ["cr_3"])
    #expect(after.value("amount") == "36.18" && after.value("remaining") == "3.82")  // 39.17 NZD is worth 36.185 AUD
}

@Test func quoteIsRefusedExactlyWhereHoldWouldBe() throws {
    var h = try threeCredits()
    let single = CreditSelector.credit(CreditID(3))
    let cases: [(CreditSelector, String, String, Bool)] = [
        (.profile(ProfileID("cust-1")!), "80", "AUD", false), (.profile(ProfileID("cust-1")!), "5", "EUR", false),
        (.profile(ProfileID("cust-1")!), "5.001", "AUD", false), (single, "5", "JPY", false), (.credit(CreditID(9)), "5", "AUD", false),
        (single, "46.20", "AUD", false), (single, "46.20", "AUD", true),
    ]
    for (selector, value, currency, partial) in cases {
        let quoted = h.quote(selector, value, currency, partial: partial)
        let held = h.hold(selector, value, currency, partial: partial)
        switch (quoted, held) {
        case (.refused(let a), .refused(let b)): #expect(a == b)
        case (.read(let quote, _), .applied(_, let hold)): #expect(quote.items == hold.items)
        default: Issue.record("QUOTE \(quoted) but HOLD \(held)")
        }
    }
    #expect(h.ledger.pendingHoldCount == 1)  // only the partial one
}

@Test func aTenderUsesAtMostLegsMaxCredits() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    for _ in 0...LedgerPolicy.legsMax { _ = try h.newCredit(.store, "1") }
    #expect(LedgerPolicy.legsMax == 32)
    #expect(h.hold(profile: "cust-1", "33").refusal == CreditError(.insufficientFunds, "credits cover 32.00 of 33.00 AUD"))
    let reply = try #require(h.hold(profile: "cust-1", "33", partial: true).appliedReply)
    #expect(reply.items.count == LedgerPolicy.legsMax)
    #expect(reply.value("remaining") == "1.00")
    #expect(try h.credit(CreditID(33)).held == .zero)
    // The 33rd credit is still there for the rest.
    #expect(h.hold(profile: "cust-1", "1").appliedReply?.items.map { $0[0].value } == ["cr_33"])
}

@Test func aProfileIsNotACreditForBalanceAndAnUnknownProfileCoversNothing() throws {
    var h = try threeCredits()
    #expect(h.run(.balance(.profile(ProfileID("cust-1")!))).refusal
        == CreditError(.badRequest, "profile cust-1 names several credits; give credit= or card="))
    #expect(h.hold(profile: "nobody", "5").refusal == CreditError(.insufficientFunds, "credits cover 0.00 of 5.00 AUD"))
    // A tender skips a credit it cannot convert: no NO_RATE, just nothing to cover with.
    _ = try h.newCredit(.gift, "50", "NZD", profile: "cust-2")
    #expect(h.hold(profile: "cust-2", "5", "JPY", partial: true).refusal == CreditError(.insufficientFunds, "credits cover 0 of 5 JPY"))
}
