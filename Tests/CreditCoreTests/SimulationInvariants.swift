// The simulation's invariants and money model: what must hold of every credit and hold after every step, the flows of money in and out that the balances must add up to exactly, and a shadow of every credit (owner, card, claim, revert, PIN lock, history) kept from the events alone.

import CreditCore

/// Money into and out of credits, per currency code, as the applied events say. Transfers, splits,
/// claims and reverts move value between owners and credits; they create and destroy none.
struct MoneyFlows {
    /// Issued, including store credit bonus (and store credit issued instead of a refund onto a closed credit).
    var issued: [String: Int64] = [:]
    /// ACTIVATE and LOAD.
    var loaded: [String: Int64] = [:]
    var refunded: [String: Int64] = [:]
    /// Σ of REVERSE's balance deltas (negative: value taken back).
    var reversed: [String: Int64] = [:]
    var captured: [String: Int64] = [:]
    /// Balances of cancelled credits.
    var writtenOff: [String: Int64] = [:]
    /// Balances of expired credits.
    var breakage: [String: Int64] = [:]

    /// Σ balances that the flows allow in `code`.
    func expectedTotal(_ code: String) -> Int64 {
        issued[code, default: 0] + loaded[code, default: 0] + refunded[code, default: 0] + reversed[code, default: 0]
            - captured[code, default: 0] - writtenOff[code, default: 0] - breakage[code, default: 0]
    }
}

/// What the model knows of one credit, kept from the events alone and compared with the ledger's
/// record after every step.
struct ShadowCredit {
    let currency: Currency
    let type: CreditType
    let expires: CivilDate?
    let purchaser: ProfileID?
    var status: CreditStatus
    var balance: Int64
    var profile: ProfileID?
    var card: CardKeys?
    var claim: Digest32?
    var revertAt: Instant?
    /// The smart revert's deadline as first set: what the ledger's revert heap is keyed by.
    let revertDue: Instant?
    /// Entries the live ledger's revert heap holds for this credit (its issue, and each time its
    /// last pending hold resolved while the revert was still set).
    var revertEntries: Int
    var pinFailures = 0
    var lockedUntil: Instant?
    var pending: Set<HoldID> = []
    var history: [Activity]

    init(_ credit: Credit) {
        currency = credit.currency
        type = credit.type
        expires = credit.expires
        purchaser = credit.purchaser
        status = credit.status
        balance = credit.balance.value
        profile = credit.profile
        card = credit.card
        claim = credit.claim
        revertAt = credit.revertAt
        revertDue = credit.revertAt
        revertEntries = credit.revertAt == nil ? 0 : 1
        pinFailures = credit.pinFailures
        lockedUntil = credit.lockedUntil
        precondition(credit.pendingHoldCount == 0, "the model starts from credits with no pending hold")
        history = credit.history
    }

    init(_ issued: IssuedCredit, currency: Currency, at: Instant, ref: Ref?) {
        self.currency = currency
        type = issued.type
        expires = issued.expires
        purchaser = issued.purchaser
        status = issued.status
        balance = (issued.amount + issued.bonus).value
        profile = issued.profile
        card = issued.card
        claim = issued.claim
        revertAt = issued.revertAt
        revertDue = issued.revertAt
        revertEntries = issued.revertAt == nil ? 0 : 1
        history = [Activity(seq: 1, at: at, kind: issued.status == .inactive ? .stock : .issue, amount: issued.amount,
                            balanceAfter: issued.amount, hold: nil, ref: ref)]
        if issued.bonus > .zero {
            history.append(Activity(seq: 2, at: at, kind: .bonus, amount: issued.bonus,
                                    balanceAfter: MinorUnits(balance), hold: nil, ref: ref))
        }
    }

    /// Appends the activity the ledger must record, with the next seq and the shadow's balance.
    mutating func expect(_ kind: ActivityKind, _ amount: MinorUnits, at: Instant, ref: Ref?, hold: HoldID? = nil,
                         sale: SaleAmount? = nil, reason: String? = nil) {
        history.append(Activity(seq: UInt32(history.count + 1), at: at, kind: kind, amount: amount,
                                balanceAfter: MinorUnits(balance), hold: hold, ref: ref, sale: sale, reason: reason))
    }
}

