// ReplyText: a reply as the exact lines the daemon sent, and the reply a replay must give.

import CreditClient

extension Reply {
    /// The reply's lines as sent on the wire (without LFs). The daemon writes a value bare unless
    /// it is empty or holds a space, `"`, `\` or `=` (PROTOCOL.md §4), so re-encoding the parsed
    /// fields by the same rule gives back its bytes: two replies with equal `text` are
    /// byte-identical.
    var text: String {
        var lines = items.map { "* " + ReplyText.encode($0) }
        let prefix = tag.map { "#\($0) " } ?? ""
        switch final {
        case .ok(let fields): lines.append(prefix + (fields.isEmpty ? "OK" : "OK " + ReplyText.encode(fields)))
        case .error(let code, let message): lines.append(prefix + "ERR \(code)" + (message.isEmpty ? "" : " " + message))
        }
        return lines.joined(separator: "\n")
    }

    /// The `ERR` code, or nil for `OK`.
    var errorCode: String? {
        if case .error(let code, _) = final { return code }
        return nil
    }

    /// The reply a retry of the same request with the same ref must give (PROTOCOL.md §7): the
    /// original, except that secrets are not replayed — a gift card's number is masked to its
    /// last four digits and its PIN is left out.
    func expectedReplay() -> Reply {
        guard case .ok(let fields) = final, fields["pin"] != nil else { return self }
        var masked: [(key: String, value: String)] = []
        for (key, value) in fields where key != "pin" {
            let isNumber = key == "card" && value.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
            masked.append((key, isNumber ? String(repeating: "*", count: value.count - 4) + value.suffix(4) : value))
        }
        return Reply(items: items, final: .ok(Fields(masked)), tag: tag)
    }
}

extension Request {
    /// The request line as sent (for reports).
    var text: String { (try? encoded()) ?? "\(verb) \(arguments)" }
}

/// The value quoting rule of PROTOCOL.md §4.
enum ReplyText {
    static func encode(_ fields: Fields) -> String {
        fields.map { $0.key + "=" + quoted($0.value) }.joined(separator: " ")
    }

    static func quoted(_ value: String) -> String {
        let bare = !value.isEmpty && !value.utf8.contains { $0 == 32 || $0 == 34 || $0 == 92 || $0 == 61 }
        guard !bare else { return value }
        var out = "\""
        for character in value {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }
}
