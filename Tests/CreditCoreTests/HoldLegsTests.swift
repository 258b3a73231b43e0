// Proves a hold's compact leg storage gives back exactly the legs and captured amounts it was made from (one leg inline, several in one array, with and without FX rates), records captured amounts per leg without touching copies, compares by value, keeps a hold's slot small, and gives back a hold's currency code as it was given.

import Testing
@testable import CreditCore

private func rate(_ text: String) -> Rate {
    guard let rate = Rate(text) else { preconditionFailure("test literal \(text) is not a rate") }
    return rate
}

private let plain = HoldLeg(credit: CreditID(7), amount: MinorUnits(3000), covers: MinorUnits(3000), rate: nil)
private let converted = HoldLeg(credit: CreditID(8), amount: MinorUnits(1000), covers: MinorUnits(1082), rate: rate("1.0825"))
private let fine = HoldLeg(credit: CreditID(9), amount: MinorUnits(5), covers: MinorUnits(1), rate: rate("0.12345678"))

@Test func oneLegGivesBackItsLegAndCapturedAmount() {
    var legs = HoldLegs(plain)
    #expect(legs.count == 1 && legs[0] == plain && Array(legs) == [plain])
    #expect(Array(legs.captured) == [.zero] && legs.capturedAmount(at: 0) == .zero)
    #expect(legs.covered == MinorUnits(3000))
    legs.setCaptured(MinorUnits(1200), at: 0)
    #expect(legs[0] == plain && Array(legs.captured) == [MinorUnits(1200)])
    #expect(legs == HoldLegs([plain], captured: [MinorUnits(1200)]))
    #expect(HoldLegs(converted)[0] == converted && HoldLegs(converted)[0].rate == rate("1.0825"))
}

@Test func theFirstLegsCreditIsReadWhereItLies() {
    #expect(HoldLegs(plain).firstCredit == CreditID(7))
    #expect(HoldLegs([converted, plain, fine]).firstCredit == CreditID(8))
    #expect(HoldLegs([fine, converted]).firstCredit == CreditID(9))
}

@Test func severalLegsKeepPlanOrderRatesAndACapturedAmountEach() {
    let plan = [converted, plain, fine]
    var legs = HoldLegs(plan)
    #expect(legs.count == 3 && Array(legs) == plan)
    #expect(legs.map(\.rate) == [rate("1.0825"), nil, rate("0.12345678")])
    #expect(Array(legs.captured) == [.zero, .zero, .zero])
    #expect(legs.covered == MinorUnits(1082 + 3000 + 1))
    let before = legs
    legs.setCaptured(MinorUnits(1000), at: 0)
    legs.setCaptured(MinorUnits(250), at: 1)
    #expect(Array(legs) == plan)
    #expect(Array(legs.captured) == [MinorUnits(1000), MinorUnits(250), .zero])
    #expect((0..<3).map { legs.capturedAmount(at: $0) } == [MinorUnits(1000), MinorUnits(250), .zero])
    // The copy taken before shares nothing it can see: its amounts stay zero.
    #expect(Array(before.captured) == [.zero, .zero, .zero])
    #expect(HoldLegs(plan, captured: [MinorUnits(1000), MinorUnits(250), .zero]) == legs)
}

@Test func legsAndHoldsCompareByValue() {
    #expect(HoldLegs(plain) == HoldLegs([plain]))
    #expect(HoldLegs([plain, converted]) == HoldLegs([plain, converted], captured: [.zero, .zero]))
    #expect(HoldLegs(plain) != HoldLegs(plain, captured: MinorUnits(1)))
    #expect(HoldLegs(plain) != HoldLegs([plain, converted]))
    #expect(HoldLegs([plain, converted]) != HoldLegs([converted, plain]))
    let other = HoldLeg(credit: CreditID(8), amount: MinorUnits(1000), covers: MinorUnits(1082), rate: rate("1.0826"))
    #expect(HoldLegs(converted) != HoldLegs(other))
    #expect(HoldLegs([plain, converted]).captured == HoldLegs([converted, plain]).captured)

    let deadline = Instant(millis: 1_795_703_400_000)
    func hold(_ captured: [MinorUnits], _ state: HoldState) -> Hold {
        Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(5000), legs: [plain, converted], deadline: deadline,
             state: state, captured: captured)
    }
    var placed = hold([.zero, .zero], .pending)
    #expect(placed == Hold(id: HoldID(1), currency: "AUD", requested: MinorUnits(5000), legs: HoldLegs([plain, converted]),
                           deadline: deadline, state: .pending))
    #expect(placed.amount == MinorUnits(3000 + 1082))
    placed.setCaptured(MinorUnits(3000), at: 0)
    placed.state = .captured
    #expect(placed == hold([MinorUnits(3000), .zero], .captured))
    #expect(placed != hold([MinorUnits(3000), MinorUnits(1)], .captured))
}

@Test func aHoldSlotStaysSmall() {
    // A one-leg hold lives entirely in its table slot: no arrays. (Two arrays and a 64-byte
    // slot took about 210 bytes a hold.)
    #expect(MemoryLayout<Hold?>.stride <= 72, "Hold? stride \(MemoryLayout<Hold?>.stride)")
    #expect(MemoryLayout<HoldLegs>.size <= 42, "HoldLegs size \(MemoryLayout<HoldLegs>.size)")
}

@Test func aHoldGivesBackItsCurrencyCode() {
    for code in ["AUD", "JPY", "KWD", "ZZZ", "AAA"] {
        let hold = Hold(id: HoldID(1), currency: code, requested: MinorUnits(1), legs: HoldLegs(plain),
                        deadline: Instant(millis: 0), state: .pending)
        #expect(hold.currency == code && hold.currency.utf8.count == 3)
    }
    #expect(PackedCurrencyCode("AUD") == PackedCurrencyCode("AUD") && PackedCurrencyCode("AUD") != PackedCurrencyCode("NZD"))
}
