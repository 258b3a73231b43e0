// PIN: a card's validated personal identification number that never prints its digits.

/// A PIN of 4–8 ASCII digits.
///
/// Every printed form is `****` so a PIN cannot reach a log by interpolation; compare PINs by
/// their keyed digests (`KeyedHasher.pinDigest`) rather than with `==`.
public struct PIN: Sendable, Equatable, CustomStringConvertible {
    /// Fewest digits a PIN may have.
    public static let digitCountMin = 4
    /// Most digits a PIN may have.
    public static let digitCountMax = 8

    /// The PIN as ASCII digits. Treat as secret.
    public let digits: String

    /// Parses `text`; nil unless it is 4–8 ASCII digits.
    public init?(_ text: String) {
        var text = text
        let valid = text.withUTF8 { bytes in
            (Self.digitCountMin...Self.digitCountMax).contains(bytes.count)
                && bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
        guard valid else { return nil }
        self.digits = text
    }

    /// Always `****`, whatever the length, so the mask reveals nothing.
    public var description: String { "****" }
}

extension PIN: CustomDebugStringConvertible, CustomReflectable {
    /// Always `PIN(****)`.
    public var debugDescription: String { "PIN(****)" }

    /// A mirror without the digits, so `dump` cannot leak the PIN.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
