// Tender: planning which credits cover a sale (with FX), holding, capturing and voiding.

/// How a sale would be covered: the legs in order, and what is left for cash or card.
struct TenderPlan {
    let sale: Currency
    let requested: MinorUnits
    let legs: [HoldLeg]
    /// The single credit named by `credit=` or `card=`, nil for a profile tender: what the reply
    /// needs of it, not the whole credit, which would be copied with the plan.
    let single: SingleTender?

    var covered: MinorUnits { legs.reduce(.zero) { $0 + $1.covers } }
    var remaining: MinorUnits { requested - covered }
}

/// The credit a single-credit tender names, as it was when planned.
struct SingleTender {
    let id: CreditID
    let currency: Currency
    let available: MinorUnits
}

extension Ledger {
    /// Plans a HOLD or QUOTE: which credits cover how much, converting with FX rates where the
    /// credit's currency is not the sale's. All or nothing unless `partial`.
    func plan(_ command: HoldCommand, now: Instant) -> Result<TenderPlan, CreditError> {
        let sale: Currency
        let requested: MinorUnits
        switch money(command.amount, command.currency) {
        case .failure(let error): return .failure(error)
        case .success(let pair): (sale, requested) = pair
        }
        let legs: [HoldLeg]
        var single: SingleTender?
        if case .profile(let profile) = command.selector {
            legs = fill(requested, sale: sale, from: tenderCandidates(profile, sale: sale, now: now))
        } else {
            // Bound once, not unwrapped at each use (each copied it); the plan keeps three fields.
            let credit: Credit
            switch resolve(command.selector) {
            case .failure(let error): return .failure(error)
            case .success(let resolved): credit = resolved
            }
            if let error = unusable(credit, now: now) { return .failure(error) }
            if credit.currency.code != sale.code && policy.rates.rate(from: credit.currency.code, to: sale.code) == nil {
                return .failure(CreditError(.noRate, "no rate from \(credit.currency.code) to \(sale.code)"))
            }
            guard credit.pendingHoldCount < policy.holdsPerCreditMax else {
                return .failure(CreditError(.tooManyHolds, "credit has \(policy.holdsPerCreditMax) pending holds"))
            }
            var remaining = requested
            var one: [HoldLeg] = []
            appendLeg(for: credit, sale: sale, remaining: &remaining, to: &one)
            legs = one
            single = SingleTender(id: credit.id, currency: credit.currency, available: credit.available)
        }
        let plan = TenderPlan(sale: sale, requested: requested, legs: legs, single: single)
        guard plan.covered > .zero, command.partial || plan.remaining == .zero else {
            return .failure(CreditError(.insufficientFunds, "credits cover \(text(plan.covered, sale)) of \(text(requested, sale)) \(sale.code)"))
        }
        return .success(plan)
    }

    /// A profile's credits that can pay in `sale`'s currency now, in tender order.
    private func tenderCandidates(_ profile: ProfileID, sale: Currency, now: Instant) -> [Credit] {
        // A gift card kept for an unknown recipient is theirs once claimed: not the purchaser's tender.
        let usable = (profileIndex[profile] ?? []).compactMap { state.credits[$0] }.filter { credit in
            unusable(credit, now: now) == nil && credit.available > .zero && credit.claim == nil
                && credit.pendingHoldCount < policy.holdsPerCreditMax
                && (credit.currency.code == sale.code || policy.rates.rate(from: credit.currency.code, to: sale.code) != nil)
        }
        return usable.sorted { tenderPrecedes($0, $1, sale: sale) }
    }

    /// The configured tender order; ties end with the credit id, so plans are deterministic.
    /// Balances are compared by what they are worth in the sale's currency.
    private func tenderPrecedes(_ a: Credit, _ b: Credit, sale: Currency) -> Bool {
        for key in policy.tenderOrder.keys {
            switch key {
            case .expiry:
                let (ea, eb) = (a.expires?.daysSinceEpoch ?? Int64.max, b.expires?.daysSinceEpoch ?? Int64.max)
                if ea != eb { return ea < eb }
            case .type:
                let order = policy.tenderOrder.types
                let (ta, tb) = (order.firstIndex(of: a.type) ?? order.count, order.firstIndex(of: b.type) ?? order.count)
                if ta != tb { return ta < tb }
            case .balance:
                let (va, vb) = (saleValue(a, sale: sale), saleValue(b, sale: sale))
                if va != vb { return va < vb }
            }
        }
        return a.id < b.id
    }

    /// What a credit's available balance covers of a sale in `sale`'s currency.
    private func saleValue(_ credit: Credit, sale: Currency) -> MinorUnits {
        guard credit.currency.code != sale.code, let rate = policy.rates.rate(from: credit.currency.code, to: sale.code) else {
            return credit.available
        }
        return rate.covered(credit.available, from: credit.currency, to: sale)
    }

