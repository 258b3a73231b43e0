// LedgerAudit: recomputes what the ledger's state must satisfy and lists every violation.

extension Ledger {
    /// Every inconsistency in the state, as human-readable lines (empty when sound): balances
    /// against their history chains, held amounts against pending hold legs, hold states
    /// against credits' pending lists, and the bounds every balance must keep.
    public var auditProblems: [String] {
        var problems: [String] = []
        var heldByCredit: [CreditID: MinorUnits] = [:]
        var pendingByCredit: [CreditID: Set<HoldID>] = [:]
        for hold in state.holds.values {
            for (leg, captured) in zip(hold.legs, hold.captured) {
                guard state.credits[leg.credit] != nil else {
                    problems.append("hold \(hold.id) names unknown credit \(leg.credit)")
                    continue
                }
                if captured > leg.amount { problems.append("hold \(hold.id) captured more than its leg on \(leg.credit)") }
                if hold.state == .pending {
                    heldByCredit[leg.credit, default: .zero] += leg.amount
                    pendingByCredit[leg.credit, default: []].insert(hold.id)
                }
            }
        }
        for id in state.credits.keys.sorted() {
            problems += audit(state.credits[id]!, held: heldByCredit[id] ?? .zero, pending: pendingByCredit[id] ?? [])
        }
        return problems
    }

    private func audit(_ credit: Credit, held: MinorUnits, pending: Set<HoldID>) -> [String] {
        var problems: [String] = []
        let name = "credit \(credit.id)"
        if credit.held != held { problems.append("\(name): held \(credit.held.value) but pending legs sum to \(held.value)") }
        if Set(credit.pendingHolds) != pending { problems.append("\(name): pending hold list disagrees with the holds") }
        if credit.available < .zero || credit.balance > credit.currency.balanceMax {
            problems.append("\(name): balance \(credit.balance.value) outside 0...\(credit.currency.balanceMax.value) or overdrawn")
        }
        var balance = MinorUnits.zero
        for activity in credit.history {
            balance += balanceChange(activity)
            if balance != activity.balanceAfter {
                problems.append("\(name): history seq \(activity.seq) says balance \(activity.balanceAfter.value), the chain gives \(balance.value)")
                balance = activity.balanceAfter
            }
        }
        if balance != credit.balance { problems.append("\(name): balance \(credit.balance.value) but history ends at \(balance.value)") }
        return problems
    }

    /// How an activity changes a balance.
    private func balanceChange(_ activity: Activity) -> MinorUnits {
        switch activity.kind {
        case .issue, .bonus, .load, .refund, .splitIn, .reversal: return activity.amount
        case .capture, .cancel, .breakage, .split: return MinorUnits(-activity.amount.value)
        case .stock, .hold, .void, .expire, .freeze, .unfreeze, .replace, .transfer, .revert, .lock, .unlock: return .zero
        }
    }
}
