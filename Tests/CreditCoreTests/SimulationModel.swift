// The simulation's model: the ledger's rules written out again — what each request must come to, event by event and field by field — with FX arithmetic computed from the rate's definition.

import CreditCore

/// 10^n, exactly.
func power10(_ n: Int) -> Int128 {
    (0..<n).reduce(Int128(1)) { value, _ in value * 10 }
}

/// ⌈s / rate⌉: the source minor units that cover `s` sale minor units (1 source major unit is
/// worth `rate` sale major units).
func modelCreditNeeded(_ s: MinorUnits, rate: Rate, from source: Currency, to sale: Currency) -> MinorUnits {
    let numerator = Int128(s.value) * power10(rate.scale + source.minorDigits)
    let denominator = Int128(rate.units) * power10(sale.minorDigits)
    return MinorUnits(Int64((numerator + denominator - 1) / denominator))
}

/// ⌊a × rate⌋: the sale minor units that `a` source minor units are fully worth.
func modelWorth(_ a: MinorUnits, rate: Rate, from source: Currency, to sale: Currency) -> MinorUnits {
    let numerator = Int128(a.value) * Int128(rate.units) * power10(sale.minorDigits)
    return MinorUnits(Int64(numerator / power10(rate.scale + source.minorDigits)))
}

/// A tender plan as the model makes it.
struct ModelPlan {
    let sale: Currency
    let requested: MinorUnits
    let legs: [HoldLeg]
    /// The credit named by `credit=` or `card=`; nil for a profile tender.
    let single: Credit?

    var covered: MinorUnits { legs.reduce(.zero) { $0 + $1.covers } }
    var remaining: MinorUnits { requested - covered }
}

/// What planning a HOLD or QUOTE comes to.
enum Planned {
    case plan(ModelPlan)
    case refuse(ErrorCode)
}

extension Simulation {
    func predict(_ request: Request) throws -> Expected {
        guard let ref = request.ref else { return .refuse(.badRequest) }
        if let known = remembered[ModelKey(client: request.client.text, ref: ref.text)] {
            return known.fingerprint == request.argumentsDigest ? .replay(known.reply) : .refuse(.refConflict)
        }
        switch request.command {
        case .issue(let issue): return predictIssue(issue)
        case .hold(let hold): return predictHold(hold)
        case .capture(let id, let amount): return predictCapture(id, amount: amount)
        case .void(let id): return predictVoid(id)
        case .refund(let id, let amount, let code): return predictRefund(id, amount, code)
        case .changeStatus(let id, let change, let reason): return predictStatus(id, change, reason)
        case .balance, .quote, .history, .credits, .rates: throw SimulationFailure(description: "a read sent as a mutation")
        }
    }

    // MARK: Shared rules

    /// Positive minor units of `currency`, or nil (BAD_AMOUNT).
    func positiveUnits(_ amount: DecimalAmount, _ currency: Currency) -> MinorUnits? {
        guard let units = amount.minorUnits(in: currency), units > .zero else { return nil }
        return units
    }

    /// Why value cannot be taken from the credit now: past its expiry date (unless cancelled), or its status.
    func usabilityError(_ credit: Credit) -> ErrorCode? {
        if let expires = credit.expires, now >= expires.endInstant, credit.status != .cancelled { return .creditExpired }
        switch credit.status {
        case .active: return nil
        case .inactive: return .creditInactive
        case .frozen: return .creditFrozen
        case .cancelled: return .creditCancelled
        case .expired: return .creditExpired
        }
    }

    /// The status BALANCE shows: a credit past its expiry date is expired, swept or not.
    func displayStatus(_ credit: Credit) -> CreditStatus {
        if let expires = credit.expires, now >= expires.endInstant, [.inactive, .active, .frozen].contains(credit.status) {
            return .expired
        }
        return credit.status
    }

