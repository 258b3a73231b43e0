// PackedCurrencyCode: a currency code in four bytes, for values the ledger keeps by the million.

/// A currency code (three upper-case ASCII letters) kept in a 32-bit integer rather than a
/// 16-byte `String`: every hold is kept forever and names its sale's currency.
struct PackedCurrencyCode: Hashable, Sendable {
    /// The letters, the first in the lowest byte.
    private let letters: UInt32

    /// Packs a code; traps unless it is three upper-case ASCII letters (callers pass configured
    /// or decoded codes, both checked already).
    init(_ code: String) {
        precondition(Currency.isCode(code), "currency code must be three upper-case letters")
        var letters: UInt32 = 0
        var shift: UInt32 = 0
        for byte in code.utf8 {
            letters |= UInt32(byte) << shift
            shift += 8
        }
        self.letters = letters
    }

    /// The code as text, e.g. `AUD` (three bytes: a small string, no allocation).
    var code: String {
        String(unsafeUninitializedCapacity: 3) { buffer in
            buffer[0] = UInt8(truncatingIfNeeded: letters)
            buffer[1] = UInt8(truncatingIfNeeded: letters >> 8)
            buffer[2] = UInt8(truncatingIfNeeded: letters >> 16)
            return 3
        }
    }
}