extension Simulation {
    /// Keeps the model in step with an applied entry; `before` is the state it was applied to.
    mutating func record(_ entry: Entry, before: LedgerState) throws {
        entries.append(entry)
        let lsn = try disk.append(entry)
        replica.apply(entry)
        var touched: Set<CreditID> = []
        for event in entry.events {
            try account(event, entry, before: before, touched: &touched)
            switch event {
            case .held(let placed):
                touchedHolds.insert(placed.hold)
                holdDeadlines[placed.hold] = placed.deadline
            case .captured(let id, _), .voided(let id), .expired(let id): touchedHolds.insert(id)
            default: break
            }
        }
        touchedCredits.formUnion(touched)
        for id in touched {
            let actual = live.state.credits[id]?.history ?? []
            let expected = shadow[id]!.history
            try ensure(actual == expected, "\(id) history ends \(actual.suffix(3)), the model expects \(expected.suffix(3))")
        }
        if entry.at > lastAt { lastAt = entry.at }
        if let record = entry.idempotency {
            remembered[ModelKey(client: record.client.text, ref: record.ref.text)] =
                RememberedRef(at: entry.at, fingerprint: record.fingerprint, reply: record.reply, action: record.action)
        }
        let cutoff = lastAt.millis - policy.refWindow.value * 1000
        remembered = remembered.filter { $0.value.at.millis > cutoff }
        forgetHolds(cutoff: cutoff)
        if crashWindow != nil { checkpoints[lsn] = checkpoint() }
    }

    /// Forgets, in the model, the ended holds whose deadline is at or before `cutoff` (the last
    /// instant minus the ref window), lowest number first, up to the first that must stay.
    mutating func forgetHolds(cutoff: Int64) {
        let highest = holdDeadlines.keys.map(\.number).max() ?? 0
        while holdsKeptFrom <= highest {
            let id = HoldID(holdsKeptFrom)
            if let deadline = holdDeadlines[id] {
                guard !pendingHolds.contains(id), deadline.millis <= cutoff else { return }
                holdDeadlines[id] = nil
                resolved[id] = nil
                tally["hold-forgotten", default: 0] += 1
            }
            holdsKeptFrom += 1
        }
    }

    /// Books one event's money and predicts what it does to the credits' shadows and histories.
    mutating func account(_ event: Event, _ entry: Entry, before: LedgerState, touched: inout Set<CreditID>) throws {
        let (at, ref) = (entry.at, entry.idempotency?.ref)
        switch event {
        case .issued(let issued):
            let currency = policy.currencies[issued.currency]!
            money.issued[issued.currency, default: 0] += (issued.amount + issued.bonus).value
            shadow[issued.credit] = ShadowCredit(issued, currency: currency, at: at, ref: ref)
            touched.insert(issued.credit)
        case .held(let placed):
            pendingHolds.insert(placed.hold)
            for leg in placed.legs {
                shadow[leg.credit]!.pending.insert(placed.hold)
                shadow[leg.credit]!.expect(.hold, leg.amount, at: at, ref: ref, hold: placed.hold)
                touched.insert(leg.credit)
            }
        case .captured(let id, let legs):
            let hold = before.holds[id]!
            pendingHolds.remove(id)
            for (leg, take) in zip(hold.legs, legs) {
                var credit = shadow[leg.credit]!
                credit.pending.remove(id)
                if take.amount == .zero {
                    credit.expect(.void, leg.amount, at: at, ref: ref, hold: id)  // the capture did not reach this leg
                } else {
                    money.captured[credit.currency.code, default: 0] += take.amount.value
                    credit.balance -= take.amount.value
                    credit.revertAt = nil  // the recipient redeemed some of it: no revert
                    let sale = leg.rate.map { SaleAmount(amount: take.covers, currency: hold.currency, rate: $0) }
                    credit.expect(.capture, take.amount, at: at, ref: ref, hold: id, sale: sale)
                }
                shadow[leg.credit] = credit
                touched.insert(leg.credit)
            }
            reinsertReverts(hold)
        case .voided(let id), .expired(let id):
            let hold = before.holds[id]!
            let kind: ActivityKind = if case .voided = event { .void } else { .expire }
            pendingHolds.remove(id)
            for leg in hold.legs {
                shadow[leg.credit]!.pending.remove(id)
                shadow[leg.credit]!.expect(kind, leg.amount, at: at, ref: ref, hold: id)
                touched.insert(leg.credit)
            }
            reinsertReverts(hold)
        case .refunded(let id, let amount):
            money.refunded[shadow[id]!.currency.code, default: 0] += amount.value
            shadow[id]!.balance += amount.value
            shadow[id]!.expect(.refund, amount, at: at, ref: ref)
            touched.insert(id)
        case .frozen(let id, let reason), .unfrozen(let id, let reason):
            let frozen = if case .frozen = event { true } else { false }
            shadow[id]!.status = frozen ? .frozen : .active
            shadow[id]!.expect(frozen ? .freeze : .unfreeze, .zero, at: at, ref: ref, reason: reason)
            touched.insert(id)
        case .cancelled(let id, let reason):
            let written = shadow[id]!.balance
            money.writtenOff[shadow[id]!.currency.code, default: 0] += written
            close(id, to: .cancelled, kind: .cancel, MinorUnits(written), at: at, ref: ref, reason: reason)
            touched.insert(id)
        case .creditExpired(let id):
            let broken = shadow[id]!.balance
            money.breakage[shadow[id]!.currency.code, default: 0] += broken
            close(id, to: .expired, kind: .breakage, MinorUnits(broken), at: at, ref: ref, reason: nil)
            touched.insert(id)
        default:
            try accountGift(event, at: at, ref: ref, touched: &touched)
        }
    }