    /// What `amount` of `source` is worth in `sale`: itself, ⌊amount × rate⌋, or nothing without a rate.
    func worth(_ amount: MinorUnits, _ source: Currency, in sale: Currency) -> MinorUnits {
        if source.code == sale.code { return amount }
        guard let rate = policy.rates.rate(from: source.code, to: sale.code) else { return .zero }
        return modelWorth(amount, rate: rate, from: source, to: sale)
    }

    func text(_ amount: MinorUnits, _ currency: Currency) -> String { formatAmount(amount, currency) }

    // MARK: ISSUE

    func predictIssue(_ issue: IssueCommand) -> Expected {
        guard let currency = policy.currencies[issue.currency] else { return .refuse(.badCurrency) }
        guard let units = positiveUnits(issue.amount, currency) else { return .refuse(.badAmount) }
        var bonus = MinorUnits.zero
        if let bonusAmount = issue.bonus {
            guard issue.type == .store else { return .refuse(.badRequest) }
            guard let bonusUnits = positiveUnits(bonusAmount, currency) else { return .refuse(.badAmount) }
            bonus = bonusUnits
        }
        guard units.value + bonus.value <= currency.balanceMax.value else { return .refuse(.badAmount) }
        if issue.type != .gift && issue.profile == nil { return .refuse(.badRequest) }
        if (issue.type == .promo) != (issue.campaign != nil) { return .refuse(.badRequest) }
        if let expires = issue.expires, now >= expires.endInstant { return .refuse(.badRequest) }
        let id = CreditID(live.state.lastCreditNumber + 1)
        let event = Event.issued(IssuedCredit(credit: id, type: issue.type, currency: currency.code, amount: units,
                                              bonus: bonus, expires: issue.expires, profile: issue.profile,
                                              card: issue.card, campaign: issue.campaign))
        var fields = [Field("credit", id.description), Field("type", issue.type.rawValue),
                      Field("balance", text(units + bonus, currency)), Field("currency", currency.code)]
        if bonus > .zero { fields.append(Field("bonus", text(bonus, currency))) }
        if let campaign = issue.campaign { fields.append(Field("campaign", campaign)) }
        if let card = issue.card { fields.append(Field("card", String(repeating: "*", count: card.length - 4) + card.last4)) }
        if let expires = issue.expires { fields.append(Field("expires", expires.description)) }
        return .apply([event], Reply(fields: fields))
    }

    // MARK: HOLD and QUOTE

    func predictPlan(_ command: HoldCommand) -> Planned {
        guard let sale = policy.currencies[command.currency] else { return .refuse(.badCurrency) }
        guard let requested = positiveUnits(command.amount, sale) else { return .refuse(.badAmount) }
        var candidates: [Credit] = []
        var single: Credit?
        switch command.selector {
        case .profile(let profile):
            candidates = tenderCandidates(profile, sale)
        case .credit(let id):
            guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
            single = credit
        case .card(let cardDigest, let pinDigest):
            guard let credit = live.state.credits.values.first(where: { $0.card?.cardDigest == cardDigest }),
                  credit.card?.pinDigest == pinDigest
            else { return .refuse(.declined) }
            single = credit
        }
        if let single {
            if let code = usabilityError(single) { return .refuse(code) }
            if single.currency.code != sale.code && policy.rates.rate(from: single.currency.code, to: sale.code) == nil {
                return .refuse(.noRate)
            }
            if single.pendingHolds.count >= policy.holdsPerCreditMax { return .refuse(.tooManyHolds) }
            candidates = [single]
        }
        let plan = ModelPlan(sale: sale, requested: requested, legs: fill(requested, sale, candidates), single: single)
        if plan.covered == .zero || (!command.partial && plan.remaining > .zero) { return .refuse(.insufficientFunds) }
        return .plan(plan)
    }

