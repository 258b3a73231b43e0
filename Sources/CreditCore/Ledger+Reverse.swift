// REVERSE: undo what an earlier request did, for a till that timed out waiting for its reply.

extension Ledger {
    /// Reverses the request `original` of the same client: a pending hold is voided, a captured
    /// hold or a capture is refunded onto its credits, an issue or activation is cancelled if
    /// nothing else happened to the credit, a load or refund is taken back if still available.
    /// A ref never seen becomes a tombstone, so the original is refused if it arrives late.
    /// A reversal is itself not reversible, and an original is reversed at most once.
    func decideReverse(_ original: Ref, client: ClientID, now: Instant) -> Result<Decision, CreditError> {
        guard let index = refPosition(client: client, ref: original) else {
            let reply = Reply(fields: [Field("original", original.text), Field("effect", "none"), Field("tombstone", "yes")])
            return .success(Decision(events: [.tombstone(client, original)], reply: reply))
        }
        let action = state.refs.action(at: index)
        let refusal = CreditError(.notReversible, "ref \(original) cannot be reversed")
        let events: [Event]
        let effect: String
        switch action {
        case .none, .tombstone:
            return .failure(refusal)
        case .held(let id):
            guard let hold = state.holds[id] else { return .failure(refusal) }
            switch hold.state {
            case .pending where now < hold.deadline: (events, effect) = ([.voided(id)], "voided")
            case .pending, .voided, .expired: (events, effect) = ([], "none")
            case .captured:
                return .failure(CreditError(.notReversible, "hold \(id) was captured; reverse the CAPTURE's ref"))
            }
        case .captured(let id):
            guard let hold = state.holds[id], hold.state == .captured else { return .failure(refusal) }
            switch refundCapture(hold, now: now) {
            case .failure(let error): return .failure(error)
            case .success(let refunds): (events, effect) = (refunds, "refunded")
            }
        case .issued(let id), .loaded(let id, _, activated: true):
            guard let credit = state.credits[id], isUntouched(credit) else {
                return .failure(CreditError(.notReversible, "credit was used after \(original); refund or cancel it instead"))
            }
            (events, effect) = ([.cancelled(id, reason: "reversal of \(original)")], "cancelled")
        case .loaded(let id, let amount, activated: false), .refunded(let id, let amount):
            guard let credit = state.credits[id], credit.available >= amount, unusable(credit, now: now) == nil
                    || credit.status == .frozen
            else { return .failure(CreditError(.notReversible, "the value of \(original) is no longer available")) }
            (events, effect) = ([.reversal(id, delta: MinorUnits(-amount.value))], "taken_back")
        }
        let reply = Reply(fields: [Field("original", original.text), Field("effect", effect)])
        return .success(Decision(events: events + [.markReversed(client, original)], reply: reply))
    }

    /// Reversal events giving back what a captured hold took, leg by leg.
    private func refundCapture(_ hold: Hold, now: Instant) -> Result<[Event], CreditError> {
        var events: [Event] = []
        for (leg, taken) in zip(hold.legs, hold.captured) where taken > .zero {
            let credit = state.credits[leg.credit]!
            guard credit.status == .active || credit.status == .frozen,
                  taken.value <= credit.currency.balanceMax.value - credit.balance.value
            else { return .failure(CreditError(.notReversible, "credit \(credit.id) can no longer take the value back")) }
            events.append(.reversal(leg.credit, delta: taken))
        }
        return .success(events)
    }

    /// True when nothing but its creation (issue, bonus, stock, activation) happened to a credit.
    private func isUntouched(_ credit: Credit) -> Bool {
        credit.pendingHoldCount == 0 && credit.status != .cancelled && credit.status != .expired
            && credit.history.allSatisfy { [.issue, .bonus, .stock, .load].contains($0.kind) }
            && credit.history.filter { $0.kind == .load }.count <= 1
    }
}
