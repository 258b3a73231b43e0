// PackedCurrencyCode: a currency code in two bytes, for values the ledger keeps by the million.

/// A currency code (three upper-case ASCII letters) kept as its number among all such codes
/// rather than as a 16-byte `String`: every credit holds its currency and every hold names its
/// sale's currency, and both are kept forever.
struct PackedCurrencyCode: Hashable, Sendable {
    /// The code's index in `codes`: `AAA` is 0, `AAB` 1, … `ZZZ` 17,575.
    private let number: UInt16

    /// Every possible code, `AAA` to `ZZZ`, in order: reading `code` is one load of a small
    /// (inline) string, where building it from its letters cost about 500 instructions, three
    /// times per HOLD. Built once, in about a millisecond.
    private static let codes: [String] = {
        var codes: [String] = []
        codes.reserveCapacity(26 * 26 * 26)
        var letters: [UInt8] = [0, 0, 0]
        for first in UInt8(ascii: "A")...UInt8(ascii: "Z") {
            for second in UInt8(ascii: "A")...UInt8(ascii: "Z") {
                for third in UInt8(ascii: "A")...UInt8(ascii: "Z") {
                    (letters[0], letters[1], letters[2]) = (first, second, third)
                    codes.append(String(decoding: letters, as: UTF8.self))
                }
            }
        }
        return codes
    }()

    /// Packs a code; traps unless it is three upper-case ASCII letters (callers pass configured
    /// or decoded codes, both checked already).
    init(_ code: String) {
        // Over the UTF-8 buffer: checking with `Currency.isCode` and folding the `utf8` view cost
        // 160 instructions, on every HOLD applied.
        var code = code
        number = code.withUTF8 { letters in
            precondition(letters.count == 3 && letters.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) },
                         "currency code must be three upper-case letters")
            return (UInt16(letters[0] - UInt8(ascii: "A")) * 26 + UInt16(letters[1] - UInt8(ascii: "A"))) * 26
                + UInt16(letters[2] - UInt8(ascii: "A"))
        }
    }

    /// The code as text, e.g. `AUD` (three bytes: a small string, no allocation).
    var code: String { PackedCurrencyCode.codes[Int(number)] }
}