    /// A profile's credits that can pay in `sale` now, in the configured tender order.
    func tenderCandidates(_ profile: ProfileID, _ sale: Currency) -> [Credit] {
        live.state.credits.values.filter { credit in
            credit.profile == profile && usabilityError(credit) == nil && credit.available > .zero
                && credit.pendingHolds.count < policy.holdsPerCreditMax
                && (credit.currency.code == sale.code || policy.rates.rate(from: credit.currency.code, to: sale.code) != nil)
        }.sorted(by: tenderPrecedes)
    }

    /// Each key of the order in turn decides; the credit id breaks what they leave tied.
    func tenderPrecedes(_ a: Credit, _ b: Credit) -> Bool {
        let order = policy.tenderOrder
        for key in order.keys {
            switch key {
            case .expiry:
                let (x, y) = (a.expires?.daysSinceEpoch ?? .max, b.expires?.daysSinceEpoch ?? .max)
                if x != y { return x < y }
            case .type:
                let (x, y) = (order.types.firstIndex(of: a.type) ?? order.types.count,
                              order.types.firstIndex(of: b.type) ?? order.types.count)
                if x != y { return x < y }
            case .balance:
                if a.available != b.available { return a.available < b.available }
            }
        }
        return a.id < b.id
    }

    /// Legs in order, each covering what it can of what is left, at most `legsMax`.
    func fill(_ requested: MinorUnits, _ sale: Currency, _ candidates: [Credit]) -> [HoldLeg] {
        var legs: [HoldLeg] = []
        var remaining = requested
        for credit in candidates {
            guard remaining > .zero, legs.count < LedgerPolicy.legsMax else { break }
            let cover = min(worth(credit.available, credit.currency, in: sale), remaining)
            guard cover > .zero else { continue }
            if credit.currency.code == sale.code {
                legs.append(HoldLeg(credit: credit.id, amount: cover, covers: cover, rate: nil))
            } else {
                let rate = policy.rates.rate(from: credit.currency.code, to: sale.code)!
                legs.append(HoldLeg(credit: credit.id, amount: modelCreditNeeded(cover, rate: rate, from: credit.currency, to: sale),
                                    covers: cover, rate: rate))
            }
            remaining -= cover
        }
        return legs
    }

    func predictHold(_ command: HoldCommand) -> Expected {
        let plan: ModelPlan
        switch predictPlan(command) {
        case .refuse(let code): return .refuse(code)
        case .plan(let made): plan = made
        }
        let ttl = command.ttl ?? policy.holdTTLDefault
        if ttl > policy.holdTTLMax { return .refuse(.badRequest) }
        var deadline = (now.millis + ttl.value * 1000 + 999) / 1000 * 1000
        for leg in plan.legs {
            if let expires = live.state.credits[leg.credit]!.expires { deadline = min(deadline, expires.endInstant.millis) }
        }
        let id = HoldID(live.state.lastHoldNumber + 1)
        let event = Event.held(PlacedHold(hold: id, currency: plan.sale.code, requested: plan.requested, legs: plan.legs,
                                          deadline: Instant(millis: deadline)))
        var fields = [Field("hold", id.description)]
        if let single = plan.single { fields.append(Field("credit", single.id.description)) }
        fields += [Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                   Field("remaining", text(plan.remaining, plan.sale)), Field("currency", plan.sale.code)]
        if let single = plan.single, single.currency.code == plan.sale.code {
            fields.append(Field("available", text(single.available - plan.covered, plan.sale)))
        }
        fields.append(Field("expires", Instant(millis: deadline).rfc3339))
        return .apply([event], Reply(items: legItems(plan), fields: fields))
    }

    func quoteReply(_ plan: ModelPlan) -> Reply {
        Reply(items: legItems(plan),
              fields: [Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                       Field("remaining", text(plan.remaining, plan.sale)), Field("currency", plan.sale.code)])
    }

