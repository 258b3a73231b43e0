// Renders a reply as one line of JSON for scripts; every value stays a string (money exact).

import CreditClient

/// `{"ok":true,"fields":{...},"items":[...]}` or `{"ok":false,"code":"...","message":"..."}`,
/// with `"tag"` added when the reply had one. Keys keep the server's order.
enum JSONRenderer {
    /// The reply as one compact JSON object.
    static func render(_ reply: Reply) -> String {
        var members: [String] = []
        switch reply.final {
        case .ok(let fields):
            members.append("\"ok\":true")
            members.append("\"fields\":" + object(fields))
            members.append("\"items\":[" + reply.items.map(object).joined(separator: ",") + "]")
        case .error(let code, let message):
            members.append("\"ok\":false")
            members.append("\"code\":" + string(code))
            members.append("\"message\":" + string(message))
        }
        if let tag = reply.tag { members.append("\"tag\":" + string(tag)) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Fields as a JSON object of strings, in wire order.
    static func object(_ fields: Fields) -> String {
        "{" + fields.map { string($0.key) + ":" + string($0.value) }.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
