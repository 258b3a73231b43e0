// CardNumber: a validated gift-card number that prints only in masked form.

/// A card number of 12–19 ASCII digits whose last digit is a valid Luhn check digit.
///
/// `description`, `debugDescription` and the reflection mirror all show the masked form, so
/// interpolating a card into a log line or dumping it cannot leak the number; use `digits`
/// deliberately where the full number is needed (hashing, showing it once to the buyer).
public struct CardNumber: Hashable, Sendable, CustomStringConvertible {
    /// Fewest digits a card number may have.
    public static let digitCountMin = 12
    /// Most digits a card number may have (the ISO/IEC 7812 maximum PAN length).
    public static let digitCountMax = 19

    /// The full number as ASCII digits. Treat as secret.
    public let digits: String

    /// Parses `text`; nil unless it is 12–19 ASCII digits with a valid Luhn check digit.
    public init?(_ text: String) {
        var text = text
        let valid = text.withUTF8 { bytes in
            (Self.digitCountMin...Self.digitCountMax).contains(bytes.count) && Luhn.isValid(ascii: bytes)
        }
        guard valid else { return nil }
        self.digits = text
    }

    /// The last four digits, safe to show on receipts and in logs.
    public var last4: String { String(digits.suffix(4)) }

    /// The number with every digit but the last four replaced by `*`.
    public var masked: String { String(repeating: "*", count: digits.count - 4) + last4 }

    /// The masked form; never the full number.
    public var description: String { masked }
}

extension CardNumber: CustomDebugStringConvertible, CustomReflectable {
    /// The masked form, so `debugPrint` and `String(reflecting:)` cannot leak the number.
    public var debugDescription: String { "CardNumber(\(masked))" }

    /// A mirror holding only the masked form, so `dump` cannot leak the number.
    public var customMirror: Mirror { Mirror(self, children: ["masked": masked]) }
}
