// LedgerAudit: recomputes what the ledger's state must satisfy and lists every violation.

extension Ledger {
    /// Every inconsistency in the state, as human-readable lines (empty when sound): balances
    /// against their history chains, held amounts against pending hold legs, hold states
    /// against credits' counts of pending holds, and the bounds every balance must keep.
    public var auditProblems: [String] {
        var problems: [String] = []
        var heldByCredit: [CreditID: MinorUnits] = [:]
        var pendingByCredit: [CreditID: Int] = [:]
        for hold in state.holds.values {
            for (leg, captured) in zip(hold.legs, hold.captured) {
                guard state.credits[leg.credit] != nil else {
                    problems.append("hold \(hold.id) names unknown credit \(leg.credit)")
                    continue
                }
                if captured > leg.amount { problems.append("hold \(hold.id) captured more than its leg on \(leg.credit)") }
                if hold.state == .pending {
                    guard let sum = checkedSum(heldByCredit[leg.credit, default: .zero], leg.amount.value) else {
                        problems.append("credit \(leg.credit): pending hold legs overflow")
                        continue
                    }
                    heldByCredit[leg.credit] = sum
                    pendingByCredit[leg.credit, default: 0] += 1
                }
            }
        }
        for id in state.credits.keys.sorted() {
            problems += audit(state.credits[id]!, held: heldByCredit[id] ?? .zero, pending: pendingByCredit[id] ?? 0)
        }
        return problems
    }

    private func audit(_ credit: Credit, held: MinorUnits, pending: Int) -> [String] {
        var problems: [String] = []
        let name = "credit \(credit.id)"
        if credit.held != held { problems.append("\(name): held \(credit.held.value) but pending legs sum to \(held.value)") }
        if credit.pendingHoldCount != pending {
            problems.append("\(name): counts \(credit.pendingHoldCount) pending holds, the holds \(pending)")
        }
        if credit.available < .zero || credit.balance > credit.currency.balanceMax {
            problems.append("\(name): balance \(credit.balance.value) outside 0...\(credit.currency.balanceMax.value) or overdrawn")
        }
        var balance = MinorUnits.zero
        for activity in credit.history {
            guard let change = balanceChange(activity), let next = checkedSum(balance, change) else {
                problems.append("\(name): history seq \(activity.seq) amount \(activity.amount.value) is out of range")
                return problems
            }
            balance = next
            if balance != activity.balanceAfter {
                problems.append("\(name): history seq \(activity.seq) says balance \(activity.balanceAfter.value), the chain gives \(balance.value)")
                balance = activity.balanceAfter
            }
        }
        if balance != credit.balance { problems.append("\(name): balance \(credit.balance.value) but history ends at \(balance.value)") }
        return problems
    }

    /// How an activity changes a balance, in minor units; nil if it cannot be negated.
    private func balanceChange(_ activity: Activity) -> Int64? {
        switch activity.kind {
        case .issue, .bonus, .load, .refund, .splitIn, .reversal: return activity.amount.value
        case .capture, .cancel, .breakage, .split:
            let (negated, overflow) = Int64(0).subtractingReportingOverflow(activity.amount.value)
            return overflow ? nil : negated
        case .stock, .hold, .void, .expire, .freeze, .unfreeze, .replace, .transfer, .revert, .lock, .unlock: return 0
        }
    }

    /// `a + b`, or nil on overflow: the audit reads untrusted state and must report, not trap.
    private func checkedSum(_ a: MinorUnits, _ b: Int64) -> MinorUnits? {
        let (sum, overflow) = a.value.addingReportingOverflow(b)
        return overflow ? nil : MinorUnits(sum)
    }
}
