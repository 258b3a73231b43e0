// The simulation's model of issues, holds, quotes, captures, voids, refunds, status changes, sweeps and reads: the ledger's rules written out again — what each request must come to, event by event and field by field — with FX arithmetic computed from the rate's definition.

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
            if known.action == .tombstone { return .refuse(.reversed) }  // reversed before it arrived
            return known.fingerprint == request.argumentsDigest ? .replay(known.reply) : .refuse(.refConflict)
        }
        // A card and PIN are checked before anything else, and the attempt recorded if declined.
        var reset: [Event] = []
        if let card = cardSelector(request.command) {
            switch gate(card) {
            case .refuse(let code, let events): return events.isEmpty ? .refuse(code) : .refuseRecorded(code, events)
            case .pass(let events): reset = events
            }
        }
        switch try decide(request) {
        case .apply(let events, let reply, let action): return .apply(reset + events, reply, action)
        case let other: return other
        }
    }

    /// What a mutating command comes to once its ref and card are through.
    func decide(_ request: Request) throws -> Expected {
        switch request.command {
        case .issue(let issue): return predictIssue(issue)
        case .hold(let hold): return predictHold(hold)
        case .capture(let id, let amount): return predictCapture(id, amount: amount)
        case .void(let id): return predictVoid(id)
        case .refund(let id, let amount, let code): return predictRefund(id, amount, code)
        case .changeStatus(let id, let change, let reason): return predictStatus(id, change, reason)
        case .stock(_, let cards, let code, let batch): return predictStock(cards, code, batch)
        case .activate(let card, let amount, let code): return predictLoad(card, amount, code, activate: true)
        case .load(let card, let amount, let code): return predictLoad(card, amount, code, activate: false)
        case .replace(let id, let keys): return predictReplace(id, keys!)
        case .transfer(let id, let profile, let amount, let from): return predictTransfer(id, to: profile, amount, from: from)
        case .claim(let code, let profile): return predictClaim(code, profile)
        case .reverse(let original): return predictReverse(original, client: request.client)
        case .unlock(let id): return predictUnlock(id)
        case .balance, .quote, .history, .credits, .rates, .report:
            throw SimulationFailure(description: "a read sent as a mutation")
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
        if isPastExpiry(credit) { return .creditExpired }
        switch credit.status {
        case .active: return nil
        case .inactive: return .creditInactive
        case .frozen: return .creditFrozen
        case .cancelled: return .creditCancelled
        case .expired: return .creditExpired
        }
    }

    /// Past the end of its last day and not cancelled, swept or not.
    func isPastExpiry(_ credit: Credit) -> Bool {
        guard let expires = credit.expires else { return false }
        return now >= expires.endInstant && credit.status != .cancelled
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

    func masked(_ card: CardKeys) -> String { String(repeating: "*", count: card.length - 4) + card.last4 }

    /// Value added to a credit (REFUND, ACTIVATE, LOAD): in its own currency, positive, within its maximum.
    func valueToAdd(_ amount: DecimalAmount, _ code: String, to credit: Credit) -> Result<MinorUnits, ModelRefusal> {
        if code != credit.currency.code {
            return .failure(ModelRefusal(policy.currencies[code] == nil ? .badCurrency : .currencyMismatch))
        }
        guard let units = positiveUnits(amount, credit.currency) else { return .failure(ModelRefusal(.badAmount)) }
        if credit.balance.value + units.value > credit.currency.balanceMax.value { return .failure(ModelRefusal(.badAmount)) }
        return .success(units)
    }

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
        // Gift rules: purchaser, recipient and revert_after only on gift cards; recipient or profile;
        // an unknown recipient needs a purchaser; a revert needs both.
        let giftOnly = issue.purchaser != nil || issue.recipient != nil || issue.revertAfter != nil
        if giftOnly && issue.type != .gift { return .refuse(.badRequest) }
        if issue.recipient != nil && issue.profile != nil { return .refuse(.badRequest) }
        if issue.recipient == .unknown && issue.purchaser == nil { return .refuse(.badRequest) }
        if issue.revertAfter != nil && (issue.purchaser == nil || issue.recipient == nil) { return .refuse(.badRequest) }
        var owner = issue.profile
        switch issue.recipient {
        case .profile(let recipient)?: owner = recipient
        case .unknown?: owner = issue.purchaser
        case nil: break
        }
        let revertAt = issue.revertAfter.map { Instant(millis: (now.millis + $0.value * 1000 + 999) / 1000 * 1000) }
        let id = CreditID(live.state.lastCreditNumber + 1)
        let event = Event.issued(IssuedCredit(credit: id, type: issue.type, currency: currency.code, amount: units,
                                              bonus: bonus, expires: issue.expires, profile: owner, card: issue.card,
                                              campaign: issue.campaign, purchaser: issue.purchaser, claim: issue.claim,
                                              revertAt: revertAt))
        var fields = [Field("credit", id.description), Field("type", issue.type.rawValue),
                      Field("balance", text(units + bonus, currency)), Field("currency", currency.code)]
        if bonus > .zero { fields.append(Field("bonus", text(bonus, currency))) }
        if let campaign = issue.campaign { fields.append(Field("campaign", campaign)) }
        if let card = issue.card { fields.append(Field("card", masked(card))) }
        if let owner { fields.append(Field("profile", owner.text)) }
        if issue.recipient == .unknown { fields.append(Field("claim", "pending")) }
        if let revertAt { fields.append(Field("revert_at", revertAt.rfc3339)) }
        if let expires = issue.expires { fields.append(Field("expires", expires.description)) }
        return .apply([event], Reply(fields: fields), .issued(id))
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
        case .card(let cardDigest, _):
            // The card gate has checked the PIN already.
            guard let credit = creditWithCard(cardDigest) else { return .refuse(.declined) }
            single = credit
        }
        if let single {
            if let code = usabilityError(single) { return .refuse(code) }
            if single.currency.code != sale.code && policy.rates.rate(from: single.currency.code, to: sale.code) == nil {
                return .refuse(.noRate)
            }
            if single.pendingHoldCount >= policy.holdsPerCreditMax { return .refuse(.tooManyHolds) }
            candidates = [single]
        }
        let plan = ModelPlan(sale: sale, requested: requested, legs: fill(requested, sale, candidates), single: single)
        if plan.covered == .zero || (!command.partial && plan.remaining > .zero) { return .refuse(.insufficientFunds) }
        return .plan(plan)
    }

    /// A profile's credits that can pay in `sale` now, in the configured tender order. A gift card
    /// kept for an unknown recipient is not its purchaser's to spend.
    func tenderCandidates(_ profile: ProfileID, _ sale: Currency) -> [Credit] {
        live.state.credits.values.filter { credit in
            credit.profile == profile && usabilityError(credit) == nil && credit.available > .zero && credit.claim == nil
                && credit.pendingHoldCount < policy.holdsPerCreditMax
                && (credit.currency.code == sale.code || policy.rates.rate(from: credit.currency.code, to: sale.code) != nil)
        }.sorted { tenderPrecedes($0, $1, sale) }
    }

    /// Each key of the order in turn decides; the credit id breaks what they leave tied. Balances
    /// compare by what they are worth in the sale's currency.
    func tenderPrecedes(_ a: Credit, _ b: Credit, _ sale: Currency) -> Bool {
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
                let (x, y) = (worth(a.available, a.currency, in: sale), worth(b.available, b.currency, in: sale))
                if x != y { return x < y }
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
        let ttl = command.ttl ?? policy.holdTTLDefault
        if ttl > policy.holdTTLMax { return .refuse(.badRequest) }  // before any planning
        let plan: ModelPlan
        switch predictPlan(command) {
        case .refuse(let code): return .refuse(code)
        case .plan(let made): plan = made
        }
        var deadline = (now.millis + ttl.value * 1000 + 999) / 1000 * 1000
        for leg in plan.legs {
            if let expires = live.state.credits[leg.credit]!.expires { deadline = min(deadline, expires.endInstant.millis) }
        }
        let id = HoldID(live.state.lastHoldNumber + 1)
        let event = Event.held(PlacedHold(hold: id, currency: plan.sale.code, requested: plan.requested, legs: plan.legs,
                                          deadline: Instant(millis: deadline)))
        let expires = Field("expires", Instant(millis: deadline).rfc3339)
        if let single = plan.single, single.currency.code == plan.sale.code {
            // One credit in the sale's currency: the plain reply, without remaining= or leg lines.
            return .apply([event], Reply(fields: [
                Field("hold", id.description), Field("credit", single.id.description),
                Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                Field("currency", plan.sale.code), Field("available", text(single.available - plan.covered, plan.sale)),
                expires]), .held(id))
        }
        var fields = [Field("hold", id.description)]
        if let single = plan.single { fields.append(Field("credit", single.id.description)) }
        fields += [Field("amount", text(plan.covered, plan.sale)), Field("requested", text(plan.requested, plan.sale)),
                   Field("remaining", text(plan.remaining, plan.sale)), Field("currency", plan.sale.code), expires]
        return .apply([event], Reply(items: legItems(plan), fields: fields), .held(id))
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
        return .apply([.captured(id, legs: taken)], captureReply(hold, sale, wanted, taken), .captured(id))
    }

    func captureReply(_ hold: Hold, _ sale: Currency, _ wanted: MinorUnits, _ taken: [CapturedLeg]) -> Reply {
        var fields = [Field("hold", hold.id.description), Field("captured", text(wanted, sale)),
                      Field("released", text(hold.amount - wanted, sale))]
        if hold.legs.count == 1 && hold.legs[0].rate == nil {
            // One leg in the sale's currency: the plain reply, no leg lines.
            fields.append(Field("balance", text(live.state.credits[hold.legs[0].credit]!.balance - taken[0].amount, sale)))
            return Reply(fields: fields + [Field("currency", sale.code)])
        }
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
        return Reply(items: items, fields: fields + [Field("currency", sale.code)])
    }

    func predictVoid(_ id: HoldID) -> Expected {
        let (found, error) = pendingHold(id)
        guard let hold = found else { return .refuse(error!) }
        let sale = policy.currencies[hold.currency]!
        return .apply([.voided(id)], Reply(fields: [Field("hold", id.description), Field("released", text(hold.amount, sale)),
                                                     Field("currency", sale.code)]), .none)
    }

    // MARK: REFUND, FREEZE, UNFREEZE, CANCEL

    func predictRefund(_ id: CreditID, _ amount: DecimalAmount, _ code: String) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        let units: MinorUnits
        switch valueToAdd(amount, code, to: credit) {
        case .failure(let refusal): return .refuse(refusal.code)
        case .success(let value): units = value
        }
        // A frozen credit takes refunds; a closed one (cancelled, expired, or past its date and not
        // yet swept) is refused, or with the store-credit policy its owner gets new store credit.
        if isPastExpiry(credit) || credit.status == .cancelled || credit.status == .expired {
            let error: ErrorCode = credit.status == .cancelled ? .creditCancelled : .creditExpired
            guard policy.refundOntoClosed == .storeCredit, let profile = credit.profile else { return .refuse(error) }
            let newID = CreditID(live.state.lastCreditNumber + 1)
            let issued = IssuedCredit(credit: newID, type: .store, currency: credit.currency.code, amount: units,
                                      expires: nil, profile: profile, card: nil)
            return .apply([.issued(issued)],
                          Reply(fields: [Field("credit", newID.description), Field("refunded", text(units, credit.currency)),
                                         Field("balance", text(units, credit.currency)), Field("currency", code),
                                         Field("instead_of", id.description)]),
                          .issued(newID))
        }
        if credit.status == .inactive { return .refuse(.creditInactive) }
        return .apply([.refunded(id, amount: units)],
                      Reply(fields: [Field("credit", id.description), Field("refunded", text(units, credit.currency)),
                                     Field("balance", text(credit.balance + units, credit.currency)),
                                     Field("currency", code)]),
                      .refunded(id, amount: units))
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
            // Past its date a credit becomes breakage at the sweep, never a write-off.
            if credit.status == .expired || isPastExpiry(credit) { return .refuse(.creditExpired) }
            if credit.pendingHoldCount != 0 { return .refuse(.holdsPending) }
            event = .cancelled(id, reason: reason)
            fields += [Field("status", "cancelled"), Field("written_off", text(credit.balance, credit.currency))]
        }
        return .apply([event], Reply(fields: fields + [Field("currency", credit.currency.code)]), .none)
    }

    // MARK: Sweeps and reads

    /// Due pending holds in (deadline, id) order; then smart cards due to revert in (deadline, id)
    /// order — those unused, usable, within their date and without pending holds (judged before this
    /// sweep's expiries apply); then credits past their expiry in (expiry, id) order.
    func predictSweep() throws -> [Event] {
        let holds = live.state.holds.values.filter { $0.state == .pending && $0.deadline <= now }
            .sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        var reverts: [Event] = []
        let due = shadow.filter { $0.value.revertEntries > 0 && $0.value.revertDue! <= now }
            .sorted { ($0.value.revertDue!, $0.key) < ($1.value.revertDue!, $1.key) }
        for (id, _) in due {
            // A card may be in the heap more than once (its issue, its last hold resolving): the
            // sweep reverts it once.
            let credit = live.state.credits[id]!
            guard let revertAt = credit.revertAt, revertAt <= now, [.active, .frozen].contains(credit.status),
                  !isPastExpiry(credit), credit.pendingHoldCount == 0
            else { continue }
            reverts.append(.reverted(id))
        }
        let credits = live.state.credits.values.filter { credit in
            guard let expires = credit.expires else { return false }
            return expires.endInstant <= now && [.inactive, .active, .frozen].contains(credit.status)
        }.sorted { ($0.expires!, $0.id) < ($1.expires!, $1.id) }
        return holds.map { .expired($0.id) } + reverts + credits.map { .creditExpired($0.id) }
    }

    /// The sweep pops every due revert entry, whether it reverts the card or not.
    mutating func popDueReverts() {
        for (id, model) in shadow where model.revertEntries > 0 && model.revertDue! <= now {
            shadow[id]!.revertEntries = 0
        }
    }

    func balanceFields(_ credit: Credit) -> [Field] {
        var fields = [Field("credit", credit.id.description), Field("type", credit.type.rawValue),
                      Field("balance", text(credit.balance, credit.currency)), Field("held", text(credit.held, credit.currency)),
                      Field("available", text(credit.available, credit.currency)), Field("currency", credit.currency.code),
                      Field("status", displayStatus(credit).rawValue)]
        if let expires = credit.expires { fields.append(Field("expires", expires.description)) }
        return fields
    }

    /// The profile's credits in id order, with card, pending claim and campaign.
    func creditsReply(_ profile: ProfileID) -> Reply {
        let items = live.state.credits.values.filter { $0.profile == profile }.sorted { $0.id < $1.id }.map { credit in
            var fields = balanceFields(credit)
            if let card = credit.card { fields.append(Field("card", card.last4)) }
            if credit.claim != nil { fields.append(Field("claim", "pending")) }
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

/// A refusal's code, as a `Result` failure.
struct ModelRefusal: Error {
    let code: ErrorCode
    init(_ code: ErrorCode) { self.code = code }
}