    /// Legs covering as much of `requested` as the candidates can, in order.
    private func fill(_ requested: MinorUnits, sale: Currency, from candidates: [Credit]) -> [HoldLeg] {
        var legs: [HoldLeg] = []
        var remaining = requested
        for credit in candidates where remaining > .zero && legs.count < LedgerPolicy.legsMax {
            appendLeg(for: credit, sale: sale, remaining: &remaining, to: &legs)
        }
        return legs
    }

    /// Appends the leg taking what `credit` can cover of `remaining` (converted at the
    /// configured rate if its currency is not the sale's), if it covers anything, and lowers
    /// `remaining` by it. The credit's currency must have a rate to the sale's if it differs.
    private func appendLeg(for credit: borrowing Credit, sale: Currency, remaining: inout MinorUnits, to legs: inout [HoldLeg]) {
        guard remaining > .zero else { return }
        if credit.currency.code == sale.code {
            let take = min(credit.available, remaining)
            legs.append(HoldLeg(credit: credit.id, amount: take, covers: take, rate: nil))
            remaining -= take
            return
        }
        let rate = policy.rates.rate(from: credit.currency.code, to: sale.code)!
        let cover = min(rate.covered(credit.available, from: credit.currency, to: sale), remaining)
        guard cover > .zero, let amount = rate.creditNeeded(cover, from: credit.currency, to: sale) else { return }
        precondition(amount <= credit.available, "FX rounding never takes more than is available")
        legs.append(HoldLeg(credit: credit.id, amount: amount, covers: cover, rate: rate))
        remaining -= cover
    }

    func decideHold(_ command: HoldCommand, now: Instant) -> Result<Decision, CreditError> {
        let ttl = command.ttl ?? policy.holdTTLDefault
        guard ttl <= policy.holdTTLMax else {
            return .failure(CreditError(.badRequest, "ttl exceeds the maximum of \(policy.holdTTLMax.ttlText)"))
        }
        let plan: TenderPlan
        switch self.plan(command, now: now) {
        case .failure(let error): return .failure(error)
        case .success(let made): plan = made
        }
        var deadline = now.adding(ttl).roundedUpToSecond
        for leg in plan.legs {
            guard let expires = state.credits.withValueAddress(leg.credit, { $0.pointee.expires }) else {
                preconditionFailure("a planned leg names credit \(leg.credit), which is not in the ledger")
            }
            if let expires, expires.endInstant < deadline { deadline = expires.endInstant }
        }
        let id = HoldID(state.lastHoldNumber + 1)
        let placed = PlacedHold(hold: id, currency: plan.sale.code, requested: plan.requested, legs: plan.legs, deadline: deadline)
        let reply: Reply
        if let single = plan.single, single.currency.code == plan.sale.code {
            // One credit in the sale's currency: the plain v1 reply, no leg lines.
            reply = ReplyWriter.reply { writer in
                writer.field("hold", id)
                writer.field("credit", single.id)
                writer.field("amount", plan.covered, in: plan.sale)
                writer.field("requested", plan.requested, in: plan.sale)
                writer.field("currency", text: plan.sale.code)
                writer.field("available", single.available - plan.covered, in: plan.sale)
                writer.field("expires", deadline)
            }
        } else {
            var fields = [Field("hold", id.description)]
            if let single = plan.single { fields.append(Field("credit", single.id.description)) }
            fields += [Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                       Field("remaining", text(plan.remaining, plan.sale)), Field("currency", plan.sale.code),
                       Field("expires", deadline.rfc3339)]
            reply = Reply(items: legItems(plan.legs, sale: plan.sale), fields: fields)
        }
        return .success(Decision(events: [.held(placed)], reply: reply, action: .held(id)))
    }

    func quoteReply(_ plan: TenderPlan) -> Reply {
        Reply(items: legItems(plan.legs, sale: plan.sale),
              fields: [Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                       Field("remaining", text(plan.remaining, plan.sale)), Field("currency", plan.sale.code)])
    }

    /// The type, currency and balance of a credit that must exist, read where it lies: a copy of
    /// the credit retained each of its references, for a reply line.
    private func creditForReply(_ id: CreditID) -> (type: CreditType, currency: Currency, balance: MinorUnits) {
        guard let read = state.credits.withValueAddress(id, { credit in
            (type: credit.pointee.type, currency: credit.pointee.currency, balance: credit.pointee.balance)
        }) else { preconditionFailure("a hold's leg names credit \(id), which is not in the ledger") }
        return read
    }

    /// One item line per leg: which credit, how much of it, what that covers of the sale.
    private func legItems(_ legs: [HoldLeg], sale: Currency) -> [[Field]] {
        legs.map { leg in
            let credit = creditForReply(leg.credit)
            var fields = [Field("credit", leg.credit.description), Field("type", credit.type.rawValue),
                          Field("amount", text(leg.amount, credit.currency)), Field("currency", credit.currency.code)]
            if let rate = leg.rate {
                fields += [Field("covers", text(leg.covers, sale)), Field("sale_currency", sale.code), Field("rate", rate.description)]
            }
            fields.append(Field("tax_class", policy.taxClass(credit.type)))
            return fields
        }
    }

