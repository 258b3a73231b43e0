// A whole reply: item lines, then one final OK or ERR line, with the echoed tag.

/// The server's answer to one request: zero or more item lines (`* key=value ...`), then one
/// final line, `[#tag ]OK key=value ...` or `[#tag ]ERR CODE message` (PROTOCOL.md §4).
public struct Reply: Sendable, Equatable {
    /// How a reply ended.
    public enum Final: Sendable, Equatable {
        /// `OK` and its fields (possibly none).
        case ok(Fields)
        /// `ERR`, its upper-case code (act on this) and its human message (which may change).
        case error(code: String, message: String)
    }

    /// The item lines (`HISTORY` entries, `HELP` verbs), in order.
    public var items: [Fields]
    /// The final line.
    public var final: Final
    /// The tag echoed on the final line, or nil if it had none.
    public var tag: String?

    /// A reply from its parts.
    public init(items: [Fields] = [], final: Final, tag: String? = nil) {
        self.items = items
        self.final = final
        self.tag = tag
    }

    /// Parses a whole reply from its lines (without LFs): items first, the final line last.
    /// Throws `CreditClientError.protocolViolation` if a line is malformed, an item follows the
    /// final line, or there is no final line.
    public init(lines: [String]) throws {
        var assembler = ReplyAssembler()
        for (index, line) in lines.enumerated() {
            if let reply = try assembler.consume(Array(line.utf8)) {
                guard index == lines.count - 1 else {
                    throw CreditClientError.protocolViolation(line: lines[index + 1], reason: "line after the final line")
                }
                self = reply
                return
            }
        }
        throw CreditClientError.protocolViolation(line: lines.last ?? "", reason: "reply has no final OK or ERR line")
    }

    /// True when the final line is `OK`.
    public var isOK: Bool {
        if case .ok = final { return true }
        return false
    }

    /// The `OK` line's fields, or nil for an `ERR` reply.
    public var fields: Fields? {
        if case .ok(let fields) = final { return fields }
        return nil
    }

    /// The `OK` line's fields; throws `CreditClientError.server(code:message:)` for `ERR`.
    public func require() throws -> Fields {
        switch final {
        case .ok(let fields): return fields
        case .error(let code, let message): throw CreditClientError.server(code: code, message: message)
        }
    }
}

/// Collects reply lines until a final line completes a reply.
struct ReplyAssembler {
    private var items: [Fields] = []

    /// Takes one line (without its LF); returns the reply when the line was its final line.
    mutating func consume(_ line: [UInt8]) throws -> Reply? {
        switch try ReplyLineParser.parse(line) {
        case .item(let fields):
            guard items.count < WireLimits.replyItemsMax else {
                throw violation(line, "more than \(WireLimits.replyItemsMax) item lines in one reply")
            }
            items.append(fields)
            return nil
        case .final(let final, let tag):
            defer { items = [] }
            return Reply(items: items, final: final, tag: tag)
        }
    }

    /// True while item lines have arrived without their final line.
    var isMidReply: Bool { !items.isEmpty }
}

/// Builds a protocol violation naming the offending line.
func violation(_ line: [UInt8], _ reason: String) -> CreditClientError {
    .protocolViolation(line: ReplyLineParser.printable(line), reason: reason)
}
