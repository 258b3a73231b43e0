// Replies as data: ordered key/value fields and item lines, before any wire encoding.

/// One `key=value` field of a reply.
public struct Field: Equatable, Sendable {
    /// The field name, e.g. `balance`.
    public let key: String
    /// The field value, e.g. `12.50`.
    public let value: String

    /// Makes a field.
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A successful reply: zero or more item lines, then the fields of the final `OK` line.
public struct Reply: Equatable, Sendable {
    /// Each item line's fields (`* seq=1 kind=issue ...`).
    public var items: [[Field]]
    /// The fields of the final `OK` line.
    public var fields: [Field]

    /// Makes a reply.
    public init(items: [[Field]] = [], fields: [Field]) {
        self.items = items
        self.fields = fields
    }

    /// The value of the first field named `key`.
    public func value(_ key: String) -> String? {
        fields.first { $0.key == key }?.value
    }
}
