// HarnessFailure: what a failed check reports — which check, on which request, expected vs actual.

/// The first check that failed. The harness stops at it and prints it with the seed and cycle.
struct HarnessFailure: Error, CustomStringConvertible, Sendable {
    /// Which check, in the words of the brief: "(1) acknowledged request replays", ...
    let check: String
    /// The request concerned, as sent on the wire, if one is.
    var request: String?
    /// What the check expected and what the daemon did.
    var expected: String
    var actual: String

    init(_ check: String, request: String? = nil, expected: String, actual: String) {
        self.check = check
        self.request = request
        self.expected = expected
        self.actual = actual
    }

    var description: String {
        var lines = ["check:    \(check)"]
        if let request { lines.append("request:  \(request)") }
        lines.append("expected: " + indented(expected))
        lines.append("actual:   " + indented(actual))
        return lines.joined(separator: "\n")
    }

    private func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n          ")
    }
}

/// The checks, named once so every report uses the same words.
enum Check {
    static let acknowledged = "(1) every acknowledged request is present: its retry replays the identical reply"
    static let unacknowledged = "(2) every unacknowledged request was applied fully or not at all"
    static let money = "(3) money invariant: balances = issued + refunded - captured, held = pending holds"
    static let history = "(4) each credit's HISTORY is internally consistent"
    static let verify = "(5) creditd verify exits 0"
    static let live = "live reply during the run"
    static let daemon = "the daemon starts, serves and stops"
}