    func legItems(_ plan: ModelPlan) -> [[Field]] {
        plan.legs.map { leg in
            let credit = live.state.credits[leg.credit]!
            var fields = [Field("credit", leg.credit.description), Field("type", credit.type.rawValue),
                          Field("amount", text(leg.amount, credit.currency)), Field("currency", credit.currency.code)]
            if let rate = leg.rate {
                fields += [Field("covers", text(leg.covers, plan.sale)), Field("sale_currency", plan.sale.code),
                           Field("rate", rate.description)]
            }
            return fields + [Field("tax_class", policy.taxClass(credit.type))]
        }
    }

    // MARK: CAPTURE and VOID

    /// The hold if it can still be resolved now, else the error.
    func pendingHold(_ id: HoldID) -> (Hold?, ErrorCode?) {
        guard let hold = live.state.holds[id] else { return (nil, .notFound) }
        switch hold.state {
        case .captured: return (nil, .holdCaptured)
        case .voided: return (nil, .holdVoided)
        case .expired: return (nil, .holdExpired)
        case .pending: return now >= hold.deadline ? (nil, .holdExpired) : (hold, nil)
        }
    }

    func predictCapture(_ id: HoldID, amount: DecimalAmount?) -> Expected {
        let (found, error) = pendingHold(id)
        guard let hold = found else { return .refuse(error!) }
        let sale = policy.currencies[hold.currency]!
        var wanted = hold.amount
        if let amount {
            guard let units = positiveUnits(amount, sale) else { return .refuse(.badAmount) }
            if units > hold.amount { return .refuse(.exceedsHold) }
            wanted = units
        }
        // Legs in plan order, each paying what is left up to its cover: a leg taken whole gives what
        // it reserved, a leg taken in part gives ⌈part / rate⌉ (the part itself without FX).
        var left = wanted
        var taken: [CapturedLeg] = []
        for leg in hold.legs {
            let cover = min(left, leg.covers)
            left -= cover
            var amount = cover
            if cover == leg.covers {
                amount = leg.amount
            } else if let rate = leg.rate, cover > .zero {
                amount = modelCreditNeeded(cover, rate: rate, from: live.state.credits[leg.credit]!.currency, to: sale)
            }
            taken.append(CapturedLeg(amount: amount, covers: cover))
        }
        return .apply([.captured(id, legs: taken)], captureReply(hold, sale, wanted, taken))
    }

    func captureReply(_ hold: Hold, _ sale: Currency, _ wanted: MinorUnits, _ taken: [CapturedLeg]) -> Reply {
        let items = zip(hold.legs, taken).map { leg, take -> [Field] in
            let credit = live.state.credits[leg.credit]!
            var fields = [Field("credit", leg.credit.description), Field("type", credit.type.rawValue),
                          Field("captured", text(take.amount, credit.currency)),
                          Field("released", text(leg.amount - take.amount, credit.currency)),
                          Field("currency", credit.currency.code)]
            if let rate = leg.rate {
                fields += [Field("covers", text(take.covers, sale)), Field("sale_currency", sale.code),
                           Field("rate", rate.description)]
            }
            return fields + [Field("balance", text(credit.balance - take.amount, credit.currency)),
                             Field("tax_class", policy.taxClass(credit.type))]
        }
        var fields = [Field("hold", hold.id.description), Field("captured", text(wanted, sale)),
                      Field("released", text(hold.amount - wanted, sale))]
        if hold.legs.count == 1 && hold.legs[0].rate == nil {
            fields.append(Field("balance", text(live.state.credits[hold.legs[0].credit]!.balance - taken[0].amount, sale)))
        }
        return Reply(items: items, fields: fields + [Field("currency", sale.code)])
    }

    func predictVoid(_ id: HoldID) -> Expected {
        let (found, error) = pendingHold(id)
        guard let hold = found else { return .refuse(error!) }
        let sale = policy.currencies[hold.currency]!
        return .apply([.voided(id)], Reply(fields: [Field("hold", id.description), Field("released", text(hold.amount, sale)),
                                                     Field("currency", sale.code)]))
    }

    // MARK: REFUND, FREEZE, UNFREEZE, CANCEL

