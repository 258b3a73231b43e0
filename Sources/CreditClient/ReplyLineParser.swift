// Parses one reply line: an item line, or a final OK/ERR line with an optional tag.

/// One line of a reply, classified.
enum ReplyLine: Equatable {
    /// `* key=value ...`
    case item(Fields)
    /// `[#tag ]OK ...` or `[#tag ]ERR CODE message`.
    case final(Reply.Final, tag: String?)
}

/// Reads reply lines by the grammar of PROTOCOL.md §4; values use the request grammar of §3,
/// so bare values run to the next space and quoted values decode `\"` and `\\`.
enum ReplyLineParser {
    /// Classifies and parses one line (without its LF). Throws a protocol violation for bytes
    /// outside printable ASCII, an unknown line shape, or malformed fields.
    static func parse(_ line: [UInt8]) throws -> ReplyLine {
        if let bad = line.first(where: { !WireByte.isPrintable($0) }) {
            throw violation(line, "byte \(WireByte.describe(bad)) is not printable ASCII")
        }
        if line.first == WireByte.asterisk {
            guard line.count == 1 || line[1] == WireByte.space else { throw violation(line, "item line must start with \"* \"") }
            return .item(try parseFields(line, from: 1))
        }
        var index = 0
        var tag: String?
        if line.first == WireByte.hash {
            guard let space = line.firstIndex(of: WireByte.space) else { throw violation(line, "tag without a reply") }
            let text = String(decoding: line[1..<space], as: UTF8.self)
            guard WireByte.isValidTag(text) else { throw violation(line, "bad tag") }
            tag = text
            index = space + 1
        }
        return .final(try parseFinal(line, from: index), tag: tag)
    }

    /// Parses `OK[ fields]` or `ERR CODE[ message]` starting at `start`.
    private static func parseFinal(_ line: [UInt8], from start: Int) throws -> Reply.Final {
        let rest = line[start...]
        if rest.starts(with: "OK".utf8) {
            let after = start + 2
            guard after == line.count || line[after] == WireByte.space else {
                throw violation(line, "expected OK, ERR or an item line")
            }
            return .ok(try parseFields(line, from: after))
        }
        guard rest.starts(with: "ERR ".utf8) else { throw violation(line, "expected OK, ERR or an item line") }
        let codeStart = start + 4
        let codeEnd = line[codeStart...].firstIndex(of: WireByte.space) ?? line.count
        guard codeEnd > codeStart, line[codeStart..<codeEnd].allSatisfy(WireByte.isCodeByte) else {
            throw violation(line, "ERR must be followed by an upper-case code")
        }
        let code = String(decoding: line[codeStart..<codeEnd], as: UTF8.self)
        let message = codeEnd < line.count ? String(decoding: line[(codeEnd + 1)...], as: UTF8.self) : ""
        return .error(code: code, message: message)
    }

    /// Parses space-separated `key=value` tokens from `start` to the end of the line.
    static func parseFields(_ line: [UInt8], from start: Int) throws -> Fields {
        var fields = Fields()
        var index = start
        while true {
            while index < line.count && line[index] == WireByte.space { index += 1 }
            guard index < line.count else { return fields }
            let keyStart = index
            while index < line.count && line[index] != WireByte.equals && line[index] != WireByte.space { index += 1 }
            guard index < line.count, line[index] == WireByte.equals, index > keyStart,
                  line[keyStart..<index].allSatisfy(WireByte.isKeyByte) else {
                throw violation(line, "expected key=value at byte \(keyStart)")
            }
            let key = String(decoding: line[keyStart..<index], as: UTF8.self)
            index += 1
            let value = index < line.count && line[index] == WireByte.quote
                ? try readQuoted(line, &index, key: key)
                : try readBare(line, &index, key: key)
            fields.append(key: key, value: value)
        }
    }

    /// Reads a bare value up to the next space; it may not contain `"`.
    private static func readBare(_ line: [UInt8], _ index: inout Int, key: String) throws -> String {
        let start = index
        while index < line.count && line[index] != WireByte.space {
            guard line[index] != WireByte.quote else { throw violation(line, "unquoted value of \(key) contains \"") }
            index += 1
        }
        return String(decoding: line[start..<index], as: UTF8.self)
    }

    /// Reads `"..."` from the opening quote, decoding `\"` and `\\`; the closing quote must be
    /// followed by a space or the end of the line.
    private static func readQuoted(_ line: [UInt8], _ index: inout Int, key: String) throws -> String {
        var value: [UInt8] = []
        index += 1
        while true {
            guard index < line.count else { throw violation(line, "unterminated quoted value of \(key)") }
            let byte = line[index]
            if byte == WireByte.quote { break }
            if byte == WireByte.backslash {
                guard index + 1 < line.count, line[index + 1] == WireByte.quote || line[index + 1] == WireByte.backslash else {
                    throw violation(line, "bad escape in value of \(key) (only \\\" and \\\\)")
                }
                index += 1
            }
            value.append(line[index])
            index += 1
        }
        index += 1
        guard index == line.count || line[index] == WireByte.space else {
            throw violation(line, "closing quote of \(key) must be followed by a space or end of line")
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// The line as text for an error message, non-printable bytes shown as `\xNN`, cut to 200 bytes.
    static func printable(_ line: [UInt8]) -> String {
        var text = ""
        for byte in line.prefix(200) {
            if WireByte.isPrintable(byte) {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return line.count > 200 ? text + "…" : text
    }
}
