// Replies as data: ordered key/value fields and item lines, kept as the bytes the journal stores.

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
///
/// Kept as its bytes in `StoredReply`'s layout (`ReplyLayout`), which is what both of a reply's
/// readers want: the journal stores those bytes as they are, and the wire encoder writes its
/// lines from them. Built as `Field`s of `String`s, a HOLD's reply was written twice from them
/// (once per reader), and making and freeing the strings and their arrays cost more than either.
/// The busiest replies are written straight into bytes (`ReplyWriter`); `items` and `fields`
/// decode them, for tests and the rare verbs that edit a reply.
///
/// Equality is byte equality: the same lines holding the same keys and values with the same
/// UTF-8 bytes.
public struct Reply: Equatable, Sendable {
    /// The reply in `StoredReply`'s layout (`ReplyLayout`).
    public private(set) var bytes: [UInt8]

    /// Makes a reply from its lines.
    public init(items: [[Field]] = [], fields: [Field]) {
        bytes = ReplyLayout.bytes(items: items, fields: fields)
    }

    /// Wraps bytes known to hold exactly one reply in the layout, with valid UTF-8 strings
    /// (written by `ReplyLayout` or `ReplyWriter`, or checked by the journal's decoder).
    init(layoutBytes: [UInt8]) {
        bytes = layoutBytes
    }

    /// Each item line's fields (`* seq=1 kind=issue ...`), decoded; setting re-encodes the reply.
    public var items: [[Field]] {
        get { ReplyLayout.lines(of: bytes).items }
        set { bytes = ReplyLayout.bytes(items: newValue, fields: fields) }
    }

    /// The fields of the final `OK` line, decoded; setting re-encodes the reply.
    public var fields: [Field] {
        get { ReplyLayout.lines(of: bytes).fields }
        set { bytes = ReplyLayout.bytes(items: items, fields: newValue) }
    }

    /// The value of the first field named `key` on the `OK` line.
    public func value(_ key: String) -> String? {
        fields.first { $0.key == key }?.value
    }
}
