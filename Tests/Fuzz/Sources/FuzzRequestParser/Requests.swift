// The request half of the request fuzzer: parsed requests and parse errors against the grammar,
// the command table, and replies that must re-parse to what was encoded.

import CreditCore
import CreditProtocol

/// Digests that hash nothing: the command table only passes them into commands.
private let zeroDigest = Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
let constantDigests = Digests(card: { _, _ in .card(cardDigest: zeroDigest, pinDigest: zeroDigest) },
                              cardNumber: { _ in zeroDigest }, claimCode: { _ in zeroDigest })

/// A parsed request: its shape, its replies, and what the command table makes of it.
func checkRequest(_ request: ParsedRequest, line: [UInt8]) {
    precondition(RequestParser.parse(line) == .success(request), "parsing the same line twice differs")
    checkShape(request)
    checkReplyRoundTrip(request)
    checkCanonicalBytes(request)
    checkCommandTable(request)
}

/// A parse error: a printable message, a valid echoed tag, and a well-formed ERR line.
func checkParseError(_ error: RequestError, line: [UInt8]) {
    precondition(RequestParser.parse(line) == .failure(error), "parsing the same line twice differs")
    precondition(!error.message.isEmpty && error.message.utf8.allSatisfy(Wire.isPrintable),
                 "a parse error's message is not printable ASCII")
    if let tag = error.tag {
        precondition(Wire.isTag(tag), "a parse error echoes an invalid tag")
        precondition(line.drop(while: { $0 == Wire.space }).starts(with: [Wire.hash] + Array(tag.utf8)),
                     "a parse error echoes a tag the line does not start with")
    }
    checkErrorReply(tag: error.tag, code: ErrorCode.badRequest.rawValue, message: error.message)
}

/// What the grammar promises about an accepted request.
private func checkShape(_ request: ParsedRequest) {
    precondition(!request.verb.isEmpty && request.verb.utf8.allSatisfy(Wire.isUppercaseLetter), "verb not upper-case letters")
    if let tag = request.tag { precondition(Wire.isTag(tag), "invalid tag accepted") }
    let tokenCount = (request.tag == nil ? 1 : 2) + request.arguments.count
    precondition(tokenCount <= ProtocolLimits.tokensMax, "more than tokensMax tokens accepted")
    var keys = Set<String>()
    for argument in request.arguments {
        precondition(keys.insert(argument.key).inserted, "duplicate key accepted")
        let key = Array(argument.key.utf8)
        precondition((1...ProtocolLimits.keyBytesMax).contains(key.count) && Wire.isLowercaseLetter(key[0])
                     && key.allSatisfy(Wire.isKeyByte), "invalid key accepted")
        let value = Array(argument.value.utf8)
        precondition((1...ProtocolLimits.valueBytesMax).contains(value.count) && value.allSatisfy(Wire.isPrintable),
                     "invalid value accepted")
    }
}

/// An OK line and an item line carrying the request's arguments as fields must parse back to
/// exactly those fields (the encoder's promise that RequestParser reads its values unchanged).
private func checkReplyRoundTrip(_ request: ParsedRequest) {
    let fields = request.arguments.map { ($0.key, $0.value) }
    var ok: [UInt8] = []
    ReplyEncoder.ok(tag: request.tag, fields: fields, into: &ok)
    let okLine = checkedReplyLine(ok)
    precondition(RequestParser.parse(okLine) == .success(ParsedRequest(tag: request.tag, verb: "OK", arguments: request.arguments)),
                 "an OK line does not parse back to its fields")

    var item: [UInt8] = []
    ReplyEncoder.item(fields: fields, into: &item)
    let itemLine = checkedReplyLine(item)
    precondition(itemLine.first == UInt8(ascii: "*"), "an item line does not start with *")
    let asRequest = Array("ITEM".utf8) + itemLine.dropFirst()
    precondition(RequestParser.parse(asRequest) == .success(ParsedRequest(tag: nil, verb: "ITEM", arguments: request.arguments)),
                 "an item line does not parse back to its fields")
}

/// The fingerprint's bytes ignore argument order and the ref, and equal spellings of one value.
private func checkCanonicalBytes(_ request: ParsedRequest) {
    let canonical = CommandTable.canonicalBytes(request)
    precondition(canonical.starts(with: Array(request.verb.utf8)), "canonical bytes do not start with the verb")
    var reordered = request
    reordered.arguments.reverse()
    precondition(CommandTable.canonicalBytes(reordered) == canonical, "canonical bytes depend on argument order")
    var otherRef = request
    if let index = otherRef.arguments.firstIndex(where: { $0.key == "ref" }) {
        otherRef.arguments[index].value = otherRef.arguments[index].value == "fuzz-ref" ? "fuzz-ref-2" : "fuzz-ref"
    } else {
        otherRef.arguments.append(Argument(key: "ref", value: "fuzz-ref"))
    }
    precondition(CommandTable.canonicalBytes(otherRef) == canonical, "canonical bytes depend on the ref")
    for (index, argument) in request.arguments.enumerated() {
        for spelling in equalSpellings(argument) {
            var variant = request
            variant.arguments[index].value = spelling
            precondition(CommandTable.canonicalBytes(variant) == canonical,
                         "\(argument.key)=\(argument.value) and \(argument.key)=\(spelling) fingerprint differently")
        }
    }
    // No `partial=` and `partial=no` are the same request.
    var partialSpelling = request
    switch request.value("partial") {
    case "no": partialSpelling.arguments.removeAll { $0.key == "partial" }
    case nil: partialSpelling.arguments.append(Argument(key: "partial", value: "no"))
    default: return
    }
    precondition(CommandTable.canonicalBytes(partialSpelling) == canonical, "partial=no and no partial= fingerprint differently")
}

