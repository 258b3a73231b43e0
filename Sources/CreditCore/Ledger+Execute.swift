// Executing commands: check every rule, then build the entry and apply it — or refuse and change nothing.

/// What executing a command came to.
public enum Execution: Sendable {
    /// A read: nothing changed.
    case read(Reply)
    /// A change was applied; the entry must be journaled before the reply is sent.
    case applied(Entry, Reply)
    /// A retry of an applied request: its original reply, nothing changed.
    case replayed(Reply)
    /// Refused: nothing changed, nothing remembered.
    case refused(CreditError)
}

/// A decision: the events a command causes, the reply to send now, and the one to remember.
private struct Decision {
    var events: [Event]
    var reply: Reply
    var storedReply: Reply
}

extension Ledger {
    /// Executes a command at `context.now`: replays a known ref, refuses a bad request, or
    /// applies the command's entry. Call `sweep(now:)` first so due holds have expired.
    public mutating func execute(_ command: Command, context: RequestContext) -> Execution {
        let now = max(context.now, state.lastAt)
        guard command.isMutating else {
            switch read(command, now: now) {
            case .success(let reply): return .read(reply)
            case .failure(let error): return .refused(error)
            }
        }
        guard let ref = context.ref else { return .refused(CreditError(.badRequest, "ref= is required")) }
        if let index = refIndex[RefKey(client: context.client, ref: ref)] {
            let record = state.refs[index].record
            guard record.fingerprint.constantTimeEquals(context.fingerprint) else {
                return .refused(CreditError(.refConflict, "ref \(ref) was used for a different request"))
            }
            return .replayed(record.reply)
        }
        switch decide(command, now: now) {
        case .failure(let error):
            return .refused(error)
        case .success(let decision):
            let record = IdempotencyRecord(client: context.client, ref: ref, fingerprint: context.fingerprint,
                                           reply: decision.storedReply)
            let entry = Entry(at: now, idempotency: record, events: decision.events)
            apply(entry)
            return .applied(entry, decision.reply)
        }
    }

    /// Most holds one sweep entry expires: keeps every journal record small; the caller sweeps
    /// again until nothing is due.
    public static let sweepEventsMax = 1000

    /// Expires pending holds whose deadline is at or before `now` — at most `sweepEventsMax` of
    /// them — as one entry to journal; nil when none is due.
    public mutating func sweep(now: Instant) -> Entry? {
        let now = max(now, state.lastAt)
        var events: [Event] = []
        while events.count < Ledger.sweepEventsMax, let first = deadlines.first, first.deadline <= now {
            _ = deadlines.popFirst()
            if state.holds[first.hold]?.state == .pending { events.append(.expired(first.hold)) }
        }
        guard !events.isEmpty else { return nil }
        let entry = Entry(at: now, idempotency: nil, events: events)
        apply(entry)
        return entry
    }

    private func read(_ command: Command, now: Instant) -> Result<Reply, CreditError> {
        switch command {
        case .balance(let selector):
            return resolve(selector).map { credit in Reply(fields: balanceFields(credit, now: now)) }
        case .history(let id, let limit):
            return history(id, limit: limit)
        case .issue, .hold, .capture, .void:
            preconditionFailure("mutating command in read path")
        }
    }

    private func decide(_ command: Command, now: Instant) -> Result<Decision, CreditError> {
        switch command {
        case .issue(let issue): return decideIssue(issue, now: now)
        case .hold(let hold): return decideHold(hold, now: now)
        case .capture(let id, let amount): return decideCapture(id, amount: amount, now: now)
        case .void(let id): return decideVoid(id, now: now)
        case .balance, .history: preconditionFailure("read command in decide path")
        }
    }

    // MARK: Rules per command

