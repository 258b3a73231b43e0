// The simulation's model of gift card flows, REVERSE and PIN locks: the card gate, STOCK, ACTIVATE, LOAD, REPLACE, TRANSFER, CLAIM, REVERSE and UNLOCK written out again from the rules, and the requests the simulation must not send.

import CreditCore

/// What the card gate lets through, as the model sees it.
enum ModelGate {
    /// A right PIN on an unlocked card; the events clear earlier wrong PINs, if any.
    case pass([Event])
    /// Declined or locked; the events record the attempt (none for a locked card).
    case refuse(ErrorCode, [Event])
}

/// The model's decoy lock: what a real card's PIN state would be if every PIN tried on it was wrong.
struct ModelDecoy: Equatable {
    var failures = 0
    var lockedUntil: Instant?
    var lastFailureAt: Instant
}

extension Simulation {
    /// The card and PIN a command names, if it names a card that way.
    func cardSelector(_ command: Command) -> (cardDigest: Digest32, pinDigest: Digest32)? {
        switch command {
        case .balance(.card(let card, let pin)): return (card, pin)
        case .hold(let hold), .quote(let hold):
            if case .card(let card, let pin) = hold.selector { return (card, pin) }
            return nil
        default: return nil
        }
    }

    /// The credit whose current card has this number, found by looking at every credit.
    func creditWithCard(_ cardDigest: Digest32) -> Credit? {
        live.state.credits.values.first { $0.card?.cardDigest == cardDigest }
    }

    /// A locked card is CARD_LOCKED whatever the PIN, and nothing is recorded; an unknown card and
    /// a wrong PIN are DECLINED and recorded (the wrong PIN against its card, the unknown number
    /// against its decoy, which locks as a card would); a right PIN clears earlier wrong ones and
    /// a lock that has run out.
    func gate(_ card: (cardDigest: Digest32, pinDigest: Digest32)) -> ModelGate {
        guard let credit = creditWithCard(card.cardDigest) else {
            if let until = decoys[card.cardDigest]?.lockedUntil, now < until { return .refuse(.cardLocked, []) }
            return .refuse(.declined, [.unknownCardDeclined(card.cardDigest)])
        }
        if let until = credit.lockedUntil, now < until { return .refuse(.cardLocked, []) }
        guard credit.card!.pinDigest == card.pinDigest else { return .refuse(.declined, [.cardDeclined(credit.id)]) }
        return .pass(credit.pinFailures > 0 || credit.lockedUntil != nil ? [.pinReset(credit.id)] : [])
    }

    // MARK: STOCK, ACTIVATE, LOAD, REPLACE

    func predictStock(_ cards: [CardKeys], _ code: String, _ batch: String?) -> Expected {
        guard let currency = policy.currencies[code] else { return .refuse(.badCurrency) }
        let first = live.state.lastCreditNumber + 1
        var events: [Event] = []
        var items: [[Field]] = []
        for (offset, card) in cards.enumerated() {
            let id = CreditID(first + UInt64(offset))
            events.append(.issued(IssuedCredit(credit: id, type: .gift, currency: code, amount: .zero, expires: nil,
                                               profile: nil, card: card, status: .inactive, batch: batch)))
            items.append([Field("credit", id.description), Field("card", masked(card))])
        }
        var fields = [Field("count", String(cards.count)), Field("currency", currency.code)]
        if let batch { fields.append(Field("batch", batch)) }
        return .apply(events, Reply(items: items, fields: fields), .none)
    }

