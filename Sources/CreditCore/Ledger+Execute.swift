// Executing commands: check every rule, then build the entry and apply it — or refuse and change nothing.

/// What executing a command came to.
public enum Execution: Sendable {
    /// A read: nothing changed — except, when `entry` is set, security state the read touched
    /// (a card's wrong-PIN count cleared by a right PIN), which must be journaled.
    case read(Reply, Entry?)
    /// A change was applied; the entry must be journaled before the reply is sent.
    case applied(Entry, Reply)
    /// A retry of an applied request: its original reply, nothing changed.
    case replayed(Reply)
    /// Refused: nothing changed, nothing remembered.
    case refused(CreditError)
    /// Refused, but the attempt itself is recorded: a declined card (wrong PIN counts toward the
    /// card's lock; an unknown card is audited). The entry must be journaled.
    case refusedRecorded(CreditError, Entry)
}

/// A decision: the events a command causes, its reply, and what REVERSE would have to undo.
struct Decision {
    var events: [Event]
    var reply: Reply
    var action: RecordedAction = .none
}

extension Ledger {
    /// Most events one sweep entry holds: keeps every journal record small; the caller sweeps
    /// again until nothing is due.
    public static let sweepEventsMax = 1000

    /// Executes a command at `context.now`: replays a known ref, refuses a bad request, or
    /// applies the command's entry. Call `sweep(now:)` first so due holds and credits have expired.
    public mutating func execute(_ command: Command, context: RequestContext) -> Execution {
        let now = max(context.now, state.lastAt)
        guard command.isMutating else {
            var reset: Event?
            if let card = command.cardSelector {
                switch cardGate(card, now: now) {
                case .refuse(let error, let events): return refuseRecorded(error, events, now: now)
                case .pass(let event): reset = event
                }
            }
            switch read(command, now: now) {
            case .success(let reply):
                guard let reset else { return .read(reply, nil) }
                let entry = Entry(at: now, idempotency: nil, events: [reset])
                apply(entry)
                return .read(reply, entry)
            case .failure(let error):
                return .refused(error)
            }
        }
        guard let ref = context.ref else { return .refused(CreditError(.badRequest, "ref= is required")) }
        let (refHash, known) = refLookup(client: context.client, ref: ref, knownHash: context.refHash)
        if let index = known {
            let record = state.refs[index].record
            guard record.action != .tombstone else {
                return .refused(CreditError(.reversed, "ref \(ref) was reversed before it arrived; nothing was done"))
            }
            guard record.fingerprint.constantTimeEquals(context.fingerprint) else {
                return .refused(CreditError(.refConflict, "ref \(ref) was used for a different request"))
            }
            return .replayed(record.reply)
        }
        var reset: Event?
        if let card = command.cardSelector {
            switch cardGate(card, now: now) {
            case .refuse(let error, let events): return refuseRecorded(error, events, now: now)
            case .pass(let event): reset = event
            }
        }
        switch decide(command, context: context, now: now) {
        case .failure(let error):
            return .refused(error)
        case .success(let decision):
            let record = IdempotencyRecord(client: context.client, ref: ref, fingerprint: context.fingerprint,
                                           reply: decision.reply, action: decision.action)
            // The decision's own array when there is no reset to put first: joining it to an
            // empty one made a new array for every request.
            let entry = Entry(at: now, idempotency: record, events: reset.map { [$0] + decision.events } ?? decision.events)
            apply(entry, refHash: refHash)
            return .applied(entry, decision.reply)
        }
    }

    /// Expires what is due at `now` — pending holds past their deadline, then credits past their
    /// expiry date (their balance becomes breakage) — at most `sweepEventsMax` per entry, as one
    /// entry to journal; nil when nothing is due.
    public mutating func sweep(now: Instant) -> Entry? {
        let now = max(now, state.lastAt)
        var events: [Event] = []
        while events.count < Ledger.sweepEventsMax, let first = deadlines.first, first.deadline <= now {
            _ = deadlines.popFirst()
            if state.holds[first.id]?.state == .pending { events.append(.expired(first.id)) }
        }
        let holdsDone = deadlines.first.map { $0.deadline > now } ?? true
        var reverting = Set<CreditID>()  // a card may be in the heap twice (issue, last hold resolved)
        while holdsDone, events.count < Ledger.sweepEventsMax, let first = reverts.first, first.deadline <= now {
            _ = reverts.popFirst()
            guard reverting.insert(first.id).inserted,
                  let credit = state.credits[first.id], let revertAt = credit.revertAt, revertAt <= now,
                  [.active, .frozen].contains(credit.status), unusable(credit, now: now)?.code != .creditExpired
            else { continue }
            // With holds pending, the revert waits: resolving the last one puts the card back in
            // the heap (a capture cancels the revert, a void or expiry lets it go ahead).
            if credit.pendingHoldCount == 0 { events.append(.reverted(first.id)) }
        }
        while holdsDone, events.count < Ledger.sweepEventsMax, let first = creditExpiries.first, first.deadline <= now {
            _ = creditExpiries.popFirst()
            if let credit = state.credits[first.id], [.inactive, .active, .frozen].contains(credit.status) {
                events.append(.creditExpired(first.id))
            }
        }
        guard !events.isEmpty else { return nil }
        let entry = Entry(at: now, idempotency: nil, events: events)
        apply(entry)
        return entry
    }

