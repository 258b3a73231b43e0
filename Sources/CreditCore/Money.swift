// Money: integer minor units, decimal amounts as written on the wire, and their exact conversion.

/// An amount of money in a currency's minor units (cents for AUD, yen for JPY, fils for KWD).
///
/// Arithmetic is checked: an overflow is a programming error caught by a precondition, and the
/// ledger keeps every balance under its currency's `balanceMax`, far below `Int64.max`.
public struct MinorUnits: Hashable, Comparable, Sendable {
    /// The signed count of minor units.
    public let value: Int64

    /// Zero minor units.
    public static let zero = MinorUnits(0)

    /// Wraps a count of minor units.
    public init(_ value: Int64) {
        self.value = value
    }

    public static func < (lhs: MinorUnits, rhs: MinorUnits) -> Bool { lhs.value < rhs.value }

    public static func + (lhs: MinorUnits, rhs: MinorUnits) -> MinorUnits {
        let (sum, overflow) = lhs.value.addingReportingOverflow(rhs.value)
        precondition(!overflow, "minor units overflow")
        return MinorUnits(sum)
    }

    public static func - (lhs: MinorUnits, rhs: MinorUnits) -> MinorUnits {
        let (difference, overflow) = lhs.value.subtractingReportingOverflow(rhs.value)
        precondition(!overflow, "minor units overflow")
        return MinorUnits(difference)
    }

    public static func += (lhs: inout MinorUnits, rhs: MinorUnits) { lhs = lhs + rhs }
    public static func -= (lhs: inout MinorUnits, rhs: MinorUnits) { lhs = lhs - rhs }
}

/// A non-negative decimal amount in major units exactly as the client wrote it (`12.5`, `1000`).
///
/// It is kept unscaled until the currency is known: whether `12.505` is valid depends on the
/// currency's minor digits (not for AUD, yes for KWD).
public struct DecimalAmount: Hashable, Sendable {
    /// Limit on integer digits: 15 digits times 10^3 still fits comfortably in Int64.
    public static let integerDigitsMax = 15
    /// Limit on fraction digits: no ISO 4217 currency has more than 4 minor digits.
    public static let fractionDigitsMax = 4

    /// The digits with the decimal point removed (`12.50` → 1250).
    public let unscaled: Int64
    /// How many of those digits are after the point (`12.50` → 2).
    public let fractionDigits: Int

    /// Parses `digits[.digits]`; nil for anything else (signs, exponents, spaces, empty parts).
    public init?(_ text: String) {
        guard let parsed = DecimalAmountParser.parse(text, integerDigitsMax: Self.integerDigitsMax,
                                                     fractionDigitsMax: Self.fractionDigitsMax)
        else { return nil }
        self = parsed
    }

    /// Makes an amount from its digits and scale (the parser's result).
    init(unscaled: Int64, fractionDigits: Int) {
        self.unscaled = unscaled
        self.fractionDigits = fractionDigits
    }

    /// The amount in minor units of `currency`, or nil when it has more fraction digits than the
    /// currency allows (`12.505` AUD). Trailing zeros count: `1000.0` is not a JPY amount.
    public func minorUnits(in currency: Currency) -> MinorUnits? {
        guard fractionDigits <= currency.minorDigits else { return nil }
        var value = unscaled
        for _ in fractionDigits..<currency.minorDigits {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = shifted
        }
        return MinorUnits(value)
    }
}

/// Formats minor units as a major-unit decimal with all of the currency's digits (`12.50`).
public func formatAmount(_ amount: MinorUnits, _ currency: Currency) -> String {
    ASCIIFormat.amount(negative: amount.value < 0, magnitude: amount.value.magnitude, minorDigits: currency.minorDigits)
}

/// The one parser of unsigned decimals (`12.50`), shared by amounts and FX rates.
enum DecimalAmountParser {
    /// Parses `digits[.digits]` within the digit limits; nil for anything else or on overflow.
    static func parse(_ text: String, integerDigitsMax: Int, fractionDigitsMax: Int) -> DecimalAmount? {
        var unscaled: Int64 = 0
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint, integerDigits > 0 else { return nil }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
            guard integerDigits <= integerDigitsMax, fractionDigits <= fractionDigitsMax else { return nil }
            // 15 + 4 digits could pass Int64.max: such an amount is not money, it is an attack.
            let (shifted, overflowMultiply) = unscaled.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowMultiply, !overflowAdd else { return nil }
            unscaled = next
        }
        guard integerDigits > 0, !(seenPoint && fractionDigits == 0) else { return nil }
        return DecimalAmount(unscaled: unscaled, fractionDigits: fractionDigits)
    }
}
