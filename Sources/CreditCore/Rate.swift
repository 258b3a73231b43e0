// FX rates: exact decimal exchange rates and the one rounding rule every conversion uses.

/// An exchange rate as an exact decimal: one major unit of the source currency is worth
/// `units / 10^scale` major units of the target currency (`AUD NZD 1.0825`).
///
/// Rounding rule (the only one): to cover `s` target minor units the ledger takes
/// `creditNeeded(s) = ⌈s / rate⌉` source minor units, so the credit always gives at least the
/// value it covers (no money from nothing) and at most one source minor unit more (the
/// customer's disfavour is under one minor unit). Arithmetic is exact, in 128-bit integers.
public struct Rate: Hashable, Sendable, CustomStringConvertible {
    /// Most digits after the point a rate may have.
    public static let scaleMax = 8
    /// The rate's digits without the point (`1.0825` → 10825).
    public let units: Int64
    /// Digits after the point (`1.0825` → 4).
    public let scale: Int

    /// Parses a positive decimal with at most 6 integer and 8 fraction digits.
    public init?(_ text: String) {
        guard let amount = DecimalAmountParser.parse(text, integerDigitsMax: 6, fractionDigitsMax: Rate.scaleMax),
              amount.unscaled > 0
        else { return nil }
        units = amount.unscaled
        scale = amount.fractionDigits
    }

    /// Makes a rate from its digits and scale (decoders).
    public init?(units: Int64, scale: Int) {
        guard units > 0, (0...Rate.scaleMax).contains(scale) else { return nil }
        self.units = units
        self.scale = scale
    }

    public var description: String {
        guard scale > 0 else { return String(units) }
        var digits = String(units)
        while digits.count <= scale { digits = "0" + digits }
        return String(digits.dropLast(scale)) + "." + String(digits.suffix(scale))
    }

    /// Source minor units needed to cover `target` minor units: ⌈target / rate⌉, exact.
    public func creditNeeded(_ target: MinorUnits, from source: Currency, to sale: Currency) -> MinorUnits? {
        // source = target × 10^scale × 10^sourceDigits / (units × 10^saleDigits), rounded up.
        let numerator = Int128(target.value) * pow10(scale) * pow10(source.minorDigits)
        let denominator = Int128(units) * pow10(sale.minorDigits)
        let quotient = (numerator + denominator - 1) / denominator
        return quotient <= Int128(Int64.max) ? MinorUnits(Int64(quotient)) : nil
    }

    /// Target minor units that `source` minor units are fully worth: ⌊source × rate⌋, exact.
    public func covered(_ sourceAmount: MinorUnits, from source: Currency, to sale: Currency) -> MinorUnits {
        let numerator = Int128(sourceAmount.value) * Int128(units) * pow10(sale.minorDigits)
        let denominator = pow10(scale) * pow10(source.minorDigits)
        let quotient = numerator / denominator
        return MinorUnits(Int64(min(quotient, Int128(Int64.max))))
    }
}

private func pow10(_ exponent: Int) -> Int128 {
    var value: Int128 = 1
    for _ in 0..<exponent { value *= 10 }
    return value
}

/// The configured rates, by (from, to) currency code. A missing pair means no conversion.
public struct RateTable: Sendable, Equatable {
    /// Rates by source and target code.
    public private(set) var rates: [String: [String: Rate]] = [:]

    /// An empty table (no conversions).
    public init() {}

    /// The rate from one currency to another, if configured.
    public func rate(from source: String, to target: String) -> Rate? { rates[source]?[target] }

    /// Every configured rate, sorted by source then target code.
    public var all: [(from: String, to: String, rate: Rate)] {
        rates.keys.sorted().flatMap { source in
            rates[source]!.keys.sorted().map { target in (source, target, rates[source]![target]!) }
        }
    }

    /// Parses `FROM TO RATE` lines (`AUD NZD 1.0825`: 1 AUD = 1.0825 NZD); `#` comments. Both
    /// codes must be in `currencies`; a pair may appear once; a currency never converts to itself.
    public static func parse(_ text: String, currencies: CurrencyTable) throws(ConfigError) -> RateTable {
        var table = RateTable()
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.isEmpty { continue }
            let place = "rates line \(index + 1)"
            guard words.count == 3, let rate = Rate(words[2]) else {
                throw ConfigError("\(place): expected `FROM TO RATE`, e.g. `AUD NZD 1.0825`")
            }
            guard currencies[words[0]] != nil, currencies[words[1]] != nil else {
                throw ConfigError("\(place): \(words[0]) and \(words[1]) must both be in the currency table")
            }
            guard words[0] != words[1] else { throw ConfigError("\(place): a currency does not convert to itself") }
            guard table.rates[words[0]]?[words[1]] == nil else { throw ConfigError("\(place): \(words[0]) \(words[1]) is listed twice") }
            table.rates[words[0], default: [:]][words[1]] = rate
        }
        return table
    }
}