    private func read(_ command: Command, now: Instant) -> Result<Reply, CreditError> {
        switch command {
        case .balance(let selector):
            return resolve(selector).map { Reply(fields: balanceFields($0, now: now)) }
        case .quote(let hold):
            return plan(hold, now: now).map { quoteReply($0) }
        case .history(let id, let limit):
            return history(id, limit: limit)
        case .credits(let profile):
            return .success(creditsReply(profile, now: now))
        case .report(let kind):
            return report(kind)
        case .rates:
            let items = policy.rates.all.map { [Field("from", $0.from), Field("to", $0.to), Field("rate", $0.rate.description)] }
            return .success(Reply(items: items, fields: [Field("count", String(items.count))]))
        default:
            preconditionFailure("mutating command in read path")
        }
    }

    private func decide(_ command: Command, context: RequestContext, now: Instant) -> Result<Decision, CreditError> {
        switch command {
        case .issue(let issue): return decideIssue(issue, now: now)
        case .hold(let hold): return decideHold(hold, now: now)
        case .capture(let id, let amount): return decideCapture(id, amount: amount, now: now)
        case .void(let id): return decideVoid(id, now: now)
        case .refund(let id, let amount, let currency): return decideRefund(id, amount, currency, now: now)
        case .changeStatus(let id, let change, let reason): return decideStatus(id, change, reason, now: now)
        case .stock(let count, let cards, let currency, let batch):
            precondition(cards.count == count, "the server makes one card per stock item")
            return decideStock(cards, currency, batch)
        case .activate(let digest, let amount, let currency): return decideLoad(digest, amount, currency, activate: true, now: now)
        case .load(let digest, let amount, let currency): return decideLoad(digest, amount, currency, activate: false, now: now)
        case .replace(let id, let keys):
            guard let keys else { preconditionFailure("the server makes the replacement card") }
            return decideReplace(id, keys, now: now)
        case .transfer(let id, let profile, let amount, let from):
            if let from, state.credits[id].map({ $0.profile != from }) ?? false {
                return .failure(CreditError(.forbidden, "credit \(id) does not belong to \(from)"))
            }
            return decideTransfer(id, to: profile, amount, now: now)
        case .claim(let code, let profile): return decideClaim(code, profile, now: now)
        case .reverse(let original): return decideReverse(original, client: context.client, now: now)
        case .unlock(let id):
            guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
            guard credit.card != nil else { return .failure(CreditError(.badRequest, "credit \(id) has no card")) }
            let reply = Reply(fields: [Field("credit", id.description), Field("locked", "no")])
            return .success(Decision(events: [.pinReset(id)], reply: reply))
        case .balance, .quote, .history, .credits, .rates, .report: preconditionFailure("read command in decide path")
        }
    }
}

/// What the card check lets through.
enum CardGate {
    /// A right PIN on an unlocked card; the event clears earlier wrong PINs, if there were any.
    case pass(Event?)
    /// Declined or locked; the events record the attempt.
    case refuse(CreditError, [Event])
}

// MARK: Shared checks

extension Ledger {
    /// Checks a card and PIN before anything else: a locked card answers CARD_LOCKED whatever the
    /// PIN; an unknown card and a wrong PIN are the same DECLINED, both recorded and both counted
    /// toward a lock (an unknown number's is a decoy), so they cost the same journal write and a
    /// lock reveals nothing about whether the number exists.
    func cardGate(_ card: (cardDigest: Digest32, pinDigest: Digest32), now: Instant) -> CardGate {
        // The fields it needs, read where the credit lies (a copy of the credit retained all it holds).
        let credit = creditID(forCard: card.cardDigest).flatMap { id in
            state.credits.withValueAddress(id) { credit in
                (id: id, pinDigest: credit.pointee.card?.pinDigest, lockedUntil: credit.pointee.lockedUntil,
                 pinFailures: credit.pointee.pinFailures)
            }
        }
        let expected = credit?.pinDigest ?? Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
        let pinMatches = expected.constantTimeEquals(card.pinDigest)
        guard let credit else {
            if let decoy = state.decoys[card.cardDigest], let until = decoy.lockedUntil, now < until {
                return .refuse(Self.cardLocked(until: until), [])
            }
            return .refuse(CreditError(.declined, "card declined"), [.unknownCardDeclined(card.cardDigest)])
        }
        if let until = credit.lockedUntil, now < until { return .refuse(Self.cardLocked(until: until), []) }
        guard pinMatches else { return .refuse(CreditError(.declined, "card declined"), [.cardDeclined(credit.id)]) }
        return .pass(credit.pinFailures > 0 || credit.lockedUntil != nil ? .pinReset(credit.id) : nil)
    }

