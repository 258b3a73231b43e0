// Proves FX conversion is exact: rates parse and print as written; covering s sale units takes ⌈s / rate⌉ credit units — never less than the value, never a whole unit more — in 0-, 2- and 3-digit currencies; holds and captures convert leg by leg with that one rule; a missing rate is NO_RATE; RATES lists the table; and a reload leaves pending holds their rate.

import CreditCore
import Testing

// MARK: Rates as decimals

@Test(arguments: [("1.0825", Int64(10825), 4), ("97.45", 9745, 2), ("0.01026", 1026, 5), ("2", 2, 0),
                  ("2.50", 250, 2), ("0.00000001", 1, 8), ("1234.5678", 12_345_678, 4)])
func ratesParseToExactDigitsAndPrintAsWritten(_ text: String, _ units: Int64, _ scale: Int) throws {
    let rate = try #require(Rate(text))
    #expect(rate.units == units && rate.scale == scale)
    #expect(rate.description == text)
    #expect(Rate(units: units, scale: scale) == rate)
}

@Test(arguments: ["0", "0.000", "-1", "+1", "1.", ".5", "1.123456789", "1234567", "1e3", "", " 1", "1,5"])
func ratesThatAreNotPositiveExactDecimalsAreRefused(_ text: String) {
    #expect(Rate(text) == nil)
}

@Test func ratesFromDigitsNeedAPositiveValueAndAtMostEightFractionDigits() {
    #expect(Rate(units: 5, scale: 3)?.description == "0.005")
    #expect(Rate(units: 0, scale: 2) == nil)
    #expect(Rate(units: -5, scale: 2) == nil)
    #expect(Rate(units: 5, scale: 9) == nil)
    #expect(Rate(units: 5, scale: -1) == nil)
}

// MARK: The rounding rule on concrete examples

