// Operation: one request of the workload, what it is for, and which replies it may get.

import CreditClient

/// A request a client sends, with what the harness knows about it in advance.
struct Operation: Sendable {
    enum Kind: Sendable {
        /// A request that may change money: ISSUE, HOLD, CAPTURE, VOID, REFUND.
        case mutating
        /// A retry of an earlier acknowledged request with its ref: it must replay `expected`.
        case replay(expected: Reply)
        /// A CAPTURE or VOID of a hold already resolved: it must get `ERR <code>`.
        case resolved(code: String)
        /// A BALANCE read by card and PIN.
        case read
    }

    let kind: Kind
    let request: Request

    /// True for requests whose lost reply the checks settle by retrying: those that may have
    /// changed something. (A lost BALANCE changed nothing, and a lost replay's original is
    /// retried with the acknowledged requests.)
    var needsSettling: Bool {
        switch kind {
        case .mutating, .resolved: return true
        case .replay, .read: return false
        }
    }

    /// The hold a CAPTURE or VOID names.
    var hold: String? { request.verb == "CAPTURE" || request.verb == "VOID" ? request["hold"] : nil }

    /// `ERR` codes the request may get without anything being wrong: a HOLD the credits cannot
    /// cover, or that would pass the pending-hold cap; a REFUND past the maximum balance. Any
    /// other `ERR` on a request the model expects to succeed is a failure.
    func allows(errorCode code: String) -> Bool {
        switch kind {
        case .mutating:
            switch request.verb {
            case "HOLD": return code == "INSUFFICIENT_FUNDS" || code == "TOO_MANY_HOLDS"
            case "REFUND": return code == "BAD_AMOUNT"
            default: return false
            }
        case .resolved(let expected): return code == expected
        case .replay, .read: return false
        }
    }
}

/// A request recorded during a run: sent (perhaps applied) and, if acknowledged, its reply.
struct SentRequest: Sendable {
    let cycle: Int
    let client: Int
    let operation: Operation
    /// The reply, or nil if the connection failed first (the request is unacknowledged).
    var reply: Reply?
}

/// An acknowledged OK request and the reply a retry with its ref must give.
struct Replayable: Sendable {
    let cycle: Int
    let request: Request
    let expected: Reply
}