/// Other spellings of the same value that the documentation says fingerprint alike:
/// `50` = `50.0` = `050`, `15m` = `900s`.
private func equalSpellings(_ argument: Argument) -> [String] {
    switch argument.key {
    case "amount", "bonus":
        guard let amount = DecimalAmount(argument.value) else { return [] }
        let longer = argument.value + (amount.fractionDigits == 0 ? ".0" : "0")
        return ["0" + argument.value, longer].filter { DecimalAmount($0) != nil }
    case "ttl", "revert_after":
        guard let seconds = Seconds(ttl: argument.value) else { return [] }
        return ["\(seconds.value)s"].filter { Seconds(ttl: $0) != nil }
    default:
        return []
    }
}

/// The command table: FORBIDDEN only, and actions only for requests that fit their row.
private func checkCommandTable(_ request: ParsedRequest) {
    guard let spec = CommandTable.spec(request.verb) else {
        checkErrorReply(tag: request.tag, code: ErrorCode.unknownVerb.rawValue, message: "unknown verb \(request.verb)")
        return
    }
    precondition(spec.verb == request.verb, "the table returned another verb's row")
    for role in Role.allCases {
        guard let error = CommandTable.authorize(request, spec: spec, role: role) else { continue }
        precondition(error.code == .forbidden, "authorize refused with \(error.code) rather than FORBIDDEN")
        checkErrorReply(tag: request.tag, code: error.code.rawValue, message: error.message)
    }
    switch CommandTable.action(for: request, spec: spec, cards: constantDigests) {
    case .success(let action):
        precondition(request.arguments.allSatisfy { spec.allowed.contains($0.key) }, "an action from an unknown argument")
        precondition(spec.required.allSatisfy { request.value($0) != nil }, "an action without a required argument")
        guard case .ledger(let command, let ref) = action else { return }
        precondition(command.isMutating == (ref != nil), "a mutating command without a ref, or a read with one")
        if let ref { precondition(ref.text == request.value("ref"), "the action's ref is not the request's") }
    case .failure(let error):
        checkErrorReply(tag: request.tag, code: error.code.rawValue, message: error.message)
    }
}

/// An ERR line: one printable line within the line limit, `[#tag ]ERR CODE[ message]`, the
/// message verbatim when it is printable and short enough.
private func checkErrorReply(tag: String?, code: String, message: String) {
    precondition(!code.isEmpty && code.utf8.allSatisfy(Wire.isCodeByte), "error code \(code) is not UPPER_SNAKE_CASE")
    var bytes: [UInt8] = []
    ReplyEncoder.error(tag: tag, code: code, message: message, into: &bytes)
    precondition(bytes.count <= ProtocolLimits.lineBytesMax, "an ERR line longer than a client's line buffer")
    let line = checkedReplyLine(bytes)
    let prefix = Array(((tag.map { "#\($0) " } ?? "") + "ERR " + code).utf8)
    precondition(line.starts(with: prefix), "an ERR line does not start with its tag and code")
    if message.utf8.allSatisfy(Wire.isPrintable) && message.utf8.count <= ProtocolLimits.errorMessageBytesMax {
        let expected = message.isEmpty ? prefix : prefix + [Wire.space] + Array(message.utf8)
        precondition(line == expected, "an ERR line changed a printable message")
    }
}

/// A reply as written: exactly one line of printable ASCII ending in LF. Returns it without LF.
private func checkedReplyLine(_ bytes: [UInt8]) -> [UInt8] {
    precondition(bytes.last == Wire.lineFeed, "a reply does not end in LF")
    let line = Array(bytes.dropLast())
    precondition(line.allSatisfy(Wire.isPrintable), "a reply line holds a byte outside printable ASCII")
    return line
}

/// The wire's character classes, restated here (CreditProtocol keeps its own internal).
enum Wire {
    static let lineFeed: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let hash: UInt8 = 0x23

    static func isPrintable(_ byte: UInt8) -> Bool { byte >= 0x20 && byte <= 0x7E }
    static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    static func isUppercaseLetter(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isKeyByte(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || isDigit(byte) || byte == 0x5F }
    static func isCodeByte(_ byte: UInt8) -> Bool { isUppercaseLetter(byte) || isDigit(byte) || byte == 0x5F }
    static func isTagByte(_ byte: UInt8) -> Bool {
        isLowercaseLetter(byte) || isUppercaseLetter(byte) || isDigit(byte) || byte == 0x5F || byte == 0x2D
    }

    /// 1–`tagBytesMax` tag bytes.
    static func isTag(_ tag: String) -> Bool {
        (1...ProtocolLimits.tagBytesMax).contains(tag.utf8.count) && tag.utf8.allSatisfy(isTagByte)
    }
}