@Test(arguments: [
    ("NZD", "AUD", "0.9238", Int64(1000), Int64(1083)),  // 10.00 AUD takes 10.83 NZD (10.82 NZD is worth 9.995516)
    ("AUD", "JPY", "97.45", 1000, 1027),  // 1000 JPY takes 10.27 AUD (10.26 AUD is worth 999.837)
    ("AUD", "JPY", "97.45", 1, 2),  // 1 JPY takes 0.02 AUD (0.01 AUD is worth 0.9745)
    ("JPY", "AUD", "0.01026", 1000, 975),  // 10.00 AUD takes 975 JPY (974 JPY is worth 9.99324)
    ("KWD", "AUD", "4.9731", 1000, 2011),  // 10.00 AUD takes 2.011 KWD (2.010 KWD is worth 9.995931)
    ("AUD", "KWD", "0.2011", 1000, 498),  // 1.000 KWD takes 4.98 AUD (4.97 AUD is worth 0.999467)
    ("AUD", "NZD", "1.0825", 10825, 10000),  // exact: 108.25 NZD takes 100.00 AUD, not a cent more
])
func coveringASaleAmountTakesTheCeilingOfItOverTheRate(_ from: String, _ to: String, _ rateText: String,
                                                       _ sale: Int64, _ expected: Int64) throws {
    let table = Fixture.fxPolicy.currencies
    let (source, target) = (try #require(table[from]), try #require(table[to]))
    let rate = Fixture.rate(rateText)
    #expect(Fixture.rates.rate(from: from, to: to) == rate)
    let taken = try #require(rate.creditNeeded(MinorUnits(sale), from: source, to: target))
    #expect(taken == MinorUnits(expected))
    #expect(rate.covered(taken, from: source, to: target) >= MinorUnits(sale))
    #expect(rate.covered(taken - MinorUnits(1), from: source, to: target) < MinorUnits(sale))
}

@Test(arguments: [
    ("NZD", "AUD", "0.9238", Int64(5000), Int64(4619)),  // 50.00 NZD is worth exactly 46.19 AUD
    ("NZD", "AUD", "0.9238", 1083, 1000),  // 10.83 NZD is worth 10.004754: 10.00 AUD
    ("AUD", "JPY", "97.45", 1, 0),  // 0.01 AUD is worth 0.9745 JPY: nothing
    ("JPY", "AUD", "0.01026", 975, 1000),  // 975 JPY is worth 10.0035 AUD: 10.00
    ("KWD", "AUD", "4.9731", 2011, 1000),  // 2.011 KWD is worth 10.0009041 AUD: 10.00
    ("AUD", "KWD", "0.2011", 498, 1001),  // 4.98 AUD is worth 1.001478 KWD: 1.001
])
func whatACreditAmountIsWorthIsTheFloorOfItTimesTheRate(_ from: String, _ to: String, _ rateText: String,
                                                       _ amount: Int64, _ expected: Int64) throws {
    let table = Fixture.fxPolicy.currencies
    let worth = Fixture.rate(rateText).covered(MinorUnits(amount), from: try #require(table[from]), to: try #require(table[to]))
    #expect(worth == MinorUnits(expected))
}

// MARK: The rounding rule, exhaustively

/// Checks, in exact rational arithmetic, that `creditNeeded(s)` is worth at least `s` and that one
/// source unit less would not be; and that `covered(a)` is the floor of a's worth.
private func roundingHolds(_ s: Int64, _ rate: Rate, _ source: Currency, _ sale: Currency) -> Bool {
    guard let taken = rate.creditNeeded(MinorUnits(s), from: source, to: sale) else { return false }
    // Worth of c source units, in sale units: c × units × 10^saleDigits / 10^(scale + sourceDigits).
    let unitWorth = Int128(rate.units) * power10(sale.minorDigits)
    let scale = power10(rate.scale + source.minorDigits)
    let covers = Int128(taken.value) * unitWorth >= Int128(s) * scale
    let notOneMore = (Int128(taken.value) - 1) * unitWorth < Int128(s) * scale
    let worth = rate.covered(MinorUnits(s), from: source, to: sale).value
    let floor = Int128(worth) * scale <= Int128(s) * unitWorth && (Int128(worth) + 1) * scale > Int128(s) * unitWorth
    // A whole credit amount converted and converted back never needs more than the amount.
    let back = rate.creditNeeded(MinorUnits(worth), from: source, to: sale).map { $0.value <= s } ?? false
    return covers && notOneMore && floor && back && taken >= .zero
}

@Test func everyFixtureRateTakesLessThanOneExtraUnitAndNeverLessThanTheValue() {
    let table = Fixture.fxPolicy.currencies
    for (from, to, rate) in Fixture.rates.all {
        let (source, sale) = (table[from]!, table[to]!)
        for s in Int64(1)...5000 where !roundingHolds(s, rate, source, sale) {
            Issue.record("\(from) \(to) \(rate): rounding fails for \(s)")
            return
        }
    }
}

@Test func randomRatesAndDigitsTakeLessThanOneExtraUnitAndNeverLessThanTheValue() throws {
    var rng = SplitMix64(seed: 0xF0)
    let codes = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    // Rates up to 10^8 units keep amount × rate inside Int64 (`covered` saturates beyond, which
    // no balance under the ceiling reaches).
    for _ in 0..<20_000 {
        let source = Currency(code: codes[rng.below(5)], minorDigits: rng.below(5), balanceMax: MinorUnits(1_000_000))
        let sale = Currency(code: codes[rng.below(5)], minorDigits: rng.below(5), balanceMax: MinorUnits(1_000_000))
        let rate = try #require(Rate(units: rng.inRange(1...99_999_999), scale: rng.below(Rate.scaleMax + 1)))
        let s = rng.inRange(0...1_000_000)
        guard roundingHolds(s, rate, source, sale) else {
            Issue.record("\(source.code)/\(source.minorDigits) → \(sale.code)/\(sale.minorDigits) at \(rate): fails for \(s)")
            return
        }
    }
}

@Test func aConversionTooLargeForMinorUnitsIsNil() throws {
    let tiny = try #require(Rate("0.00000001"))
    #expect(tiny.creditNeeded(MinorUnits(Int64.max / 10), from: Fixture.kwd, to: Fixture.jpy) == nil)
    #expect(tiny.creditNeeded(MinorUnits(1), from: Fixture.kwd, to: Fixture.jpy) == MinorUnits(100_000_000_000))
}

// MARK: FX holds and captures

@Test func aHoldInAnotherCurrencyReservesTheCeilingAndRepliesWithBothAmounts() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let nzd = try h.newCredit(.gift, "50", "NZD")
    let result = h.hold(nzd, "10", "AUD")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("credit", "cr_1"), Field("amount", "10.00"),
                             Field("requested", "10.00"), Field("remaining", "0.00"), Field("currency", "AUD"),
                             Field("expires", "2026-11-26T14:45:00Z")])  // no `available`: it is in NZD
    #expect(reply.items == [[Field("credit", "cr_1"), Field("type", "gift"), Field("amount", "10.83"), Field("currency", "NZD"),
                             Field("covers", "10.00"), Field("sale_currency", "AUD"), Field("rate", "0.9238"),
                             Field("tax_class", "tender")]])
    let leg = HoldLeg(credit: nzd, amount: MinorUnits(1083), covers: MinorUnits(1000), rate: Fixture.rate("0.9238"))
    #expect(result.entry?.events == [.held(PlacedHold(hold: HoldID(1), currency: "AUD", requested: MinorUnits(1000),
                                                       legs: [leg], deadline: Instant(millis: Fixture.t0.millis + 900_000)))])
    let credit = try h.credit(nzd)
    #expect(credit.held == MinorUnits(1083) && credit.available == MinorUnits(3917) && credit.balance == MinorUnits(5000))
    #expect(try h.holdRecord(HoldID(1)).amount == MinorUnits(1000))
}