    /// The gift card, REVERSE and PIN events.
    mutating func accountGift(_ event: Event, at: Instant, ref: Ref?, touched: inout Set<CreditID>) throws {
        switch event {
        case .loaded(let id, let amount, let activate):
            money.loaded[shadow[id]!.currency.code, default: 0] += amount.value
            if activate { shadow[id]!.status = .active }
            shadow[id]!.balance += amount.value
            shadow[id]!.expect(.load, amount, at: at, ref: ref)
            touched.insert(id)
        case .cardReplaced(let id, let keys):
            if let old = shadow[id]!.card { retiredCards.append(old.cardDigest) }
            shadow[id]!.card = keys
            shadow[id]!.pinFailures = 0
            shadow[id]!.lockedUntil = nil
            shadow[id]!.expect(.replace, .zero, at: at, ref: ref)
            touched.insert(id)
        case .transferred(let id, let profile, let claimed):
            shadow[id]!.profile = profile
            if claimed { shadow[id]!.claim = nil }
            shadow[id]!.expect(.transfer, .zero, at: at, ref: ref, reason: "to \(profile)")
            touched.insert(id)
        case .split(let id, let newID, let amount, let profile):
            var source = shadow[id]!
            source.balance -= amount.value
            source.expect(.split, amount, at: at, ref: ref, reason: "to \(newID)")
            shadow[id] = source
            let issued = IssuedCredit(credit: newID, type: .gift, currency: source.currency.code, amount: amount,
                                      expires: source.expires, profile: profile, card: nil)
            var split = ShadowCredit(issued, currency: source.currency, at: at, ref: ref)
            split.history = []
            split.expect(.splitIn, amount, at: at, ref: ref, reason: "from \(id)")
            shadow[newID] = split
            touched.formUnion([id, newID])
        case .reverted(let id):
            var credit = shadow[id]!
            if let old = credit.card { retiredCards.append(old.cardDigest) }
            credit.profile = credit.purchaser
            credit.card = nil
            credit.claim = nil
            credit.revertAt = nil
            credit.expect(.revert, MinorUnits(credit.balance), at: at, ref: ref, reason: "to \(credit.purchaser!)")
            shadow[id] = credit
            touched.insert(id)
        case .reversal(let id, let delta):
            money.reversed[shadow[id]!.currency.code, default: 0] += delta.value
            shadow[id]!.balance += delta.value
            shadow[id]!.expect(.reversal, delta, at: at, ref: ref)
            touched.insert(id)
        case .tombstone(let client, let original):
            remembered[ModelKey(client: client.text, ref: original.text)] =
                RememberedRef(at: at, fingerprint: Digest32(w0: 0, w1: 0, w2: 0, w3: 0), reply: Reply(fields: []), action: .tombstone)
        case .markReversed(let client, let original):
            let key = ModelKey(client: client.text, ref: original.text)
            try ensure(remembered[key] != nil, "marking unknown ref \(original) reversed")
            remembered[key]!.action = .none
        case .cardDeclined(let id?):
            touched.insert(id)
            shadow[id]!.pinFailures += 1
            if shadow[id]!.pinFailures >= policy.pinAttemptsMax {
                shadow[id]!.pinFailures = 0
                shadow[id]!.lockedUntil = at.adding(policy.pinLockout)
                shadow[id]!.expect(.lock, .zero, at: at, ref: ref, reason: "\(policy.pinAttemptsMax) wrong PINs")
                tally["lock", default: 0] += 1
            }
        case .cardDeclined(nil):
            throw SimulationFailure(description: "an unknown card was recorded the old way, without its digest")
        case .unknownCardDeclined(let digest):
            try ensure(creditWithCard(digest) == nil, "a decoy counted for a card that exists")
            var decoy = decoys[digest] ?? ModelDecoy(lastFailureAt: at)
            decoy.failures += 1
            decoy.lastFailureAt = at
            if decoy.failures == policy.pinAttemptsMax {
                decoy.failures = 0
                decoy.lockedUntil = at.adding(policy.pinLockout)
                tally["decoy-lock", default: 0] += 1
            }
            decoys[digest] = decoy
        case .pinReset(let id):
            touched.insert(id)
            if let until = shadow[id]!.lockedUntil, at < until {
                shadow[id]!.expect(.unlock, .zero, at: at, ref: ref)
            }
            shadow[id]!.pinFailures = 0
            shadow[id]!.lockedUntil = nil
        default:
            throw SimulationFailure(description: "unaccounted event \(event)")
        }
    }

