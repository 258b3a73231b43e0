// HarnessState: everything the harness knows — the money model, the requests sent, what may be retried.

import CreditClient

/// The harness's knowledge across cycles. During a run the client threads share it through a
/// `Board`; between runs the harness owns it alone.
struct HarnessState: Sendable {
    var model = MoneyModel()
    /// This cycle's requests, in the order they were sent (per client, the order of sending).
    var sent: [SentRequest] = []
    /// Pending holds that no client is capturing or voiding right now.
    var resolvable: [String] = []
    /// Every acknowledged OK request of the run, with the reply its retry must give.
    var replayable: [Replayable] = []
    /// The refs of every request that took effect: every HISTORY entry must carry one of them.
    var appliedRefs: Set<String> = []
    /// The first failure seen by any thread.
    var failure: HarnessFailure?

    /// Judges a reply to `operation` and, if it took effect, applies it to the model. `check`
    /// names the check a contradiction fails (a live reply, or the retry of a lost one).
    mutating func take(_ reply: Reply, to operation: Operation, cycle: Int, check: String) throws(HarnessFailure) {
        let request = operation.request
        switch operation.kind {
        case .replay(let expected):
            guard reply == expected else {
                throw HarnessFailure(Check.acknowledged, request: request.text, expected: expected.text, actual: reply.text)
            }
        case .read:
            try checkBalanceReply(request, reply)
        case .resolved(let code):
            guard reply.errorCode == code else {
                throw HarnessFailure(check, request: request.text, expected: "ERR \(code) (the hold was resolved before)", actual: reply.text)
            }
        case .mutating:
            if let code = reply.errorCode {
                guard operation.allows(errorCode: code) else {
                    throw HarnessFailure(check, request: request.text, expected: "OK", actual: reply.text)
                }
                return
            }
            let pending: [String]
            do {
                pending = try model.apply(request, reply)
            } catch {
                throw HarnessFailure(check, request: request.text, expected: "a reply consistent with the model",
                                     actual: reply.text + "\n(\(error))")
            }
            appliedRefs.insert(request["ref"]!)
            replayable.append(Replayable(cycle: cycle, request: request, expected: reply.expectedReplay()))
            resolvable += pending
        }
    }

    /// A BALANCE read during the run: available = balance − held, never below zero.
    private func checkBalanceReply(_ request: Request, _ reply: Reply) throws(HarnessFailure) {
        guard let fields = reply.fields, let balance = MinorUnits(fields["balance"]), let held = MinorUnits(fields["held"]),
              let available = MinorUnits(fields["available"]), available == balance - held, available >= .zero
        else {
            throw HarnessFailure(Check.live, request: request.text, expected: "OK with available = balance - held >= 0",
                                 actual: reply.text)
        }
    }
}
