// CardGenerator: issues new card numbers (prefix + random digits + Luhn) and PINs.

/// Makes fresh card numbers and PINs from the CSPRNG for one card program.
public struct CardGenerator: Sendable {
    /// Allowed issuer prefix lengths: at least one digit to identify the program, at most 8 (an IIN).
    public static let prefixLengthRange = 1...8
    /// Allowed card lengths: 16 is the common PAN length, 19 the ISO/IEC 7812 maximum.
    public static let cardLengthRange = 16...CardNumber.digitCountMax
    /// Allowed PIN lengths, matching `PIN`.
    public static let pinLengthRange = PIN.digitCountMin...PIN.digitCountMax

    private let prefixDigits: [UInt8]
    private let cardLength: Int
    private let pinLength: Int

    /// Validates a card program: `prefix` of 1–8 digits, `length` 16–19 leaving room for at least
    /// one random digit and the check digit, `pinLength` 4–8.
    public init(prefix: String, length: Int, pinLength: Int) throws {
        let digits = prefix.utf8.map { $0 &- UInt8(ascii: "0") }
        guard Self.prefixLengthRange.contains(digits.count), digits.allSatisfy({ $0 <= 9 }) else {
            throw CryptoError.badConfiguration("card prefix \"\(prefix)\" must be 1 to 8 ASCII digits")
        }
        guard Self.cardLengthRange.contains(length) else {
            throw CryptoError.badConfiguration("card length \(length) must be between 16 and 19")
        }
        guard digits.count <= length - 2 else {
            throw CryptoError.badConfiguration(
                "card prefix of \(digits.count) digits leaves no random digit in a \(length)-digit card")
        }
        guard Self.pinLengthRange.contains(pinLength) else {
            throw CryptoError.badConfiguration("PIN length \(pinLength) must be between 4 and 8")
        }
        self.prefixDigits = digits
        self.cardLength = length
        self.pinLength = pinLength
    }

    /// A new card number: the prefix, uniformly random digits, then the Luhn check digit.
    public func makeCardNumber() -> CardNumber {
        var digits = prefixDigits
        digits.reserveCapacity(cardLength)
        digits += SecureRandom.digits(cardLength - prefixDigits.count - 1)
        digits.append(Luhn.checkDigit(for: digits))
        guard let card = CardNumber(Self.text(digits)) else {
            preconditionFailure("generated card number failed validation")
        }
        return card
    }

    /// A new PIN of uniformly random digits.
    public func makePIN() -> PIN {
        let digits = SecureRandom.digits(pinLength)
        guard let pin = PIN(Self.text(digits)) else {
            preconditionFailure("generated PIN failed validation")
        }
        return pin
    }

    private static func text(_ digits: [UInt8]) -> String {
        String(decoding: digits.map { $0 + UInt8(ascii: "0") }, as: UTF8.self)
    }
}
