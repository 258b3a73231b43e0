// MinorUnits: exact amounts in a currency's smallest unit, read from and written as the daemon's decimals.

/// An amount in minor units (cents for AUD). The daemon prints every minor digit of the
/// currency (`12.50`, `1000`, `2.125`), so dropping the point gives the minor units exactly; no
/// floating point is ever involved.
struct MinorUnits: Hashable, Comparable, Sendable, CustomStringConvertible {
    var value: Int

    static let zero = MinorUnits(0)

    init(_ value: Int) {
        self.value = value
    }

    /// Parses a printed amount (`12.50`, `-3.00`, `1000`); nil if it is not one.
    init?(_ text: String?) {
        guard var digits = text, !digits.isEmpty else { return nil }
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let units = Int(parts.joined()) else { return nil }
        value = negative ? -units : units
    }

    /// The number of minor digits a printed amount shows (`12.50` → 2, `1000` → 0).
    static func digits(of text: String) -> Int {
        text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
    }

    /// The amount as the daemon prints it with `digits` minor digits.
    func formatted(digits: Int) -> String {
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        let magnitude = abs(value)
        let whole = "\(value < 0 ? "-" : "")\(magnitude / scale)"
        guard digits > 0 else { return whole }
        let fraction = String(magnitude % scale)
        return whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    var description: String { "\(value) minor units" }

    static func + (lhs: MinorUnits, rhs: MinorUnits) -> MinorUnits { MinorUnits(lhs.value + rhs.value) }
    static func - (lhs: MinorUnits, rhs: MinorUnits) -> MinorUnits { MinorUnits(lhs.value - rhs.value) }
    static func += (lhs: inout MinorUnits, rhs: MinorUnits) { lhs.value += rhs.value }
    static func -= (lhs: inout MinorUnits, rhs: MinorUnits) { lhs.value -= rhs.value }
    static func < (lhs: MinorUnits, rhs: MinorUnits) -> Bool { lhs.value < rhs.value }
}