    private func decideIssue(_ issue: IssueCommand, now: Instant) -> Result<Decision, CreditError> {
        let currency: Currency
        let amount: MinorUnits
        switch money(issue.amount, issue.currency) {
        case .failure(let error): return .failure(error)
        case .success(let pair): (currency, amount) = pair
        }
        guard amount <= currency.balanceMax else {
            return .failure(CreditError(.badAmount, "amount exceeds the maximum balance of \(formatAmount(currency.balanceMax, currency)) \(currency.code)"))
        }
        if issue.type != .gift && issue.profile == nil {
            return .failure(CreditError(.badRequest, "\(issue.type.rawValue) credit requires profile="))
        }
        precondition((issue.type == .gift) == (issue.card != nil), "gift cards, and only they, carry card keys")
        if let expires = issue.expires, expires.endInstant <= now {
            return .failure(CreditError(.badRequest, "expires=\(expires) is in the past"))
        }
        let id = CreditID(state.lastCreditNumber + 1)
        let issued = IssuedCredit(credit: id, type: issue.type, currency: currency.code, amount: amount,
                                  expires: issue.expires, profile: issue.profile, card: issue.card)
        var fields = [Field("credit", id.description), Field("type", issue.type.rawValue),
                      Field("balance", formatAmount(amount, currency)), Field("currency", currency.code)]
        if let card = issue.card { fields.append(Field("card", card.masked)) }
        if let expires = issue.expires { fields.append(Field("expires", expires.description)) }
        let reply = Reply(fields: fields)
        return .success(Decision(events: [.issued(issued)], reply: reply, storedReply: reply))
    }

    private func decideHold(_ command: HoldCommand, now: Instant) -> Result<Decision, CreditError> {
        let credit: Credit
        switch resolve(command.selector) {
        case .failure(let error): return .failure(error)
        case .success(let found): credit = found
        }
        let requested: MinorUnits
        switch money(command.amount, command.currency) {
        case .failure(let error): return .failure(error)
        case .success(let (currency, amount)):
            guard currency.code == credit.currency.code else {
                return .failure(CreditError(.currencyMismatch, "credit is in \(credit.currency.code), sale is in \(currency.code)"))
            }
            requested = amount
        }
        if let expires = credit.expires, now >= expires.endInstant {
            return .failure(CreditError(.creditExpired, "credit expired at the end of \(expires)"))
        }
        let ttl = command.ttl ?? policy.holdTTLDefault
        guard ttl <= policy.holdTTLMax else {
            return .failure(CreditError(.badRequest, "ttl exceeds the maximum of \(policy.holdTTLMax.ttlText)"))
        }
        guard credit.pendingHolds.count < policy.holdsPerCreditMax else {
            return .failure(CreditError(.tooManyHolds, "credit has \(policy.holdsPerCreditMax) pending holds"))
        }
        let available = credit.available
        var amount = requested
        if requested > available {
            guard command.partial, available > .zero else {
                return .failure(CreditError(.insufficientFunds, "\(formatAmount(available, credit.currency)) \(credit.currency.code) available"))
            }
            amount = available
        }
        var deadline = now.adding(ttl).roundedUpToSecond
        if let expires = credit.expires, expires.endInstant < deadline { deadline = expires.endInstant }
        let id = HoldID(state.lastHoldNumber + 1)
        let placed = PlacedHold(hold: id, credit: credit.id, amount: amount, requested: requested, deadline: deadline)
        let reply = Reply(fields: [
            Field("hold", id.description), Field("credit", credit.id.description),
            Field("amount", formatAmount(amount, credit.currency)),
            Field("requested", formatAmount(requested, credit.currency)), Field("currency", credit.currency.code),
            Field("available", formatAmount(available - amount, credit.currency)), Field("expires", deadline.rfc3339),
        ])
        return .success(Decision(events: [.held(placed)], reply: reply, storedReply: reply))
    }

    private func decideCapture(_ id: HoldID, amount: DecimalAmount?, now: Instant) -> Result<Decision, CreditError> {
        let hold: Hold
        switch pendingHold(id, now: now) {
        case .failure(let error): return .failure(error)
        case .success(let found): hold = found
        }
        let credit = state.credits[hold.credit]!
        var captured = hold.amount
        if let amount {
            guard let units = amount.minorUnits(in: credit.currency), units.value > 0 else {
                return .failure(CreditError(.badAmount, amountMessage(credit.currency)))
            }
            guard units <= hold.amount else {
                return .failure(CreditError(.exceedsHold, "hold \(id) is for \(formatAmount(hold.amount, credit.currency)) \(credit.currency.code)"))
            }
            captured = units
        }
        let reply = Reply(fields: [
            Field("hold", id.description), Field("captured", formatAmount(captured, credit.currency)),
            Field("released", formatAmount(hold.amount - captured, credit.currency)),
            Field("balance", formatAmount(credit.balance - captured, credit.currency)),
            Field("currency", credit.currency.code),
        ])
        return .success(Decision(events: [.captured(id, amount: captured)], reply: reply, storedReply: reply))
    }

