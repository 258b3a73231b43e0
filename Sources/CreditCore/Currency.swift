// Currencies: ISO 4217 codes, their minor digits and the per-credit balance ceiling.

/// An ISO 4217 currency as configured: its code, minor digits and the largest balance one
/// credit may hold in it.
public struct Currency: Hashable, Sendable {
    /// No credit's balance may exceed this, so sums of balances can never overflow.
    public let balanceMax: MinorUnits
    /// The code, packed. Every credit holds its currency: as two bytes of code and one of digits
    /// a currency takes 11 bytes where a `String` code and an `Int` of digits took 32 (24 bytes
    /// a credit with the field order `Credit` uses; 24 MB a million).
    private let packedCode: PackedCurrencyCode
    /// Digits after the decimal point, 0...4.
    private let digits: UInt8

    /// Three upper-case letters, e.g. `AUD`.
    public var code: String { packedCode.code }

    /// Digits after the decimal point: 0 for JPY, 2 for AUD, 3 for KWD.
    public var minorDigits: Int { Int(digits) }

    /// Makes a currency; the code must be three upper-case ASCII letters, digits 0...4.
    public init(code: String, minorDigits: Int, balanceMax: MinorUnits) {
        precondition(Currency.isCode(code), "currency code must be three upper-case letters")
        precondition((0...DecimalAmount.fractionDigitsMax).contains(minorDigits), "minor digits out of range")
        precondition(balanceMax.value > 0 && balanceMax.value <= Currency.balanceCeiling.value, "balanceMax out of range")
        self.packedCode = PackedCurrencyCode(code)
        self.digits = UInt8(minorDigits)
        self.balanceMax = balanceMax
    }

    /// The largest `balanceMax` any currency may configure: 10^15 minor units, so that a
    /// million credits at their maximum still sum inside Int64.
    public static let balanceCeiling = MinorUnits(1_000_000_000_000_000)

    /// True for three upper-case ASCII letters.
    public static func isCode(_ text: String) -> Bool {
        // Over the UTF-8 buffer: iterating `utf8` cost more than the test (every journal record
        // with a currency checks one).
        var text = text
        return text.withUTF8 { bytes in
            bytes.count == 3 && bytes.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
    }
}

/// The currencies this daemon accepts, by code.
public struct CurrencyTable: Sendable {
    /// The currencies by code.
    public private(set) var byCode: [String: Currency] = [:]

    /// Makes a table from currencies; later duplicates replace earlier ones.
    public init(_ currencies: [Currency]) {
        for currency in currencies { byCode[currency.code] = currency }
    }

    /// The currency with this code, if configured.
    public subscript(code: String) -> Currency? { byCode[code] }

    /// Parses the currency table format: one currency per line, `CODE DIGITS MAX_BALANCE`, e.g.
    /// `AUD 2 10000.00`; `#` starts a comment. Throws a message naming the line on any error.
    public static func parse(_ text: String) throws(ConfigError) -> CurrencyTable {
        var currencies: [Currency] = []
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if words.isEmpty { continue }
            let lineNumber = index + 1
            guard words.count == 3, Currency.isCode(String(words[0])),
                  words[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let digits = Int(words[1]), (0...DecimalAmount.fractionDigitsMax).contains(digits)
            else {
                throw ConfigError("currency table line \(lineNumber): expected `CODE DIGITS MAX_BALANCE`")
            }
            let probe = Currency(code: String(words[0]), minorDigits: digits, balanceMax: Currency.balanceCeiling)
            guard let max = DecimalAmount(String(words[2]))?.minorUnits(in: probe),
                  max.value > 0, max <= Currency.balanceCeiling
            else {
                throw ConfigError("currency table line \(lineNumber): bad maximum balance \(words[2])")
            }
            guard !currencies.contains(where: { $0.code == probe.code }) else {
                throw ConfigError("currency table line \(lineNumber): \(probe.code) is listed twice")
            }
            currencies.append(Currency(code: probe.code, minorDigits: digits, balanceMax: max))
        }
        guard !currencies.isEmpty else { throw ConfigError("currency table is empty") }
        return CurrencyTable(currencies)
    }
}

/// A configuration error with a message fit to print before exiting.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, naming the key, line or file.
    public let description: String

    /// Wraps a message.
    public init(_ description: String) {
        self.description = description
    }
}