    /// Cancel or expiry: the whole balance goes, as the credit's last activity.
    mutating func close(_ id: CreditID, to status: CreditStatus, kind: ActivityKind, _ amount: MinorUnits, at: Instant,
                        ref: Ref?, reason: String?) {
        shadow[id]!.status = status
        shadow[id]!.balance = 0
        shadow[id]!.expect(kind, amount, at: at, ref: ref, reason: reason)
    }

    /// A smart card whose last pending hold just resolved goes back into the ledger's revert heap.
    mutating func reinsertReverts(_ hold: Hold) {
        for leg in hold.legs where shadow[leg.credit]!.revertAt != nil && shadow[leg.credit]!.pending.isEmpty {
            shadow[leg.credit]!.revertEntries += 1
        }
    }

    // MARK: Invariants

    /// After every step: the credits and holds this step changed are checked in full (the replica
    /// fed every entry must match the live state, so nothing else changed); money is conserved per
    /// currency; the pending holds and refs are what the model says; the ledger's audit finds nothing.
    mutating func checkInvariants(full: Bool = true) throws {
        let state = live.state
        let listed = state.pendingHoldsByCredit()
        for id in touchedHolds.sorted() {
            guard id.number >= holdsKeptFrom else {
                try ensure(!state.holds.contains(id), "\(id) ended a ref window before its deadline and is still kept")
                continue
            }
            guard let hold = state.holds[id] else { throw SimulationFailure(description: "\(id) was forgotten too early") }
            try checkHold(hold, state)
        }
        try ensure(holdsKeptFrom == 1 || !state.holds.contains(HoldID(holdsKeptFrom - 1)), "hd_\(holdsKeptFrom - 1) is still kept")
        try ensure(holdDeadlines[HoldID(holdsKeptFrom)] == nil || state.holds.contains(HoldID(holdsKeptFrom)),
                   "hd_\(holdsKeptFrom) was forgotten too early")
        for id in touchedCredits.sorted() {
            guard let credit = state.credits[id] else { throw SimulationFailure(description: "\(id) is missing") }
            let pending = shadow[id]?.pending ?? []
            let held = pending.reduce(MinorUnits.zero) { sum, hold in
                sum + (state.holds[hold]?.legs.first { $0.credit == id }?.amount ?? .zero)
            }
            try ensure(pending.allSatisfy { state.holds[$0]?.state == .pending }, "\(id) lists a resolved hold as pending")
            try checkCredit(credit, held: held, pendingHolds: pending, listed: listed[id] ?? [])
        }
        touchedHolds = []
        touchedCredits = []
        var balances: [String: Int64] = [:]
        try ensure(state.credits.count == shadow.count, "\(state.credits.count) credits, the model has \(shadow.count)")
        for credit in state.credits.values { balances[credit.currency.code, default: 0] += credit.balance.value }
        try ensure(pendingHolds.count == live.pendingHoldCount, "\(pendingHolds.count) pending holds, count \(live.pendingHoldCount)")
        for code in ["AUD", "JPY", "KWD"] {
            try ensure(balances[code, default: 0] == money.expectedTotal(code),
                       "\(code) balances sum to \(balances[code, default: 0]); issued + loaded + refunded + reversed "
                           + "− captured − written off − breakage is \(money.expectedTotal(code)): \(money)")
        }
        try ensure(live.refCount == remembered.count, "ledger remembers \(live.refCount) refs, the model \(remembered.count)")
        try checkDecoys(state)
        guard full || auditDue else { return }
        auditDue = false
        let problems = live.auditProblems
        try ensure(problems.isEmpty, "audit: \(problems)")
    }

