// Turns one framed request line into a tag, an uppercased verb and key=value arguments.

/// Parses request lines: `[#tag] VERB key=value key="quoted value" ...`.
///
/// Rules decided here beyond the wire summary: leading and trailing spaces are ignored; a value
/// is everything after the *first* `=` of its token (`a==b` gives key `a`, value `=b`); a
/// backslash in a *bare* value is an ordinary byte (escapes exist only inside quotes); the
/// 256-byte value limit counts decoded bytes (after quotes and escapes are removed).
public enum RequestParser {
    /// Parses one line (without its LF or CR, as `LineFramer` returns it) into a request, or
    /// explains what is malformed. The error carries the tag whenever the first token was a
    /// valid tag, so the server can echo it on the ERR line.
    public static func parse(_ line: [UInt8]) -> Result<ParsedRequest, RequestError> {
        line.withUnsafeBufferPointer { parse(LineCursor($0)) }
    }

    /// Parses a line framed by `LineFramer` (a slice of its buffer), as `parse(_:)` does.
    public static func parse(_ line: ArraySlice<UInt8>) -> Result<ParsedRequest, RequestError> {
        line.withUnsafeBufferPointer { parse(LineCursor($0)) }
    }

    /// Parses the line the cursor views, from its start.
    private static func parse(_ start: LineCursor) -> Result<ParsedRequest, RequestError> {
        var cursor = start
        let tag = readTag(&cursor)
        let echoedTag: String? = if case .valid(let text) = tag { text } else { nil }
        do throws(RequestError) {
            try checkPrintable(cursor.bytes)
            if case .invalid = tag { throw RequestError("bad tag") }
            var tokenCount = echoedTag == nil ? 0 : 1
            let verb = try readVerb(&cursor, tokenCount: &tokenCount)
            let arguments = try readArguments(&cursor, tokenCount: tokenCount)
            return .success(ParsedRequest(tag: echoedTag, verb: verb, arguments: arguments))
        } catch {
            return .failure(RequestError(tag: echoedTag, message: error.message))
        }
    }

    /// What the first token says about a tag.
    private enum TagToken {
        case absent
        case valid(String)
        case invalid
    }

    /// Reads a first token that starts with `#`; leaves the cursor alone if there is none.
    private static func readTag(_ cursor: inout LineCursor) -> TagToken {
        cursor.skipSpaces()
        guard cursor.current == ASCII.hash else { return .absent }
        let token = cursor.readBareToken()
        let body = (token.lowerBound + 1)..<token.upperBound
        guard (1...ProtocolLimits.tagBytesMax).contains(body.count),
              cursor.bytes[body].allSatisfy(ASCII.isTagByte) else { return .invalid }
        return .valid(cursor.string(body))
    }

    /// Rejects the first byte outside 0x20...0x7E, naming it in hex.
    private static func checkPrintable(_ line: UnsafeBufferPointer<UInt8>) throws(RequestError) {
        guard let bad = line.first(where: { !ASCII.isPrintable($0) }) else { return }
        throw RequestError("byte \(hexByte(bad)) is not printable ASCII")
    }

    /// `0x0A`-style spelling of a byte.
    static func hexByte(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0x0" + digits : "0x" + digits
    }

    /// Reads the verb (letters only) and returns it uppercased.
    private static func readVerb(
        _ cursor: inout LineCursor, tokenCount: inout Int
    ) throws(RequestError) -> String {
        cursor.skipSpaces()
        guard !cursor.isAtEnd else { throw RequestError("missing verb") }
        tokenCount += 1
        let token = cursor.readBareToken()
        guard cursor.bytes[token].allSatisfy(ASCII.isLetter) else {
            throw RequestError("bad verb \(cursor.snippet(token)) (letters only)")
        }
        return String(unsafeUninitializedCapacity: token.count) { storage in
            for (offset, byte) in cursor.bytes[token].enumerated() { storage[offset] = ASCII.uppercased(byte) }
            return token.count
        }
    }

    /// Arguments reserved up front for each request.
    ///
    /// Why 8: most verbs take at most eight arguments, so one allocation usually suffices
    /// instead of the array regrowing at 1, 2, 4 and 8.
    static let argumentsCapacityHint = 8

    /// Reads the remaining tokens as unique `key=value` arguments, enforcing the token limit.
    private static func readArguments(
        _ cursor: inout LineCursor, tokenCount: Int
    ) throws(RequestError) -> [Argument] {
        var arguments: [Argument] = []
        arguments.reserveCapacity(Self.argumentsCapacityHint)
        var tokenCount = tokenCount
        while true {
            cursor.skipSpaces()
            if cursor.isAtEnd { return arguments }
            tokenCount += 1
            guard tokenCount <= ProtocolLimits.tokensMax else {
                throw RequestError("too many tokens (max \(ProtocolLimits.tokensMax))")
            }
            let argument = try ArgumentScanner.readArgument(&cursor)
            guard !arguments.contains(where: { isSameKey($0.key, argument.key) }) else {
                throw RequestError("duplicate argument \(argument.key)")
            }
            arguments.append(argument)
        }
    }
}
