// MoneyModel: what the daemon must hold, built only from the OK replies of requests that took effect.

import CreditClient

/// One credit as the model knows it.
struct ModelCredit: Sendable {
    let id: String
    let type: String
    let currency: String
    /// The card number and PIN, known only from a live (not replayed) gift card ISSUE reply.
    var card: String?
    var pin: String?
    let profile: String?
    var balance = MinorUnits.zero
    /// The sum of this credit's pending hold legs.
    var held = MinorUnits.zero
    /// How many HISTORY entries the applied requests made on this credit (one per ISSUE, hold
    /// leg, capture leg, void leg, REFUND).
    var entries = 0
}

/// One leg of a hold: what it reserves on one credit, in that credit's currency.
struct HoldLeg: Sendable, Equatable {
    let credit: String
    let amount: MinorUnits
}

/// A pending hold.
struct ModelHold: Sendable {
    let id: String
    /// The sale currency and the amount of the sale the hold covers.
    let currency: String
    let covered: MinorUnits
    let legs: [HoldLeg]
}

/// Per-currency totals of what entered and left the credits.
struct MoneyTotals: Sendable {
    var issued = MinorUnits.zero
    var refunded = MinorUnits.zero
    var captured = MinorUnits.zero

    /// What the credits' balances must add up to.
    var expectedBalances: MinorUnits { issued + refunded - captured }
}

/// The model of the daemon's money. Every OK reply of a request that took effect is applied once,
/// whatever order concurrent clients saw them in: the model keeps sums and sets, not a sequence.
/// `apply` also checks what each reply claims against the model (ids are new, a hold resolves
/// once, legs add up), throwing a description of any contradiction.
struct MoneyModel: Sendable {
    private(set) var credits: [String: ModelCredit] = [:]
    /// Credit ids in the order they were issued.
    private(set) var creditOrder: [String] = []
    private(set) var pending: [String: ModelHold] = [:]
    /// Holds that were captured or voided: id → the ERR code a later CAPTURE or VOID must get.
    private(set) var finished: [String: String] = [:]
    /// The ids of `finished`, in the order they were resolved.
    private(set) var finishedOrder: [String] = []
    private(set) var totals: [String: MoneyTotals] = [:]
    /// Minor digits per currency, learnt from the amounts the daemon printed.
    private(set) var digits: [String: Int] = [:]
    /// Profiles that own credits, in the order first seen.
    private(set) var profiles: [String] = []

    /// Profile HOLD replies with a leg on a credit whose ISSUE reply has not been applied yet.
    /// The daemon may apply an ISSUE and then a HOLD that spends the new credit while the
    /// ISSUE's reply is still on its way (or lost in the kill): the HOLD waits here until the
    /// ISSUE is applied. After the checks settle every lost reply, none may be left.
    private(set) var waiting: [(request: Request, reply: Reply)] = []

    /// Applies the OK reply of a request that took effect (ERR replies change nothing) and
    /// returns the holds that became pending.
    mutating func apply(_ request: Request, _ reply: Reply) throws(ModelError) -> [String] {
        guard case .ok(let fields) = reply.final else { return [] }
        switch request.verb {
        case "ISSUE":
            try applyIssue(request, fields)
            return try releaseWaiting()
        case "HOLD":
            let credits = reply.items.isEmpty ? [fields["credit"]] : reply.items.map { $0["credit"] }
            guard credits.allSatisfy({ $0.flatMap { self.credits[$0] } != nil }) else {
                waiting.append((request, reply))
                return []
            }
            return [try applyHold(fields, reply.items)]
        case "CAPTURE": try applyCapture(request, fields, reply.items)
        case "VOID": try applyVoid(request, fields)
        case "REFUND": try applyRefund(request, fields)
        default: break
        }
        return []
    }

    /// Applies the waiting holds whose credits are all known now.
    private mutating func releaseWaiting() throws(ModelError) -> [String] {
        var released: [String] = []
        let queue = waiting
        waiting = []
        for (request, reply) in queue {
            released += try apply(request, reply)
        }
        return released
    }

    private mutating func applyIssue(_ request: Request, _ fields: Fields) throws(ModelError) {
        let id = try field(fields, "credit")
        let currency = try field(fields, "currency")
        let balance = try amount(fields, "balance", currency: currency)
        guard credits[id] == nil else { throw ModelError("ISSUE created \(id), which already exists") }
        guard fields["type"] == request["type"], currency == request["currency"] else {
            throw ModelError("ISSUE reply does not match the request")
        }
        let profile = fields["profile"]
        credits[id] = ModelCredit(id: id, type: try field(fields, "type"), currency: currency,
                                  card: fields["pin"] == nil ? nil : fields["card"], pin: fields["pin"],
                                  profile: profile, balance: balance, entries: 1)
        creditOrder.append(id)
        if let profile, !profiles.contains(profile) { profiles.append(profile) }
        totals[currency, default: MoneyTotals()].issued += balance
    }