@Test func anFXHoldCoversAtMostWhatTheCreditIsWorth() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let nzd = try h.newCredit(.gift, "50", "NZD")  // worth exactly 46.19 AUD
    let before = h.ledger.canonicalState
    #expect(h.hold(nzd, "46.20", "AUD").refusal == CreditError(.insufficientFunds, "credits cover 46.19 of 46.20 AUD"))
    #expect(h.ledger.canonicalState == before)
    let partial = try #require(h.hold(nzd, "46.20", "AUD", partial: true).appliedReply)
    #expect(partial.value("amount") == "46.19" && partial.value("remaining") == "0.01")
    #expect(partial.items.first?[2] == Field("amount", "50.00"))  // 46.19 / 0.9238 is exactly 5000 cents
    #expect(try h.credit(nzd).available == .zero)
}

@Test func aCreditWorthLessThanOneSaleUnitCoversNothing() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let aud = try h.newCredit(.gift, "0.01")  // 0.9745 JPY
    #expect(h.hold(aud, "1", "JPY", partial: true).refusal == CreditError(.insufficientFunds, "credits cover 0 of 1 JPY"))
    let two = try h.newCredit(.gift, "0.02")  // 1.949 JPY: covers 1, taking both cents
    let reply = try #require(h.hold(two, "1", "JPY").appliedReply)
    #expect(reply.items.first?[2] == Field("amount", "0.02"))
    #expect(reply.items.first?[4] == Field("covers", "1"))
}

@Test func zeroAndThreeDigitCurrenciesConvertExactly() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let jpy = try h.newCredit(.gift, "5000", "JPY")
    let kwd = try h.newCredit(.gift, "5", "KWD")
    let aud = try h.newCredit(.gift, "100")
    let fromYen = try #require(h.hold(jpy, "10", "AUD").appliedReply)
    #expect(fromYen.items.first?[2...4] == [Field("amount", "975"), Field("currency", "JPY"), Field("covers", "10.00")])
    let fromDinar = try #require(h.hold(kwd, "10", "AUD").appliedReply)
    #expect(fromDinar.items.first?[2...4] == [Field("amount", "2.011"), Field("currency", "KWD"), Field("covers", "10.00")])
    let toYen = try #require(h.hold(aud, "1000", "JPY").appliedReply)
    #expect(toYen.items.first?[2...6] == [Field("amount", "10.27"), Field("currency", "AUD"), Field("covers", "1000"),
                                          Field("sale_currency", "JPY"), Field("rate", "97.45")])
    let toDinar = try #require(h.hold(aud, "1", "KWD").appliedReply)
    #expect(toDinar.items.first?[2...4] == [Field("amount", "4.98"), Field("currency", "AUD"), Field("covers", "1.000")])
    #expect(toDinar.value("amount") == "1.000" && toDinar.value("currency") == "KWD")
}

