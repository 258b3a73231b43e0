// A request: verb, ordered key=value arguments and an optional tag, encoded as one valid line.

/// One protocol request, such as `HOLD credit=cr_1 amount=5 currency=AUD ref=till3-77`.
///
/// Encoding refuses (throws `CreditClientError.invalidRequest`) anything the server would reject
/// as malformed or could misread: values with LF, CR or other bytes outside printable ASCII,
/// empty or over-long values, bad keys, verbs or tags, duplicate keys, more than 32 tokens, and
/// lines over 1024 bytes. So a `Request` that encodes is always read by the server as exactly
/// these arguments, and its reply always carries its tag.
///
/// ```swift
/// let hold = Request("HOLD", ["credit": "cr_1", "amount": "5.00", "currency": "AUD", "ref": "t3-77"])
/// ```
public struct Request: Sendable {
    /// The verb, letters only; sent upper-cased (the server ignores case).
    public var verb: String
    /// The arguments, sent in this order.
    public var arguments: [(key: String, value: String)]
    /// An optional tag (1–32 of `[A-Za-z0-9_-]`) that the server echoes on the reply's final line.
    public var tag: String?

    /// A request from a verb and a literal list of arguments, kept in the order written.
    public init(_ verb: String, _ arguments: KeyValuePairs<String, String> = [:], tag: String? = nil) {
        self.init(verb: verb, arguments: arguments.map { ($0.key, $0.value) }, tag: tag)
    }

    /// A request from a verb and arguments built at run time, kept in the given order.
    public init(verb: String, arguments: [(key: String, value: String)] = [], tag: String? = nil) {
        self.verb = verb
        self.arguments = arguments
        self.tag = tag
    }

    /// The value of the first argument named `key`, or nil.
    public subscript(key: String) -> String? {
        arguments.first { $0.key == key }?.value
    }

    /// The request line without its LF: `[#tag ]VERB key=value ...`, values quoted where needed
    /// with `\"` and `\\` escapes. Throws `CreditClientError.invalidRequest` if the request
    /// cannot be sent as a valid line.
    public func encoded() throws -> String {
        String(decoding: try encodedLine().dropLast(), as: UTF8.self)
    }

    /// The request line's bytes including the final LF.
    func encodedLine() throws -> [UInt8] {
        guard 1 + (tag == nil ? 0 : 1) + arguments.count <= WireLimits.requestTokensMax else {
            throw invalid("\(arguments.count) arguments is too many (at most \(WireLimits.requestTokensMax) tokens per line)")
        }
        var line: [UInt8] = []
        line.reserveCapacity(128)
        if let tag {
            guard WireByte.isValidTag(tag) else { throw invalid("tag \"\(tag)\" must be 1-32 of A-Z a-z 0-9 _ -") }
            line.append(WireByte.hash)
            line.append(contentsOf: tag.utf8)
            line.append(WireByte.space)
        }
        guard !verb.isEmpty, verb.utf8.allSatisfy(WireByte.isLetter) else {
            throw invalid("verb \"\(verb)\" must be letters only")
        }
        line.append(contentsOf: verb.uppercased().utf8)
        var seen: Set<String> = []
        for (key, value) in arguments {
            try Request.checkKey(key)
            guard seen.insert(key).inserted else { throw invalid("duplicate argument \(key)") }
            line.append(WireByte.space)
            line.append(contentsOf: key.utf8)
            line.append(WireByte.equals)
            try Request.appendValue(value, key: key, into: &line)
        }
        line.append(WireByte.lineFeed)
        guard line.count <= WireLimits.requestLineBytesMax else {
            throw invalid("the line would be \(line.count) bytes; the limit is \(WireLimits.requestLineBytesMax) including the LF")
        }
        return line
    }

    /// Checks a key: 1–32 bytes of `[a-z0-9_]` starting with a letter.
    private static func checkKey(_ key: String) throws {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, WireByte.isLowercaseLetter(first), bytes.count <= WireLimits.keyBytesMax,
              bytes.allSatisfy(WireByte.isKeyByte) else {
            throw invalid("key \"\(key)\" must be 1-32 of a-z 0-9 _ starting with a letter")
        }
    }

    /// Appends a value, bare if every byte is safe bare, else double-quoted with `"` and `\`
    /// escaped. Refuses empty, over-long and non-printable values.
    private static func appendValue(_ value: String, key: String, into line: inout [UInt8]) throws {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else { throw invalid("empty value for \(key)") }
        guard bytes.count <= WireLimits.valueBytesMax else {
            throw invalid("value of \(key) is \(bytes.count) bytes; the limit is \(WireLimits.valueBytesMax)")
        }
        if let bad = bytes.first(where: { !WireByte.isPrintable($0) }) {
            throw invalid("value of \(key) contains byte \(WireByte.describe(bad)); only printable ASCII can be sent")
        }
        if bytes.allSatisfy(WireByte.isSafeBare) {
            line.append(contentsOf: bytes)
            return
        }
        line.append(WireByte.quote)
        for byte in bytes {
            if byte == WireByte.quote || byte == WireByte.backslash { line.append(WireByte.backslash) }
            line.append(byte)
        }
        line.append(WireByte.quote)
    }
}

/// Shorthand for a refused request.
private func invalid(_ why: String) -> CreditClientError { .invalidRequest(why) }
