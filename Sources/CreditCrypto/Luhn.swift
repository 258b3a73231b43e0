// Luhn: the mod-10 check digit carried by every card number.

/// The Luhn (mod 10) checksum, which catches single-digit typos and most adjacent swaps.
public enum Luhn {
    /// The check digit to append to `payload` (decimal digits 0...9, most significant first).
    public static func checkDigit(for payload: some Sequence<UInt8>) -> UInt8 {
        let sum = weightedSum(Array(payload).reversed(), doubleFirst: true)
        return UInt8((10 - sum % 10) % 10)
    }

    /// Whether `digits` (0...9, check digit last) pass the Luhn check; false if empty or out of range.
    public static func isValid(_ digits: [UInt8]) -> Bool {
        guard !digits.isEmpty, digits.allSatisfy({ $0 <= 9 }) else { return false }
        return weightedSum(digits.reversed(), doubleFirst: false) % 10 == 0
    }

    /// Whether `ascii` is all decimal digit characters (`0`...`9`, check digit last) passing the
    /// Luhn check; false if empty. Reads the text's bytes where they are: a card request parses
    /// its number on every call, and mapping the text to a digit array first cost more than the check.
    public static func isValid(ascii: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !ascii.isEmpty, ascii.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return false }
        return weightedSum(ascii.reversed().lazy.map { $0 - UInt8(ascii: "0") }, doubleFirst: false) % 10 == 0
    }

    /// Sum of digits taken right to left, doubling every other one (casting out nines).
    private static func weightedSum(_ rightToLeft: some Sequence<UInt8>, doubleFirst: Bool) -> Int {
        var sum = 0
        var doubling = doubleFirst
        for digit in rightToLeft {
            precondition(digit <= 9, "Luhn digits must be 0...9")
            let value = Int(digit)
            sum += doubling ? (value * 2 > 9 ? value * 2 - 9 : value * 2) : value
            doubling.toggle()
        }
        return sum
    }
}