@Test func capturingAnFXLegWholeTakesWhatItReservedAndHistoryShowsBothAmounts() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let nzd = try h.newCredit(.gift, "50", "NZD")
    let hold = try h.newHold(nzd, "10", "AUD")
    let result = h.run(.capture(hold, amount: nil), ref: "c-1")
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("captured", "10.00"), Field("released", "0.00"),
                             Field("currency", "AUD")])  // no `balance`: the credit is in NZD
    #expect(reply.items == [[Field("credit", "cr_1"), Field("type", "gift"), Field("captured", "10.83"),
                             Field("released", "0.00"), Field("currency", "NZD"), Field("covers", "10.00"),
                             Field("sale_currency", "AUD"), Field("rate", "0.9238"), Field("balance", "39.17"),
                             Field("tax_class", "tender")]])
    #expect(result.entry?.events == [.captured(hold, legs: [CapturedLeg(amount: MinorUnits(1083), covers: MinorUnits(1000))])])
    #expect(try h.credit(nzd).balance == MinorUnits(3917))
    let activity = try #require(try h.credit(nzd).history.last)
    #expect(activity.sale == SaleAmount(amount: MinorUnits(1000), currency: "AUD", rate: Fixture.rate("0.9238")))
    let history = try #require(h.history(nzd).readReply)
    #expect(history.items.last == [Field("seq", "3"), Field("at", "2026-11-26T14:30:00Z"), Field("kind", "capture"),
                                   Field("amount", "10.83"), Field("balance", "39.17"), Field("hold", "hd_1"),
                                   Field("sale_amount", "10.00"), Field("sale_currency", "AUD"), Field("rate", "0.9238"),
                                   Field("ref", "c-1")])
    #expect(history.fields == [Field("credit", "cr_1"), Field("currency", "NZD"), Field("count", "3")])
}

@Test func capturingPartOfAnFXLegTakesTheCeilingOfThePartAndReleasesTheRest() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let nzd = try h.newCredit(.gift, "50", "NZD")
    let hold = try h.newHold(nzd, "10", "AUD")  // reserves 10.83 NZD
    let result = h.capture(hold, "5")
    // ⌈5.00 / 0.9238⌉ = ⌈5.4124⌉ = 5.42 NZD; 10.83 − 5.42 = 5.41 released.
    #expect(result.entry?.events == [.captured(hold, legs: [CapturedLeg(amount: MinorUnits(542), covers: MinorUnits(500))])])
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("captured", "5.00"), Field("released", "5.00"), Field("currency", "AUD")])
    #expect(reply.items.first?[2...5] == [Field("captured", "5.42"), Field("released", "5.41"), Field("currency", "NZD"),
                                          Field("covers", "5.00")])
    let credit = try h.credit(nzd)
    #expect(credit.balance == MinorUnits(4458) && credit.held == .zero)
    #expect(try Array(h.holdRecord(hold).captured) == [MinorUnits(542)])
}

// MARK: NO_RATE, RATES and reloads

@Test func aCurrencyPairWithoutARateIsNoRateInEitherSelectorAndQuote() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let card = Fixture.card(77)
    let nzd = try h.newCredit(.gift, "50", "NZD", card: card)
    let before = h.ledger.canonicalState
    #expect(h.hold(nzd, "5", "JPY").refusal == CreditError(.noRate, "no rate from NZD to JPY"))
    #expect(h.hold(.card(cardDigest: card.cardDigest, pinDigest: card.pinDigest), "5", "KWD").code == .noRate)
    #expect(h.quote(.credit(nzd), "5", "JPY").refusal == CreditError(.noRate, "no rate from NZD to JPY"))
    #expect(h.ledger.canonicalState == before)
    // Rates have a direction: AUD → NZD exists, so an AUD credit pays an NZD sale.
    let aud = try h.newCredit(.gift, "50")
    #expect(h.hold(aud, "5", "NZD").appliedReply?.items.first?[6] == Field("rate", "1.0825"))
}

