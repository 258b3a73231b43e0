// The simulation's invariants and money model: what must hold of every credit and hold after every step, and the flows of money in and out that the balances must add up to exactly.

import CreditCore

/// Money into and out of credits, per currency code and per credit, as the applied events say.
struct MoneyFlows {
    /// Issued, including store credit bonus.
    var issued: [String: Int64] = [:]
    var refunded: [String: Int64] = [:]
    var captured: [String: Int64] = [:]
    /// Balances of cancelled credits.
    var writtenOff: [String: Int64] = [:]
    /// Balances of expired credits.
    var breakage: [String: Int64] = [:]
    /// The balance each credit must have.
    var balance: [CreditID: Int64] = [:]

    /// Σ balances that the flows allow in `code`.
    func expectedTotal(_ code: String) -> Int64 {
        issued[code, default: 0] + refunded[code, default: 0] - captured[code, default: 0]
            - writtenOff[code, default: 0] - breakage[code, default: 0]
    }
}

extension Simulation {
    /// Keeps the model in step with an applied entry; `before` is the state it was applied to.
    mutating func record(_ entry: Entry, before: LedgerState) throws {
        entries.append(entry)
        for event in entry.events { try account(event, before: before) }
        if entry.at > lastAt { lastAt = entry.at }
        if let record = entry.idempotency {
            remembered[ModelKey(client: record.client.text, ref: record.ref.text)] =
                RememberedRef(at: entry.at, fingerprint: record.fingerprint, reply: record.reply)
        }
        let cutoff = lastAt.millis - policy.refWindow.value * 1000
        remembered = remembered.filter { $0.value.at.millis > cutoff }
    }

    /// Books one event's money, and checks the activity a write-off left.
    mutating func account(_ event: Event, before: LedgerState) throws {
        switch event {
        case .issued(let issued):
            money.issued[issued.currency, default: 0] += (issued.amount + issued.bonus).value
            money.balance[issued.credit] = (issued.amount + issued.bonus).value
            if let card = issued.card { cards[issued.credit] = card }
        case .captured(let id, let legs):
            for (leg, take) in zip(before.holds[id]!.legs, legs) {
                money.captured[before.credits[leg.credit]!.currency.code, default: 0] += take.amount.value
                money.balance[leg.credit, default: 0] -= take.amount.value
            }
        case .refunded(let id, let amount):
            money.refunded[before.credits[id]!.currency.code, default: 0] += amount.value
            money.balance[id, default: 0] += amount.value
        case .cancelled(let id, let reason):
            let credit = before.credits[id]!
            money.writtenOff[credit.currency.code, default: 0] += credit.balance.value
            money.balance[id] = 0
            try checkClosing(id, kind: .cancel, amount: credit.balance, reason: reason)
        case .creditExpired(let id):
            let credit = before.credits[id]!
            money.breakage[credit.currency.code, default: 0] += credit.balance.value
            money.balance[id] = 0
            try checkClosing(id, kind: .breakage, amount: credit.balance, reason: nil)
        case .held, .voided, .expired, .frozen, .unfrozen:
            break
        }
    }

    /// A closed credit's last activity writes off exactly what it had.
    func checkClosing(_ id: CreditID, kind: ActivityKind, amount: MinorUnits, reason: String?) throws {
        let last = live.state.credits[id]!.history.last!
        try ensure(last.kind == kind && last.amount == amount && last.balanceAfter == .zero && last.reason == reason,
                   "\(id) closed with \(last), expected \(kind) of \(amount.value)")
    }

    // MARK: Invariants

    mutating func checkInvariants() throws {
        let state = live.state
        var held: [CreditID: MinorUnits] = [:]
        var holdsOf: [CreditID: Set<HoldID>] = [:]
        var pending = 0
        for hold in state.holds.values {
            try checkHold(hold, state)
            guard hold.state == .pending else { continue }
            pending += 1
            for leg in hold.legs {
                held[leg.credit, default: .zero] += leg.amount
                holdsOf[leg.credit, default: []].insert(hold.id)
            }
        }
        var balances: [String: Int64] = [:]
        for credit in state.credits.values {
            try checkCredit(credit, held: held[credit.id] ?? .zero, pendingHolds: holdsOf[credit.id] ?? [])
            balances[credit.currency.code, default: 0] += credit.balance.value
        }
        try ensure(pending == live.pendingHoldCount, "\(pending) pending holds, count \(live.pendingHoldCount)")
        for code in ["AUD", "JPY", "KWD"] {
            try ensure(balances[code, default: 0] == money.expectedTotal(code),
                       "\(code) balances sum to \(balances[code, default: 0]); "
                           + "issued + refunded − captured − written off − breakage is \(money.expectedTotal(code))")
        }
        try ensure(live.refCount == remembered.count, "ledger remembers \(live.refCount) refs, the model \(remembered.count)")
    }