    func decideCapture(_ id: HoldID, amount: DecimalAmount?, now: Instant) -> Result<Decision, CreditError> {
        let hold: Hold
        switch pendingHold(id, now: now) {
        case .failure(let error): return .failure(error)
        case .success(let found): hold = found
        }
        let sale = policy.currencies[hold.currency]!
        var wanted = hold.amount
        if let amount {
            switch minorUnits(amount, sale) {
            case .failure(let error): return .failure(error)
            case .success(let units): wanted = units
            }
            guard wanted <= hold.amount else {
                return .failure(CreditError(.exceedsHold, "hold \(id) is for \(text(hold.amount, sale)) \(sale.code)"))
            }
        }
        let taken = allocate(wanted, across: hold, sale: sale)
        let reply: Reply
        if hold.legs.count == 1 && hold.legs[0].rate == nil {
            // One leg in the sale's currency: the plain v1 reply, no leg lines (building them only
            // to drop them was a sixth of a capture's instructions).
            let credit = creditForReply(hold.legs[0].credit)
            reply = ReplyWriter.reply { writer in
                writer.field("hold", id)
                writer.field("captured", wanted, in: sale)
                writer.field("released", hold.amount - wanted, in: sale)
                writer.field("balance", credit.balance - taken[0].amount, in: sale)
                writer.field("currency", text: sale.code)
            }
        } else {
            var items: [[Field]] = []
            for (leg, take) in zip(hold.legs, taken) {
                let credit = creditForReply(leg.credit)
                var line = [Field("credit", leg.credit.description), Field("type", credit.type.rawValue),
                            Field("captured", text(take.amount, credit.currency)),
                            Field("released", text(leg.amount - take.amount, credit.currency)),
                            Field("currency", credit.currency.code)]
                if let rate = leg.rate {
                    line += [Field("covers", text(take.covers, sale)), Field("sale_currency", sale.code), Field("rate", rate.description)]
                }
                line += [Field("balance", text(credit.balance - take.amount, credit.currency)),
                         Field("tax_class", policy.taxClass(credit.type))]
                items.append(line)
            }
            reply = Reply(items: items, fields: [Field("hold", id.description), Field("captured", text(wanted, sale)),
                                                 Field("released", text(hold.amount - wanted, sale)),
                                                 Field("currency", sale.code)])
        }
        return .success(Decision(events: [.captured(id, legs: taken)], reply: reply, action: .captured(id)))
    }

    /// Spreads a capture of `wanted` (sale currency) over the legs in plan order. A leg taken
    /// whole gives exactly what it reserved; a leg taken in part gives ⌈part / rate⌉.
    private func allocate(_ wanted: MinorUnits, across hold: Hold, sale: Currency) -> [CapturedLeg] {
        var remaining = wanted
        return hold.legs.map { leg in
            let cover = min(remaining, leg.covers)
            remaining -= cover
            if cover == leg.covers { return CapturedLeg(amount: leg.amount, covers: cover) }
            guard let rate = leg.rate, cover > .zero else { return CapturedLeg(amount: cover, covers: cover) }
            let currency = creditForReply(leg.credit).currency
            let amount = min(leg.amount, rate.creditNeeded(cover, from: currency, to: sale) ?? leg.amount)
            return CapturedLeg(amount: amount, covers: cover)
        }
    }

    func decideVoid(_ id: HoldID, now: Instant) -> Result<Decision, CreditError> {
        switch pendingHold(id, now: now) {
        case .failure(let error):
            return .failure(error)
        case .success(let hold):
            let sale = policy.currencies[hold.currency]!
            let reply = ReplyWriter.reply { writer in
                writer.field("hold", id)
                writer.field("released", hold.amount, in: sale)
                writer.field("currency", text: sale.code)
            }
            return .success(Decision(events: [.voided(id)], reply: reply))
        }
    }

    /// A hold that can still be captured or voided, or the error saying why not.
    private func pendingHold(_ id: HoldID, now: Instant) -> Result<Hold, CreditError> {
        guard let hold = state.holds[id] else {
            return .failure(CreditError(.notFound, isForgotten(id) ? "hold \(id) ended and was forgotten a ref window after its deadline" : "no hold \(id)"))
        }
        switch hold.state {
        case .captured: return .failure(CreditError(.holdCaptured, "hold \(id) was already captured"))
        case .voided: return .failure(CreditError(.holdVoided, "hold \(id) was voided"))
        case .expired: return .failure(CreditError(.holdExpired, "hold \(id) expired at \(hold.deadline.rfc3339)"))
        case .pending:
            guard now < hold.deadline else {
                return .failure(CreditError(.holdExpired, "hold \(id) expired at \(hold.deadline.rfc3339)"))
            }
            return .success(hold)
        }
    }
}