    /// The ledger's decoy locks are the model's, one for one (the simulation tries far fewer
    /// unknown numbers than the cap, so none is ever pruned).
    func checkDecoys(_ state: LedgerState) throws {
        try ensure(decoys.count < policy.decoysMax, "the simulation reached the decoy cap")
        try ensure(state.decoys.count == decoys.count, "\(state.decoys.count) decoys, the model has \(decoys.count)")
        for (digest, model) in decoys {
            let decoy = state.decoys[digest]
            try ensure(decoy?.failures == model.failures && decoy?.lockedUntil == model.lockedUntil
                           && decoy?.lastFailureAt == model.lastFailureAt,
                       "decoy \(String(describing: decoy)), the model: \(model)")
        }
    }

    /// available = balance − held ≥ 0; held = Σ its pending legs; marketing within balance; a closed
    /// credit holds nothing; balance, status, owner, card, claim, revert, PIN state and history length
    /// are what the model's shadow says.
    /// `listed` is what the holds table says is pending on it (`LedgerState.pendingHolds(of:)`).
    func checkCredit(_ credit: Credit, held: MinorUnits, pendingHolds: Set<HoldID>, listed: [HoldID]) throws {
        let id = credit.id
        try ensure(credit.available == credit.balance - credit.held && credit.available >= .zero,
                   "\(id): balance \(credit.balance.value) held \(credit.held.value)")
        try ensure(credit.balance <= credit.currency.balanceMax, "\(id) over its maximum")
        try ensure(credit.held == held, "\(id) held \(credit.held.value), its pending legs sum to \(held.value)")
        try ensure(Set(listed) == pendingHolds && listed.count == pendingHolds.count && listed == listed.sorted()
                       && credit.pendingHoldCount == pendingHolds.count,
                   "\(id) counts \(credit.pendingHoldCount) pending holds, the holds list \(listed), "
                       + "pending holds with legs on it are \(pendingHolds.sorted())")
        try ensure(credit.marketing >= .zero && credit.marketing <= credit.balance
                   && (credit.type == .store || credit.marketing == .zero), "\(id) marketing \(credit.marketing.value)")
        if credit.status == .cancelled || credit.status == .expired {
            try ensure(credit.balance == .zero && credit.held == .zero && credit.marketing == .zero, "closed \(id) holds value")
        }
        try ensure((credit.type == .promo) == (credit.campaign != nil),
                   "\(id) \(credit.type) with campaign \(String(describing: credit.campaign))")
        try ensure(credit.history.last?.balanceAfter == credit.balance, "\(id) history out of step")
        guard let model = shadow[id] else { throw SimulationFailure(description: "\(id) is not in the model") }
        try ensure(credit.balance.value == model.balance, "\(id) balance \(credit.balance.value), the flows say \(model.balance)")
        try ensure(credit.status == model.status && credit.profile == model.profile && credit.purchaser == model.purchaser,
                   "\(id) \(credit.status) of \(String(describing: credit.profile)), "
                       + "the model: \(model.status) of \(String(describing: model.profile))")
        try ensure(credit.card == model.card && credit.claim == model.claim && credit.revertAt == model.revertAt,
                   "\(id) card, claim or revert differ from the model")
        try ensure(credit.pinFailures == model.pinFailures && credit.lockedUntil == model.lockedUntil,
                   "\(id) \(credit.pinFailures) wrong PINs locked until \(String(describing: credit.lockedUntil)), "
                       + "the model: \(model.pinFailures) until \(String(describing: model.lockedUntil))")
        try ensure(Set(listed) == model.pending && credit.history.count == model.history.count,
                   "\(id) pending holds or history length differ from the model")
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
            try ensure(prior.state == hold.state && prior.captured == Array(hold.captured),
                       "\(id) changed from \(prior.state) to \(hold.state) after resolving")
        } else if hold.state != .pending {
            resolved[id] = (hold.state, Array(hold.captured))
        }
    }
}