    private func decideVoid(_ id: HoldID, now: Instant) -> Result<Decision, CreditError> {
        switch pendingHold(id, now: now) {
        case .failure(let error):
            return .failure(error)
        case .success(let hold):
            let currency = state.credits[hold.credit]!.currency
            let reply = Reply(fields: [Field("hold", id.description),
                                       Field("released", formatAmount(hold.amount, currency)),
                                       Field("currency", currency.code)])
            return .success(Decision(events: [.voided(id)], reply: reply, storedReply: reply))
        }
    }

    // MARK: Shared checks

    /// A hold that can still be captured or voided, or the error saying why not.
    private func pendingHold(_ id: HoldID, now: Instant) -> Result<Hold, CreditError> {
        guard let hold = state.holds[id] else { return .failure(CreditError(.notFound, "no hold \(id)")) }
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

    /// The configured currency and the amount in its minor units, or BAD_CURRENCY / BAD_AMOUNT.
    private func money(_ amount: DecimalAmount, _ code: String) -> Result<(Currency, MinorUnits), CreditError> {
        guard let currency = policy.currencies[code] else {
            return .failure(CreditError(.badCurrency, "unknown currency \(code)"))
        }
        guard let units = amount.minorUnits(in: currency), units.value > 0 else {
            return .failure(CreditError(.badAmount, amountMessage(currency)))
        }
        return .success((currency, units))
    }

    private func amountMessage(_ currency: Currency) -> String {
        "amount must be positive with at most \(currency.minorDigits) decimal places for \(currency.code)"
    }

    /// The credit a selector names. An unknown card and a wrong PIN are the same DECLINED, and
    /// both do one constant-time digest comparison, so neither reply nor timing tells them apart.
    func resolve(_ selector: CreditSelector) -> Result<Credit, CreditError> {
        switch selector {
        case .credit(let id):
            guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
            return .success(credit)
        case .card(let cardDigest, let pinDigest):
            let credit = cardIndex[cardDigest].flatMap { state.credits[$0] }
            let expected = credit?.card?.pinDigest ?? Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
            let pinMatches = expected.constantTimeEquals(pinDigest)
            guard let credit, pinMatches else { return .failure(CreditError(.declined, "card declined")) }
            return .success(credit)
        }
    }

    /// BALANCE's fields. A credit past its expiry date shows `status=expired` (HOLD refuses it
    /// with CREDIT_EXPIRED) even before expiry is recorded as an activity.
    private func balanceFields(_ credit: Credit, now: Instant) -> [Field] {
        let expired = credit.expires.map { now >= $0.endInstant } ?? false
        var fields = [Field("credit", credit.id.description), Field("type", credit.type.rawValue),
                      Field("balance", formatAmount(credit.balance, credit.currency)),
                      Field("held", formatAmount(credit.held, credit.currency)),
                      Field("available", formatAmount(credit.available, credit.currency)),
                      Field("currency", credit.currency.code), Field("status", expired ? "expired" : credit.status.rawValue)]
        if let expires = credit.expires { fields.append(Field("expires", expires.description)) }
        return fields
    }

    private func history(_ id: CreditID, limit: Int) -> Result<Reply, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        let shown = credit.history.suffix(limit)
        let items = shown.map { activity -> [Field] in
            var fields = [Field("seq", String(activity.seq)), Field("at", activity.at.rfc3339),
                          Field("kind", activity.kind.rawValue),
                          Field("amount", formatAmount(activity.amount, credit.currency)),
                          Field("balance", formatAmount(activity.balanceAfter, credit.currency))]
            if let hold = activity.hold { fields.append(Field("hold", hold.description)) }
            if let ref = activity.ref { fields.append(Field("ref", ref.text)) }
            return fields
        }
        return .success(Reply(items: items, fields: [Field("credit", id.description), Field("count", String(items.count))]))
    }
}