    /// available = balance − held ≥ 0; held = Σ its pending legs; marketing within balance; a closed
    /// credit holds nothing; the balance is what the flows say; history is numbered and ends at the balance.
    func checkCredit(_ credit: Credit, held: MinorUnits, pendingHolds: Set<HoldID>) throws {
        let id = credit.id
        try ensure(credit.available == credit.balance - credit.held && credit.available >= .zero,
                   "\(id): balance \(credit.balance.value) held \(credit.held.value)")
        try ensure(credit.balance <= credit.currency.balanceMax, "\(id) over its maximum")
        try ensure(credit.held == held, "\(id) held \(credit.held.value), its pending legs sum to \(held.value)")
        try ensure(Set(credit.pendingHolds) == pendingHolds && credit.pendingHolds.count == pendingHolds.count,
                   "\(id) lists \(credit.pendingHolds), pending holds with legs on it are \(pendingHolds.sorted())")
        try ensure(credit.marketing >= .zero && credit.marketing <= credit.balance
                   && (credit.type == .store || credit.marketing == .zero), "\(id) marketing \(credit.marketing.value)")
        try ensure(credit.balance.value == money.balance[id, default: 0],
                   "\(id) balance \(credit.balance.value), the flows say \(money.balance[id, default: 0])")
        if credit.status == .cancelled || credit.status == .expired {
            try ensure(credit.balance == .zero && credit.held == .zero && credit.marketing == .zero, "closed \(id) holds value")
        }
        try ensure((credit.type == .promo) == (credit.campaign != nil),
                   "\(id) \(credit.type) with campaign \(String(describing: credit.campaign))")
        try ensure(credit.history.enumerated().allSatisfy { $0.element.seq == UInt32($0.offset + 1) }
                   && credit.history.last?.balanceAfter == credit.balance, "\(id) history out of step")
    }

    /// 1...legsMax legs on distinct credits; each leg positive, FX legs exactly ⌈covers / rate⌉ and
    /// never covering more than they are worth; Σ covers ≤ requested; captured ≤ leg amount per
    /// leg; captured state exactly when something was taken; a resolved hold never changes.
    mutating func checkHold(_ hold: Hold, _ state: LedgerState) throws {
        let id = hold.id
        try ensure((1...LedgerPolicy.legsMax).contains(hold.legs.count)
                   && Set(hold.legs.map(\.credit)).count == hold.legs.count, "\(id) legs \(hold.legs)")
        let sale = policy.currencies[hold.currency]!
        for leg in hold.legs {
            let source = state.credits[leg.credit]!.currency
            try ensure(leg.amount > .zero && leg.covers > .zero, "\(id) leg \(leg)")
            if let rate = leg.rate {
                try ensure(source.code != sale.code && rate == policy.rates.rate(from: source.code, to: sale.code)
                           && leg.amount == modelCreditNeeded(leg.covers, rate: rate, from: source, to: sale)
                           && leg.covers <= modelWorth(leg.amount, rate: rate, from: source, to: sale),
                           "\(id) FX leg \(leg) from \(source.code) to \(sale.code)")
            } else {
                try ensure(source.code == sale.code && leg.amount == leg.covers, "\(id) leg \(leg) in \(source.code)")
            }
        }
        try ensure(hold.amount <= hold.requested, "\(id) covers \(hold.amount.value) of \(hold.requested.value)")
        try ensure(hold.captured.count == hold.legs.count
                   && zip(hold.legs, hold.captured).allSatisfy { $1 >= .zero && $1 <= $0.amount }, "\(id) captured \(hold.captured)")
        let taken = hold.captured.reduce(MinorUnits.zero, +)
        try ensure((hold.state == .captured) == (taken > .zero), "\(id) \(hold.state) captured \(hold.captured)")
        if let prior = resolved[id] {
            try ensure(prior.state == hold.state && prior.captured == hold.captured,
                       "\(id) changed from \(prior.state) to \(hold.state) after resolving")
        } else if hold.state != .pending {
            resolved[id] = (hold.state, hold.captured)
        }
    }
}