@Test func ratesListsEveryPairSortedBySourceThenTarget() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let reply = try #require(h.run(.rates).readReply)
    #expect(reply.items == [
        [Field("from", "AUD"), Field("to", "JPY"), Field("rate", "97.45")],
        [Field("from", "AUD"), Field("to", "KWD"), Field("rate", "0.2011")],
        [Field("from", "AUD"), Field("to", "NZD"), Field("rate", "1.0825")],
        [Field("from", "JPY"), Field("to", "AUD"), Field("rate", "0.01026")],
        [Field("from", "KWD"), Field("to", "AUD"), Field("rate", "4.9731")],
        [Field("from", "NZD"), Field("to", "AUD"), Field("rate", "0.9238")],
    ])
    #expect(reply.fields == [Field("count", "6")])
    var plain = Harness()
    #expect(plain.run(.rates).readReply == Reply(items: [], fields: [Field("count", "0")]))
}

@Test func aRateReloadLeavesPendingHoldsTheirRateAndAppliesToNewHolds() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let nzd = try h.newCredit(.gift, "50", "NZD")
    let old = try h.newHold(nzd, "10", "AUD")  // 10.83 NZD at 0.9238
    h.ledger.updateRates(try RateTable.parse("NZD AUD 0.5", currencies: Fixture.fxPolicy.currencies))
    let fresh = try #require(h.hold(nzd, "10", "AUD").appliedReply)
    #expect(fresh.items.first?[2] == Field("amount", "20.00"))
    #expect(fresh.items.first?[6] == Field("rate", "0.5"))
    #expect(h.capture(old, "5").entry?.events == [.captured(old, legs: [CapturedLeg(amount: MinorUnits(542), covers: MinorUnits(500))])])
    h.ledger.updateRates(RateTable())
    #expect(h.hold(nzd, "1", "AUD").code == .noRate)
    #expect(h.capture(HoldID(2)).appliedReply?.items.first?[2] == Field("captured", "20.00"))
    #expect(try h.credit(nzd).balance == MinorUnits(5000 - 542 - 2000))
}

@Test func rateTablesParseCommentsAndCRLFAndRejectBadLinesByNumber() throws {
    let currencies = Fixture.fxPolicy.currencies
    let table = try RateTable.parse("# dev rates\r\n\r\nAUD NZD 1.0825   # one way\r\nNZD\tAUD 0.9238\r\n", currencies: currencies)
    #expect(table.rate(from: "AUD", to: "NZD") == Fixture.rate("1.0825"))
    #expect(table.rate(from: "NZD", to: "AUD") == Fixture.rate("0.9238"))
    #expect(table.rate(from: "AUD", to: "JPY") == nil)
    #expect(table.all.count == 2)
    let expected = "expected `FROM TO RATE`, e.g. `AUD NZD 1.0825`"
    #expect(throws: ConfigError("rates line 1: \(expected)")) { try RateTable.parse("AUD NZD", currencies: currencies) }
    #expect(throws: ConfigError("rates line 2: \(expected)")) { try RateTable.parse("\nAUD NZD 0", currencies: currencies) }
    #expect(throws: ConfigError("rates line 1: \(expected)")) { try RateTable.parse("AUD NZD 1.1 x", currencies: currencies) }
    #expect(throws: ConfigError("rates line 1: AUD and EUR must both be in the currency table")) {
        try RateTable.parse("AUD EUR 1.1", currencies: currencies)
    }
    #expect(throws: ConfigError("rates line 1: a currency does not convert to itself")) {
        try RateTable.parse("AUD AUD 1", currencies: currencies)
    }
    #expect(throws: ConfigError("rates line 2: AUD NZD is listed twice")) {
        try RateTable.parse("AUD NZD 1.08\nAUD NZD 1.09", currencies: currencies)
    }
}