    /// ACTIVATE makes a stock card active with its first value; LOAD tops up an active card. Both
    /// find the card by number alone.
    func predictLoad(_ cardDigest: Digest32, _ amount: DecimalAmount, _ code: String, activate: Bool) -> Expected {
        guard let credit = creditWithCard(cardDigest) else { return .refuse(.declined) }
        if activate {
            if let error = usabilityError(credit), error != .creditInactive { return .refuse(error) }
            if credit.status != .inactive { return .refuse(.badRequest) }  // already activated
        } else if let error = usabilityError(credit) {
            return .refuse(error)
        }
        let units: MinorUnits
        switch valueToAdd(amount, code, to: credit) {
        case .failure(let refusal): return .refuse(refusal.code)
        case .success(let value): units = value
        }
        let reply = Reply(fields: [Field("credit", credit.id.description), Field("loaded", text(units, credit.currency)),
                                   Field("balance", text(credit.balance + units, credit.currency)),
                                   Field("currency", code), Field("status", "active")])
        return .apply([.loaded(credit.id, amount: units, activate: activate)], reply,
                      .loaded(credit.id, amount: units, activated: activate))
    }

    func predictReplace(_ id: CreditID, _ keys: CardKeys) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        guard let old = credit.card else { return .refuse(.badRequest) }
        if credit.status == .cancelled { return .refuse(.creditCancelled) }
        if credit.status == .expired { return .refuse(.creditExpired) }
        let reply = Reply(fields: [Field("credit", id.description), Field("card", masked(keys)), Field("replaced", masked(old))])
        return .apply([.cardReplaced(id, keys)], reply, .none)
    }

    // MARK: TRANSFER and CLAIM

    func predictTransfer(_ id: CreditID, to profile: ProfileID, _ amount: DecimalAmount?, from: ProfileID?) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        if let from, credit.profile != from { return .refuse(.forbidden) }
        if credit.type != .gift { return .refuse(.notTransferable) }
        if let error = usabilityError(credit) { return .refuse(error) }
        if credit.claim != nil { return .refuse(.badRequest) }  // waits for its recipient's CLAIM
        if credit.profile == profile { return .refuse(.badRequest) }
        let currency = credit.currency
        guard let amount else {
            return .apply([.transferred(id, to: profile, claimed: false)],
                          Reply(fields: [Field("credit", id.description), Field("profile", profile.text),
                                         Field("balance", text(credit.balance, currency)), Field("currency", currency.code)]),
                          .none)
        }
        guard let units = positiveUnits(amount, currency) else { return .refuse(.badAmount) }
        if units > credit.available { return .refuse(.insufficientFunds) }
        let newID = CreditID(live.state.lastCreditNumber + 1)
        return .apply([.split(id, into: newID, amount: units, to: profile)],
                      Reply(fields: [Field("credit", id.description), Field("new_credit", newID.description),
                                     Field("amount", text(units, currency)), Field("profile", profile.text),
                                     Field("balance", text(credit.balance - units, currency)), Field("currency", currency.code)]),
                      .none)
    }

    /// A pending claim code moves its card to the claimer; a frozen card can still be claimed.
    func predictClaim(_ code: Digest32, _ profile: ProfileID) -> Expected {
        guard let credit = live.state.credits.values.first(where: { $0.claim == code }) else { return .refuse(.declined) }
        if credit.status != .frozen, let error = usabilityError(credit) { return .refuse(error) }
        return .apply([.transferred(credit.id, to: profile, claimed: true)],
                      Reply(fields: [Field("credit", credit.id.description), Field("profile", profile.text),
                                     Field("balance", text(credit.balance, credit.currency)),
                                     Field("currency", credit.currency.code)]),
                      .none)
    }

    // MARK: REVERSE and UNLOCK

    /// Undoes the same client's request `original`: a pending hold is voided (a lapsed, voided or
    /// expired one needs nothing), a capture is refunded leg by leg, an untouched issue or activation
    /// is cancelled, a load or refund is taken back if still available. An unknown ref becomes a
    /// tombstone. Anything else, and anything reversed already, is NOT_REVERSIBLE.
    func predictReverse(_ original: Ref, client: ClientID) -> Expected {
        guard let known = remembered[ModelKey(client: client.text, ref: original.text)] else {
            return .apply([.tombstone(client, original)],
                          Reply(fields: [Field("original", original.text), Field("effect", "none"), Field("tombstone", "yes")]),
                          .none)
        }
        var events: [Event]
        let effect: String
        switch known.action {
        case .none, .tombstone:
            return .refuse(.notReversible)
        case .held(let id):
            let hold = live.state.holds[id]!
            switch hold.state {
            case .pending where now < hold.deadline: (events, effect) = ([.voided(id)], "voided")
            case .pending, .voided, .expired: (events, effect) = ([], "none")
            case .captured: return .refuse(.notReversible)
            }
        case .captured(let id):
            let hold = live.state.holds[id]!
            events = []
            for (leg, taken) in zip(hold.legs, hold.captured) where taken > .zero {
                let credit = live.state.credits[leg.credit]!
                guard [.active, .frozen].contains(credit.status),
                      credit.balance.value + taken.value <= credit.currency.balanceMax.value
                else { return .refuse(.notReversible) }
                events.append(.reversal(leg.credit, delta: taken))
            }
            effect = "refunded"
        case .issued(let id), .loaded(let id, _, activated: true):
            guard isUntouched(live.state.credits[id]!) else { return .refuse(.notReversible) }
            (events, effect) = ([.cancelled(id, reason: "reversal of \(original)")], "cancelled")
        case .loaded(let id, let amount, activated: false), .refunded(let id, let amount):
            let credit = live.state.credits[id]!
            guard credit.available >= amount, usabilityError(credit) == nil || credit.status == .frozen
            else { return .refuse(.notReversible) }
            (events, effect) = ([.reversal(id, delta: MinorUnits(-amount.value))], "taken_back")
        }
        return .apply(events + [.markReversed(client, original)],
                      Reply(fields: [Field("original", original.text), Field("effect", effect)]), .none)
    }

    /// Nothing but its creation happened to it: issue, bonus, stock and at most one load.
    func isUntouched(_ credit: Credit) -> Bool {
        let kinds = credit.history.map(\.kind)
        return credit.pendingHoldCount == 0 && credit.status != .cancelled && credit.status != .expired
            && kinds.allSatisfy { [.issue, .bonus, .stock, .load].contains($0) } && kinds.filter { $0 == .load }.count <= 1
    }

    func predictUnlock(_ id: CreditID) -> Expected {
        guard let credit = live.state.credits[id] else { return .refuse(.notFound) }
        guard credit.card != nil else { return .refuse(.badRequest) }
        return .apply([.pinReset(id)], Reply(fields: [Field("credit", id.description), Field("locked", "no")]), .none)
    }

    // MARK: Requests not sent

    /// Requests the simulation does not send, and why (for the tally).
    func skipReason(_ expected: Expected) -> String? {
        guard case .apply(let events, _, _) = expected else { return nil }
        var shadows = shadow
        for event in events {
            switch event {
            case .issued(let issued):
                // A retried ISSUE or STOCK whose ref is no longer remembered (or sent by the other
                // client) would reuse its card digests; the server draws fresh card numbers for every
                // request, and the core traps on a duplicate.
                if let card = issued.card, shadows.values.contains(where: { $0.card?.cardDigest == card.cardDigest }) {
                    return "skip-duplicate-card"
                }
                if let claim = issued.claim, shadows.values.contains(where: { $0.claim == claim }) { return "skip-duplicate-card" }
            case .cardReplaced(_, let keys):
                if shadows.values.contains(where: { $0.card?.cardDigest == keys.cardDigest }) { return "skip-duplicate-card" }
            case .held(let placed):
                for leg in placed.legs { shadows[leg.credit]?.pending.insert(placed.hold) }
            case .captured(let id, let legs):
                let hold = live.state.holds[id]!
                for (leg, take) in zip(hold.legs, legs) {
                    shadows[leg.credit]!.pending.remove(id)
                    if take.amount > .zero { shadows[leg.credit]!.revertAt = nil }
                }
            case .voided(let id):
                let hold = live.state.holds[id]!
                for leg in hold.legs { shadows[leg.credit]!.pending.remove(id) }
            default:
                break
            }
        }
        return nil
    }
}
