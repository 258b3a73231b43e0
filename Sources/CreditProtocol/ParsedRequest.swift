// The parsed form of one request line: optional tag, uppercased verb, key=value arguments.

/// One `key=value` argument of a request, with quotes removed and escapes decoded.
public struct Argument: Sendable, Equatable {
    /// The key: 1–32 bytes of `[a-z0-9_]`, starting with a letter.
    public var key: String
    /// The value: 1–256 bytes of printable ASCII (it may contain spaces if it was quoted).
    public var value: String

    /// Creates an argument from its key and decoded value.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A syntactically valid request, ready for the command table to check its verb and arguments.
public struct ParsedRequest: Sendable, Equatable {
    /// The tag without its `#`, echoed on the final reply line; nil if the client sent none.
    public var tag: String?
    /// The verb, uppercased (`bal` and `BAL` both give `BAL`).
    public var verb: String
    /// The arguments in the order sent; keys are unique.
    public var arguments: [Argument]

    /// Creates a request from its parts.
    public init(tag: String?, verb: String, arguments: [Argument]) {
        self.tag = tag
        self.verb = verb
        self.arguments = arguments
    }

    /// The value of the argument named `key`, or nil if the request has no such argument.
    ///
    /// A linear scan: a request has at most `ProtocolLimits.tokensMax` arguments.
    public func value(_ key: String) -> String? {
        arguments.first { isSameKey($0.key, key) }?.value
    }
}

/// `left == right` for argument keys, comparing byte counts first: most keys a lookup passes
/// differ in length, and a count is cheaper to compare than the strings (a request's handful of
/// lookups and checks made some twenty string comparisons).
@inline(__always)
func isSameKey(_ left: String, _ right: String) -> Bool {
    left.utf8.count == right.utf8.count && left == right
}