    func predictRefund(_ id: CreditID, _ amount: DecimalAmount, _ code: String) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        if code != credit.currency.code { return .refuse(policy.currencies[code] == nil ? .badCurrency : .currencyMismatch) }
        // A frozen credit takes refunds. (One past its expiry date that no sweep has closed yet takes
        // one too; the server sweeps before every request, so there it is already expired.)
        if credit.status != .frozen, let error = usabilityError(credit) { return .refuse(error) }
        guard let units = positiveUnits(amount, credit.currency) else { return .refuse(.badAmount) }
        if credit.balance.value + units.value > credit.currency.balanceMax.value { return .refuse(.badAmount) }
        return .apply([.refunded(id, amount: units)],
                      Reply(fields: [Field("credit", id.description), Field("refunded", text(units, credit.currency)),
                                     Field("balance", text(credit.balance + units, credit.currency)),
                                     Field("currency", code)]))
    }

    func predictStatus(_ id: CreditID, _ change: StatusChange, _ reason: String) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        let event: Event
        var fields = [Field("credit", id.description)]
        switch change {
        case .freeze:
            if let error = usabilityError(credit) { return .refuse(error) }
            event = .frozen(id, reason: reason)
            fields.append(Field("status", "frozen"))
        case .unfreeze:
            if credit.status != .frozen { return .refuse(.badRequest) }
            event = .unfrozen(id, reason: reason)
            fields.append(Field("status", "active"))
        case .cancel:
            if credit.status == .cancelled { return .refuse(.creditCancelled) }
            if credit.status == .expired { return .refuse(.creditExpired) }
            if !credit.pendingHolds.isEmpty { return .refuse(.holdsPending) }
            event = .cancelled(id, reason: reason)
            fields += [Field("status", "cancelled"), Field("written_off", text(credit.balance, credit.currency))]
        }
        return .apply([event], Reply(fields: fields + [Field("currency", credit.currency.code)]))
    }

    // MARK: Sweeps and reads

    /// Due pending holds in (deadline, id) order, then credits past their expiry in (expiry, id) order.
    func predictSweep() -> [Event] {
        let holds = live.state.holds.values.filter { $0.state == .pending && $0.deadline <= now }
            .sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        let credits = live.state.credits.values.filter { credit in
            guard let expires = credit.expires else { return false }
            return expires.endInstant <= now && [.inactive, .active, .frozen].contains(credit.status)
        }.sorted { ($0.expires!, $0.id) < ($1.expires!, $1.id) }
        return holds.map { .expired($0.id) } + credits.map { .creditExpired($0.id) }
    }

    func balanceFields(_ credit: Credit) -> [Field] {
        var fields = [Field("credit", credit.id.description), Field("type", credit.type.rawValue),
                      Field("balance", text(credit.balance, credit.currency)), Field("held", text(credit.held, credit.currency)),
                      Field("available", text(credit.available, credit.currency)), Field("currency", credit.currency.code),
                      Field("status", displayStatus(credit).rawValue)]
        if let expires = credit.expires { fields.append(Field("expires", expires.description)) }
        return fields
    }

    /// The profile's credits in id order (the order they were issued in), with card and campaign.
    func creditsReply(_ profile: ProfileID) -> Reply {
        let items = live.state.credits.values.filter { $0.profile == profile }.sorted { $0.id < $1.id }.map { credit in
            var fields = balanceFields(credit)
            if let card = credit.card { fields.append(Field("card", card.last4)) }
            if let campaign = credit.campaign { fields.append(Field("campaign", campaign)) }
            return fields
        }
        return Reply(items: items, fields: [Field("profile", profile.text), Field("count", String(items.count))])
    }

    func ratesReply() -> Reply {
        Reply(items: [[Field("from", "AUD"), Field("to", "JPY"), Field("rate", "97.45")],
                      [Field("from", "JPY"), Field("to", "AUD"), Field("rate", "0.01026")]],
              fields: [Field("count", "2")])
    }
}
