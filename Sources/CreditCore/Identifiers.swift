// Identifiers: typed wrappers for credit, hold, profile, client and ref values.

/// A credit's identifier, `cr_<n>` on the wire.
public struct CreditID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The sequence number behind the text form.
    public let number: UInt64

    /// Wraps a sequence number (numbers start at 1).
    public init(_ number: UInt64) {
        self.number = number
    }

    /// Parses `cr_<n>`; nil for anything else.
    public init?(_ text: String) {
        guard let number = parseNumbered(text, prefix: "cr_") else { return nil }
        self.number = number
    }

    public var description: String { TypedValue.numberedID(.credit, number).text }

    public static func < (lhs: CreditID, rhs: CreditID) -> Bool { lhs.number < rhs.number }
}

/// A hold's identifier, `hd_<n>` on the wire.
public struct HoldID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The sequence number behind the text form.
    public let number: UInt64

    /// Wraps a sequence number (numbers start at 1).
    public init(_ number: UInt64) {
        self.number = number
    }

    /// Parses `hd_<n>`; nil for anything else.
    public init?(_ text: String) {
        guard let number = parseNumbered(text, prefix: "hd_") else { return nil }
        self.number = number
    }

    public var description: String { TypedValue.numberedID(.hold, number).text }

    public static func < (lhs: HoldID, rhs: HoldID) -> Bool { lhs.number < rhs.number }
}

/// A customer profile id from the retailer's CRM: 1–64 of `[A-Za-z0-9_.:@-]`.
public struct ProfileID: Hashable, Sendable, CustomStringConvertible {
    /// Limit on length: CRM ids seen in practice (UUIDs, emails) fit in 64.
    public static let bytesMax = 64

    /// The bytes a profile id may hold: letters, digits and `_.:@-`.
    private static let tokenBytes = TokenBytes.lettersAndDigits.adding("_.:@-")

    /// The id's text.
    public let text: String

    /// Validates and wraps a profile id.
    public init?(_ text: String) {
        guard isToken(text, max: ProfileID.bytesMax, allowed: ProfileID.tokenBytes) else { return nil }
        self.text = text
    }

    public var description: String { text }
}

/// The id of an authenticated client key (`dev-pos`); refs are scoped to it.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    /// The key id's text.
    public let text: String

    /// Wraps a key id (validated when the keys file is loaded).
    public init(_ text: String) {
        self.text = text
    }

    public var description: String { text }
}

/// A client's idempotency reference: 1–64 of `[A-Za-z0-9_.:/@#-]`.
public struct Ref: Hashable, Sendable, CustomStringConvertible {
    /// Limit on length: room for a UUID plus store and till prefixes.
    public static let bytesMax = 64

    /// The bytes a ref may hold: letters, digits and `_.:/@#-`.
    private static let tokenBytes = TokenBytes.lettersAndDigits.adding("_.:/@#-")

    /// The ref's text.
    public let text: String

    /// Validates and wraps a ref.
    public init?(_ text: String) {
        guard isToken(text, max: Ref.bytesMax, allowed: Ref.tokenBytes) else { return nil }
        self.text = text
    }

    /// Wraps text that was a valid ref when it was packed (`ActivityLog` reading its own bytes).
    init(trusted text: String) {
        self.text = text
    }

    public var description: String { text }
}

/// The three kinds of credit.
public enum CreditType: String, Sendable, CaseIterable {
    /// A gift card: bought by one person, spent by another, found by card number and PIN.
    case gift
    /// Store credit: given instead of a cash refund.
    case store
    /// Promotional credit: marketing money.
    case promo
}

/// True when `text` is 1...max bytes, each one in `allowed`.
func isToken(_ text: String, max: Int, allowed: TokenBytes) -> Bool {
    // One bit per ASCII byte allowed, built once per kind of token: testing a bit per byte beats
    // searching a list of punctuation for each one, and building the set on every call cost as
    // much as the test. Refs and profile ids are checked on every request and every journal
    // record replayed.
    var text = text
    return text.withUTF8 { bytes in
        guard !bytes.isEmpty, bytes.count <= max else { return false }
        for byte in bytes where !allowed.contains(byte) { return false }
        return true
    }
}

/// A set of ASCII bytes as a 128-bit mask.
struct TokenBytes: Sendable {
    private var low: UInt64
    private var high: UInt64

    /// `0-9`, `A-Z` and `a-z`.
    static let lettersAndDigits: TokenBytes = {
        var set = TokenBytes(low: 0, high: 0)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { set.insert(byte) }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { set.insert(byte) }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { set.insert(byte) }
        return set
    }()

    /// This set with the bytes of `extra` (ASCII) added.
    func adding(_ extra: StaticString) -> TokenBytes {
        var set = self
        extra.withUTF8Buffer { bytes in
            for byte in bytes { set.insert(byte) }
        }
        return set
    }

    /// Adds an ASCII byte (bytes from 128 up are never members).
    mutating func insert(_ byte: UInt8) {
        precondition(byte < 128, "token bytes are ASCII")
        if byte < 64 { low |= 1 << UInt64(byte) } else { high |= 1 << UInt64(byte - 64) }
    }

    /// True for a member byte.
    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        // Written to pick the half and test the bit without branching.
        let half = byte < 64 ? low : high
        return byte < 128 && half & (1 &<< UInt64(byte & 63)) != 0
    }
}

/// The number of `prefix` then 1–19 ASCII digits without a leading zero (`cr_12`); nil for
/// anything else. Read as UTF-8 bytes: the `Character` operations it was written with (prefix,
/// drop, count, then `UInt64` of a substring) cost about 1,900 instructions per id, and every
/// CAPTURE and VOID parses one.
private func parseNumbered(_ text: String, prefix: StaticString) -> UInt64? {
    var text = text
    return text.withUTF8 { utf8 -> UInt64? in
        let prefixCount = prefix.utf8CodeUnitCount
        let digitCount = utf8.count - prefixCount
        guard digitCount >= 1, digitCount <= 19, utf8[prefixCount] != UInt8(ascii: "0") else { return nil }
        for index in 0..<prefixCount where utf8[index] != prefix.utf8Start[index] { return nil }
        // 19 digits never overflow a u64.
        var number: UInt64 = 0
        for byte in utf8[prefixCount...] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return number
    }
}
