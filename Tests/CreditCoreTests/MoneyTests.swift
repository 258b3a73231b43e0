// Proves decimal amounts parse only as `digits[.digits]` within their digit limits, convert to minor units exactly per currency, and print with every minor digit.

import CreditCore
import Testing

@Test(arguments: [
    ("12.5", Int64(125), 1), ("12.50", 1250, 2), ("0.01", 1, 2), ("1000", 1000, 0), ("0", 0, 0),
    ("007", 7, 0), ("0.0001", 1, 4), ("999999999999999", 999_999_999_999_999, 0),
])
func decimalAmountParsesDigitsAndOnePoint(_ text: String, _ unscaled: Int64, _ fractionDigits: Int) throws {
    let parsed = try #require(DecimalAmount(text))
    #expect(parsed.unscaled == unscaled)
    #expect(parsed.fractionDigits == fractionDigits)
}

@Test(arguments: [
    "-1", "+1", "1e3", ".5", "5.", " 5", "5 ", "1,000", "", ".", "1.2.3", "0x10", "١٢", "５",
    "1234567890123456",  // 16 integer digits
    "0.00001",  // 5 fraction digits
])
func decimalAmountRejectsEverythingElse(_ text: String) {
    #expect(DecimalAmount(text) == nil, "accepted \(text.debugDescription)")
}

@Test func decimalAmountLimitsAreFifteenIntegerAndFourFractionDigits() {
    #expect(DecimalAmount.integerDigitsMax == 15)
    #expect(DecimalAmount.fractionDigitsMax == 4)
    #expect(DecimalAmount(String(repeating: "9", count: 15)) != nil)
    #expect(DecimalAmount(String(repeating: "9", count: 16)) == nil)
    #expect(DecimalAmount("1." + String(repeating: "9", count: 4)) != nil)
    #expect(DecimalAmount("1." + String(repeating: "9", count: 5)) == nil)
}

@Test(arguments: [
    ("12.505", "AUD", Int64?.none), ("12.505", "KWD", 12_505), ("1000.0", "JPY", nil), ("1000", "JPY", 1000),
    ("12.5", "AUD", 1250), ("12.50", "AUD", 1250), ("12.5", "KWD", 12_500), ("12.50", "JPY", nil),
    ("0.01", "AUD", 1), ("0", "AUD", 0), ("999999999999999", "KWD", 999_999_999_999_999_000),
])
func minorUnitsScaleExactlyOrRefuseExtraDigits(_ text: String, _ code: String, _ expected: Int64?) throws {
    let currency = try #require(Fixture.policy.currencies[code])
    #expect(amount(text).minorUnits(in: currency) == expected.map(MinorUnits.init))
}

@Test(arguments: [
    (Int64(1250), "AUD", "12.50"), (1000, "JPY", "1000"), (5, "KWD", "0.005"), (0, "AUD", "0.00"), (0, "JPY", "0"),
    (-5, "AUD", "-0.05"), (-1250, "AUD", "-12.50"), (-7, "JPY", "-7"), (123_456_789, "KWD", "123456.789"),
    (100_000, "AUD", "1000.00"), (Int64.min, "JPY", "-9223372036854775808"),
])
func formatAmountPrintsAllMinorDigits(_ units: Int64, _ code: String, _ expected: String) throws {
    let currency = try #require(Fixture.policy.currencies[code])
    #expect(formatAmount(MinorUnits(units), currency) == expected)
}

@Test func formatAmountPrintsFourDigitCurrencies() {
    let clf = Currency(code: "CLF", minorDigits: 4, balanceMax: MinorUnits(1_000_000))
    #expect(formatAmount(MinorUnits(1), clf) == "0.0001")
    #expect(formatAmount(MinorUnits(-123_456), clf) == "-12.3456")
}

@Test func formattedAmountsParseBackToTheSameMinorUnits() throws {
    for currency in [Fixture.aud, Fixture.jpy, Fixture.kwd] {
        for units in [0, 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 123_456, 99_999_999] as [Int64] {
            let text = formatAmount(MinorUnits(units), currency)
            let parsed = try #require(DecimalAmount(text), "\(text) \(currency.code)")
            #expect(parsed.minorUnits(in: currency) == MinorUnits(units), "\(text) \(currency.code)")
        }
    }
}

@Test func minorUnitsArithmeticAndOrder() {
    #expect(MinorUnits(1250) + MinorUnits(5) == MinorUnits(1255))
    #expect(MinorUnits(5) - MinorUnits(1250) == MinorUnits(-1245))
    var total = MinorUnits.zero
    total += MinorUnits(7)
    total -= MinorUnits(2)
    #expect(total == MinorUnits(5))
    #expect(MinorUnits(-1) < .zero)
    #expect(MinorUnits(2) > MinorUnits(1))
}

@Test func amountsThatWouldOverflowInt64AreRejectedNotTrapped() {
    #expect(DecimalAmount("999999999999999.9999") == nil)
    #expect(DecimalAmount("922337203685477.5808") == nil)
    let fourDigits = Currency(code: "CLF", minorDigits: 4, balanceMax: Currency.balanceCeiling)
    #expect(DecimalAmount("999999999999999")!.minorUnits(in: fourDigits) == nil)
}
