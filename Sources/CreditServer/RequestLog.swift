// RequestLog: the fields of one request log line — what was asked and how it ended, never a secret.

import CreditCore
import CreditProtocol

/// What the engine knows about the request it is handling, for STATS and the request log.
struct RequestNote {
    /// The verb slot in `RequestStats`.
    var verb = RequestStats.unknownVerbSlot
    /// The code of the ERR reply, nil for OK.
    var error: ErrorCode?
    /// The parsed request, kept only while the request log is on.
    var request: ParsedRequest?
}

/// Builds request log lines (`request_log = on`): verb, key, result, ref and the ids a support
/// person searches for. Card numbers appear masked to their last four digits; PINs, claim codes
/// and secrets never appear, because only the arguments listed in `loggedArguments` are copied.
enum RequestLog {
    /// Arguments copied into the line as sent (they identify, they do not authorize).
    static let loggedArguments = ["credit", "hold", "profile", "original", "amount", "currency"]
    /// Digits a run must have to be masked in a ref: shorter than any card number (16), longer
    /// than any order or till number a POS puts in a ref.
    static let maskedDigitRunMin = 12

    /// The fields of the line for `note`, without the latency (added when the reply is released).
    static func fields(_ note: RequestNote, key: String?, peer: String) -> [(String, String)] {
        var fields: [(String, String)] = [("verb", RequestStats.verbName(note.verb)), ("key", key ?? "-"), ("peer", peer)]
        if let code = note.error {
            fields += [("result", "ERR"), ("code", code.rawValue)]
        } else {
            fields.append(("result", "OK"))
        }
        guard let request = note.request else { return fields }
        if let tag = request.tag { fields.append(("tag", maskingDigitRuns(tag))) }
        if let ref = request.value("ref") { fields.append(("ref", maskingDigitRuns(ref))) }
        if let card = request.value("card") { fields.append(("card", maskedCard(card))) }
        for name in loggedArguments {
            if let value = request.value(name) { fields.append((name, maskingDigitRuns(value))) }
        }
        return fields
    }

    /// A card number as `************1234`: the last four characters, the rest as stars.
    static func maskedCard(_ text: String) -> String {
        String(repeating: "*", count: max(0, text.count - 4)) + text.suffix(4)
    }

    /// `text` with every run of `maskedDigitRunMin` or more digits masked to its last four, so a
    /// till that puts a card number in a ref does not write it to the log.
    static func maskingDigitRuns(_ text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            out += run.count >= maskedDigitRunMin ? maskedCard(run) : run
            run = ""
        }
        for character in text {
            if character.isASCII && character.isNumber { run.append(character); continue }
            flush()
            out.append(character)
        }
        flush()
        return out
    }
}

extension Engine {
    /// The request log fields of the request just handled, or nil while the request log is off.
    func requestLogFields(session: Session) -> [(String, String)]? {
        guard requestLog else { return nil }
        return RequestLog.fields(currentNote, key: session.key?.id.text, peer: session.peer)
    }
}