    /// The refusal of a locked card, real or decoy alike.
    static func cardLocked(until: Instant) -> CreditError {
        CreditError(.cardLocked, "card locked after too many wrong PINs until \(until.rfc3339)")
    }

    private mutating func refuseRecorded(_ error: CreditError, _ events: [Event], now: Instant) -> Execution {
        guard !events.isEmpty else { return .refused(error) }
        let entry = Entry(at: now, idempotency: nil, events: events)
        apply(entry)
        return .refusedRecorded(error, entry)
    }

    /// The credit a selector names. An unknown card and a wrong PIN are the same DECLINED, and
    /// both do one constant-time digest comparison, so neither reply nor timing tells them apart.
    func resolve(_ selector: CreditSelector) -> Result<Credit, CreditError> {
        switch selector {
        case .credit(let id):
            guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
            return .success(credit)
        case .card(let cardDigest, let pinDigest):
            // The PIN digest is read where the credit lies; the credit is copied once, on success.
            let id = creditID(forCard: cardDigest)
            let stored = id.flatMap { id in state.credits.withValueAddress(id) { $0.pointee.card?.pinDigest } ?? nil }
            let expected = stored ?? Digest32(w0: 0, w1: 0, w2: 0, w3: 0)
            let pinMatches = expected.constantTimeEquals(pinDigest)
            guard let id, pinMatches, let credit = state.credits[id] else { return .failure(CreditError(.declined, "card declined")) }
            return .success(credit)
        case .profile(let profile):
            return .failure(CreditError(.badRequest, "profile \(profile) names several credits; give credit= or card="))
        }
    }

    /// Nil if value can be taken from the credit at `now`, else the error saying why not.
    func unusable(_ credit: Credit, now: Instant) -> CreditError? {
        if let expires = credit.expires, now >= expires.endInstant, credit.status != .cancelled {
            return CreditError(.creditExpired, "credit \(credit.id) expired at the end of \(expires)")
        }
        switch credit.status {
        case .active: return nil
        case .inactive: return CreditError(.creditInactive, "credit \(credit.id) is not activated")
        case .frozen: return CreditError(.creditFrozen, "credit \(credit.id) is frozen")
        case .cancelled: return CreditError(.creditCancelled, "credit \(credit.id) is cancelled")
        case .expired: return CreditError(.creditExpired, "credit \(credit.id) has expired")
        }
    }

    /// The configured currency and the amount in its minor units, or BAD_CURRENCY / BAD_AMOUNT.
    func money(_ amount: DecimalAmount, _ code: String) -> Result<(Currency, MinorUnits), CreditError> {
        guard let currency = policy.currencies[code] else {
            return .failure(CreditError(.badCurrency, "unknown currency \(code)"))
        }
        return minorUnits(amount, currency).map { (currency, $0) }
    }

    /// A positive amount in `currency`'s minor units, or BAD_AMOUNT.
    func minorUnits(_ amount: DecimalAmount, _ currency: Currency) -> Result<MinorUnits, CreditError> {
        guard let units = amount.minorUnits(in: currency), units.value > 0 else {
            return .failure(CreditError(.badAmount, "amount must be positive with at most \(currency.minorDigits) decimal places for \(currency.code)"))
        }
        return .success(units)
    }

    /// Value to add to `credit` (REFUND, ACTIVATE, LOAD): the request's currency must be the
    /// credit's, and the balance must stay within the currency's maximum.
    func valueToAdd(_ amount: DecimalAmount, _ code: String, to credit: Credit) -> Result<MinorUnits, CreditError> {
        guard code == credit.currency.code else {
            guard policy.currencies[code] != nil else { return .failure(CreditError(.badCurrency, "unknown currency \(code)")) }
            return .failure(CreditError(.currencyMismatch, "credit \(credit.id) is in \(credit.currency.code), not \(code)"))
        }
        return minorUnits(amount, credit.currency).flatMap { units in
            guard units.value <= credit.currency.balanceMax.value - credit.balance.value else {
                return .failure(CreditError(.badAmount, "would exceed the maximum balance of \(text(credit.currency.balanceMax, credit.currency)) \(code)"))
            }
            return .success(units)
        }
    }

    /// `amount` formatted in `currency`.
    func text(_ amount: MinorUnits, _ currency: Currency) -> String { formatAmount(amount, currency) }
}
