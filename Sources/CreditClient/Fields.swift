// Ordered key=value fields of a reply line, looked up by key.

/// The `key=value` fields of one reply line, in the order the server sent them, values unquoted.
///
/// Look fields up by key and ignore keys you do not know: later protocol versions may append
/// fields (PROTOCOL.md §4). Amounts are kept as the exact strings the server printed; never
/// convert them to floating point.
public struct Fields: Sendable, Equatable, Sequence {
    /// The fields in wire order.
    public private(set) var pairs: [(key: String, value: String)]

    /// Fields from pairs in the given order.
    public init(_ pairs: [(key: String, value: String)] = []) {
        self.pairs = pairs
    }

    /// The value of the first field named `key`, or nil if there is none.
    public subscript(key: String) -> String? {
        pairs.first { $0.key == key }?.value
    }

    /// The field names in wire order.
    public var keys: [String] { pairs.map(\.key) }

    /// How many fields there are.
    public var count: Int { pairs.count }

    /// True when the line had no fields (a bare `OK`).
    public var isEmpty: Bool { pairs.isEmpty }

    /// Iterates the fields in wire order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> {
        pairs.makeIterator()
    }

    /// Fields are equal when they have the same keys and values in the same order.
    public static func == (lhs: Fields, rhs: Fields) -> Bool {
        lhs.pairs.count == rhs.pairs.count
            && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Appends a field (used by the parser).
    mutating func append(key: String, value: String) {
        pairs.append((key, value))
    }
}