    private mutating func applyHold(_ fields: Fields, _ items: [Fields]) throws(ModelError) -> String {
        let id = try field(fields, "hold")
        let currency = try field(fields, "currency")
        let covered = try amount(fields, "amount", currency: currency)
        guard pending[id] == nil, finished[id] == nil else { throw ModelError("HOLD created \(id), which already exists") }
        var legs: [HoldLeg] = []
        if items.isEmpty {
            legs = [HoldLeg(credit: try field(fields, "credit"), amount: covered)]
        } else {
            for item in items {
                let credit = try field(item, "credit")
                legs.append(HoldLeg(credit: credit, amount: try amount(item, "amount", currency: try field(item, "currency"))))
            }
        }
        var sameCurrencyTotal = MinorUnits.zero
        for leg in legs {
            guard let credit = credits[leg.credit] else { throw ModelError("hold \(id) has a leg on unknown credit \(leg.credit)") }
            guard leg.amount > .zero else { throw ModelError("hold \(id) has an empty leg on \(leg.credit)") }
            if credit.currency == currency { sameCurrencyTotal += leg.amount }
            credits[leg.credit]!.held += leg.amount
            credits[leg.credit]!.entries += 1
        }
        if legs.allSatisfy({ credits[$0.credit]!.currency == currency }) && sameCurrencyTotal != covered {
            throw ModelError("hold \(id) covers \(covered.value) but its legs add up to \(sameCurrencyTotal.value)")
        }
        pending[id] = ModelHold(id: id, currency: currency, covered: covered, legs: legs)
        return id
    }

    private mutating func applyCapture(_ request: Request, _ fields: Fields, _ items: [Fields]) throws(ModelError) {
        let hold = try pendingHold(request, fields)
        var taken: [(captured: MinorUnits, released: MinorUnits)] = []
        if items.isEmpty {
            guard hold.legs.count == 1 else { throw ModelError("plain CAPTURE reply for \(hold.id), which has \(hold.legs.count) legs") }
            taken = [(try amount(fields, "captured", currency: hold.currency), try amount(fields, "released", currency: hold.currency))]
        } else {
            guard items.count == hold.legs.count else {
                throw ModelError("CAPTURE of \(hold.id) lists \(items.count) legs; the hold has \(hold.legs.count)")
            }
            for (item, leg) in zip(items, hold.legs) {
                guard item["credit"] == leg.credit else { throw ModelError("CAPTURE of \(hold.id) lists its legs out of order") }
                let currency = credits[leg.credit]!.currency
                taken.append((try amount(item, "captured", currency: currency), try amount(item, "released", currency: currency)))
            }
        }
        for (leg, part) in zip(hold.legs, taken) {
            guard part.captured + part.released == leg.amount, part.captured >= .zero, part.released >= .zero else {
                throw ModelError("CAPTURE of \(hold.id) on \(leg.credit): captured \(part.captured.value) + released \(part.released.value) != leg \(leg.amount.value)")
            }
            let currency = credits[leg.credit]!.currency
            credits[leg.credit]!.balance -= part.captured
            credits[leg.credit]!.held -= leg.amount
            credits[leg.credit]!.entries += 1
            totals[currency, default: MoneyTotals()].captured += part.captured
        }
        pending[hold.id] = nil
        finished[hold.id] = "HOLD_CAPTURED"
        finishedOrder.append(hold.id)
    }

    private mutating func applyVoid(_ request: Request, _ fields: Fields) throws(ModelError) {
        let hold = try pendingHold(request, fields)
        guard try amount(fields, "released", currency: hold.currency) == hold.covered else {
            throw ModelError("VOID of \(hold.id) released \(fields["released"] ?? "?"); the hold covered \(hold.covered.value)")
        }
        for leg in hold.legs {
            credits[leg.credit]!.held -= leg.amount
            credits[leg.credit]!.entries += 1
        }
        pending[hold.id] = nil
        finished[hold.id] = "HOLD_VOIDED"
        finishedOrder.append(hold.id)
    }

    private mutating func applyRefund(_ request: Request, _ fields: Fields) throws(ModelError) {
        let id = try field(fields, "credit")
        guard id == request["credit"], fields["instead_of"] == nil, let credit = credits[id] else {
            throw ModelError("REFUND reply names \(id), not the requested \(request["credit"] ?? "?")")
        }
        let refunded = try amount(fields, "refunded", currency: credit.currency)
        credits[id]!.balance += refunded
        credits[id]!.entries += 1
        totals[credit.currency, default: MoneyTotals()].refunded += refunded
    }

    /// The pending hold a CAPTURE or VOID reply resolved; throws if it was not pending.
    private func pendingHold(_ request: Request, _ fields: Fields) throws(ModelError) -> ModelHold {
        let id = try field(fields, "hold")
        guard id == request["hold"] else { throw ModelError("\(request.verb) reply names \(id), not \(request["hold"] ?? "?")") }
        guard let hold = pending[id] else {
            throw ModelError("\(request.verb) of \(id) succeeded, but \(id) was \(finished[id] == nil ? "never created" : "already resolved")")
        }
        return hold
    }

    private func field(_ fields: Fields, _ key: String) throws(ModelError) -> String {
        guard let value = fields[key] else { throw ModelError("reply has no \(key)=") }
        return value
    }

    /// Reads an amount and learns (or checks) the currency's minor digits.
    private mutating func amount(_ fields: Fields, _ key: String, currency: String) throws(ModelError) -> MinorUnits {
        guard let text = fields[key], let value = MinorUnits(text) else { throw ModelError("reply has no amount \(key)=") }
        let shown = MinorUnits.digits(of: text)
        if let known = digits[currency], known != shown {
            throw ModelError("\(key)=\(text) shows \(shown) minor digits; \(currency) has \(known)")
        }
        digits[currency] = shown
        return value
    }

    /// Sum of pending legs per currency.
    var heldByCurrency: [String: MinorUnits] {
        var held: [String: MinorUnits] = [:]
        for credit in credits.values { held[credit.currency, default: .zero] += credit.held }
        return held
    }

    /// An amount of `currency` as the daemon prints it.
    func format(_ amount: MinorUnits, _ currency: String) -> String {
        amount.formatted(digits: digits[currency] ?? 2)
    }
}

/// A reply that contradicts the model.
struct ModelError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
