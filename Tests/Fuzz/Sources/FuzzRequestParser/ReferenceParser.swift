// The request grammar as Protocol/PROTOCOL.md and RequestParser's doc comments state it, written
// as plainly as possible, so the fuzzer can compare the real parser with it line by line.

import CreditProtocol

/// What the grammar says about one line: the request, or nil where it must be refused; and the
/// tag an error must echo (the first token's, when that token is a valid tag).
///
/// `[#tag] VERB key=value key="quoted value" ...`: tokens separated by spaces, leading and
/// trailing spaces ignored; every byte printable ASCII; a tag of 1–32 `[A-Za-z0-9_-]`; a verb of
/// letters, case-insensitive; at most `tokensMax` tokens counting tag and verb; keys of 1–32
/// `[a-z0-9_]` starting with a letter, unique; a value is everything after the first `=`: bare
/// (no `"`, a backslash is an ordinary byte) or quoted (only `\"` and `\\` escapes, the closing
/// quote ends the token), 1–256 bytes after decoding.
func referenceParse(_ line: [UInt8]) -> (request: ParsedRequest?, echoedTag: String?) {
    var scanner = ReferenceScanner(line: line)
    scanner.skipSpaces()
    var tag: String?
    var isTagValid = true
    if scanner.peek == Wire.hash {
        let body = scanner.bareToken().dropFirst()
        isTagValid = (1...ProtocolLimits.tagBytesMax).contains(body.count) && body.allSatisfy(Wire.isTagByte)
        if isTagValid { tag = String(decoding: body, as: UTF8.self) }
    }
    guard line.allSatisfy(Wire.isPrintable), isTagValid else { return (nil, tag) }
    scanner.skipSpaces()
    let verbBytes = scanner.bareToken()
    guard !verbBytes.isEmpty, verbBytes.allSatisfy({ Wire.isLowercaseLetter($0) || Wire.isUppercaseLetter($0) }) else {
        return (nil, tag)
    }
    let verb = String(decoding: verbBytes.map { Wire.isLowercaseLetter($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    var arguments: [Argument] = []
    var tokenCount = tag == nil ? 1 : 2
    while true {
        scanner.skipSpaces()
        if scanner.isAtEnd { break }
        tokenCount += 1
        guard tokenCount <= ProtocolLimits.tokensMax, let argument = scanner.argument(),
              !arguments.contains(where: { $0.key == argument.key }) else { return (nil, tag) }
        arguments.append(argument)
    }
    return (ParsedRequest(tag: tag, verb: verb, arguments: arguments), tag)
}

/// A byte position in a line with the few steps the reference grammar needs.
private struct ReferenceScanner {
    let line: [UInt8]
    var index = 0

    var isAtEnd: Bool { index == line.count }
    var peek: UInt8? { isAtEnd ? nil : line[index] }

    mutating func skipSpaces() {
        while peek == Wire.space { index += 1 }
    }

    /// The bytes up to the next space or the end.
    mutating func bareToken() -> ArraySlice<UInt8> {
        let start = index
        while let byte = peek, byte != Wire.space { index += 1 }
        return line[start..<index]
    }

    /// `key=value` or `key="quoted"`, or nil if the token breaks any rule.
    mutating func argument() -> Argument? {
        let keyStart = index
        while let byte = peek, byte != Wire.space, byte != 0x3D { index += 1 }
        let key = line[keyStart..<index]
        guard peek == 0x3D, (1...ProtocolLimits.keyBytesMax).contains(key.count), Wire.isLowercaseLetter(key.first!),
              key.allSatisfy(Wire.isKeyByte) else { return nil }
        index += 1
        let value: [UInt8]
        if peek == 0x22 {
            guard let quoted = quotedValue() else { return nil }
            value = quoted
        } else {
            value = Array(bareToken())
            guard !value.contains(0x22) else { return nil }
        }
        guard (1...ProtocolLimits.valueBytesMax).contains(value.count) else { return nil }
        return Argument(key: String(decoding: key, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    /// The decoded content of `"..."` at the index, which must end its token.
    private mutating func quotedValue() -> [UInt8]? {
        index += 1
        var value: [UInt8] = []
        while true {
            guard let byte = peek else { return nil }
            index += 1
            if byte == 0x22 { break }
            if byte == 0x5C {
                guard let escaped = peek, escaped == 0x22 || escaped == 0x5C else { return nil }
                index += 1
                value.append(escaped)
            } else {
                value.append(byte)
            }
        }
        guard isAtEnd || peek == Wire.space else { return nil }
        return value
    }
}
