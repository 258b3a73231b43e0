// Generates the simulation's random gift card requests — STOCK, ACTIVATE, LOAD, REPLACE, TRANSFER, CLAIM, REVERSE, UNLOCK and PIN probes — valid most of the time, and each kind of invalid one now and then.

import CreditCore

extension Simulation {
    /// Credits matching `condition`, in id order (so a seed names a run exactly).
    func credits(where condition: (Credit) -> Bool) -> [Credit] {
        live.state.credits.values.filter(condition).sorted { $0.id < $1.id }
    }

    /// Fresh card keys, never used before.
    mutating func freshCard() -> CardKeys {
        cardCounter += 1
        return Fixture.card(cardCounter)
    }

    /// A card number that names no card now: never issued, or replaced or reverted; often one
    /// already tried, so decoys lock.
    mutating func deadCardDigest() -> Digest32 {
        let tried = decoys.keys.sorted { ($0.w0, $0.w1, $0.w2, $0.w3) < ($1.w0, $1.w1, $1.w2, $1.w3) }
        let locked = tried.filter { decoys[$0]!.lockedUntil.map { now < $0 } ?? false }
        if !locked.isEmpty && rng.chance(70) { return locked[rng.below(locked.count)] }
        if !tried.isEmpty && rng.chance(60) { return tried[rng.below(tried.count)] }
        if !retiredCards.isEmpty && rng.chance(60) { return retiredCards[rng.below(retiredCards.count)] }
        return Fixture.card(900_000 + UInt64(rng.below(100))).cardDigest
    }

    /// STOCK of one to three cards, now and then in an unknown currency.
    mutating func randomStock() -> Command {
        let count = Int(rng.inRange(1...3))
        let cards = (0..<count).map { _ in freshCard() }
        let code = rng.chance(5) ? "EUR" : randomCurrency().code
        return .stock(count: count, cards: cards, currency: code, batch: rng.chance(50) ? "b-\(rng.below(5))" : nil)
    }

    /// ACTIVATE (mostly of a stock card) or LOAD (mostly of an active card), by card number.
    mutating func randomLoad() -> Command {
        let activate = rng.chance(50)
        let wanted = credits { $0.card != nil && (activate ? $0.status == .inactive : $0.status == .active) }
        let any = credits { $0.card != nil }
        var digest: Digest32
        var currency: Currency
        if !wanted.isEmpty && rng.chance(80) {
            let credit = wanted[rng.below(wanted.count)]
            (digest, currency) = (credit.card!.cardDigest, credit.currency)
        } else if !any.isEmpty && rng.chance(70) {
            let credit = any[rng.below(any.count)]
            (digest, currency) = (credit.card!.cardDigest, credit.currency)
        } else {
            (digest, currency) = (deadCardDigest(), randomCurrency())
        }
        var code = currency.code
        switch rng.below(100) {
        case 0..<5: code = currency.code == "AUD" ? "JPY" : "AUD"
        case 5..<7: code = "EUR"
        default: break
        }
        var units = rng.inRange(100...20_000)
        switch rng.below(100) {
        case 0..<3: units = currency.balanceMax.value + rng.inRange(-2...2)
        case 3..<5: units = 0
        default: break
        }
        let amount = DecimalAmount(amountText(max(0, units), currency, valid: !rng.chance(3)))!
        return activate ? .activate(cardDigest: digest, amount: amount, currency: code)
                        : .load(cardDigest: digest, amount: amount, currency: code)
    }

    /// REPLACE, mostly of a credit with a card, always with fresh keys.
    mutating func randomReplace() -> Command {
        .replace(randomCreditID(mostly: { $0.card != nil }), freshCard())
    }

    /// TRANSFER of a gift credit, whole or split, to another profile (now and then its own, or a
    /// store or promo credit), sometimes with `from=` its owner or someone else.
    mutating func randomTransfer() -> Command {
        let id = randomCreditID(mostly: { $0.type == .gift && $0.status == .active })
        let credit = live.state.credits[id]
        var to = randomProfile()
        if let owner = credit?.profile, to == owner, rng.chance(80) {
            to = ProfileID(Simulation.profiles.first { $0 != owner.text } ?? "cust-9")!
        }
        var amount: DecimalAmount?
        if let credit, rng.chance(50) {
            let available = credit.available.value
            let units = rng.chance(4) ? 0 : rng.inRange(1...max(1, available + available / 10))
            amount = DecimalAmount(amountText(units, credit.currency, valid: !rng.chance(3)))!
        }
        var from: ProfileID?
        switch rng.below(100) {
        case 0..<30: from = credit?.profile ?? randomProfile()
        case 30..<38: from = randomProfile()
        default: break
        }
        return .transfer(id, to: to, amount: amount, from: from)
    }

    /// CLAIM with a pending code (mostly), a used one, or one never issued.
    mutating func randomClaim() -> Command {
        let pending = credits { $0.claim != nil }.map { $0.claim! }
        let code: Digest32
        switch rng.below(100) {
        case 0..<80 where !pending.isEmpty: code = pending[rng.below(pending.count)]
        case 80..<90 where !claimCodes.isEmpty: code = claimCodes[rng.below(claimCodes.count)]
        default: code = Digest32(w0: rng.next(), w1: 0xBAD, w2: 0, w3: 0)
        }
        return .claim(code: code, profile: randomProfile())
    }

    /// REVERSE of one of the client's requests — a hold still pending, a capture, an issue or
    /// activation, a load or refund, any recent one — of a ref not used yet (its late original
    /// follows later), of the other client's ref (refs are per client), or of a REVERSE.
    mutating func randomReverse() -> Request {
        let client = randomClient()
        let mine = sent.suffix(80).filter { $0.client == client && $0.ref != nil }
        let actions = remembered.filter { $0.key.client == client.text }.sorted { $0.key.ref < $1.key.ref }
        func refs(_ wanted: (RecordedAction) -> Bool) -> [Ref] { actions.filter { wanted($0.value.action) }.map { Ref($0.key.ref)! } }
        let pendingHolds = refs { action in
            guard case .held(let id) = action else { return false }
            return self.live.state.holds[id]?.state == .pending
        }
        let captures = refs { if case .captured = $0 { true } else { false } }
        let creations = refs { action in
            switch action {
            case .issued, .loaded(_, _, activated: true): true
            default: false
            }
        }
        let additions = refs { action in
            switch action {
            case .refunded, .loaded(_, _, activated: false): true
            default: false
            }
        }
        var original: Ref
        switch rng.below(100) {
        case 0..<30 where !pendingHolds.isEmpty: original = pendingHolds[rng.below(pendingHolds.count)]
        case 30..<38 where !captures.isEmpty: original = captures[rng.below(captures.count)]
        case 38..<46 where !creations.isEmpty: original = creations[rng.below(creations.count)]
        case 46..<54 where !additions.isEmpty: original = additions[rng.below(additions.count)]
        case 0..<65 where !mine.isEmpty:
            original = mine[rng.below(mine.count)].ref!
        case 65..<80:
            original = newRef()!
            lateRefs.append((client, original))
        case 80..<90 where sent.contains(where: { $0.client != client }):
            let theirs = sent.suffix(80).filter { $0.client != client && $0.ref != nil }
            original = theirs.isEmpty ? newRef()! : theirs[rng.below(theirs.count)].ref!
        default:
            let reversals = mine.filter { if case .reverse = $0.command { true } else { false } }
            original = reversals.isEmpty ? newRef()! : reversals[rng.below(reversals.count)].ref!
        }
        return Request(client: client, ref: newRef(), command: .reverse(original: original))
    }

    /// A request under a ref an earlier REVERSE named before it was used: REVERSED while the
    /// tombstone is remembered.
    mutating func sendLateOriginal() throws {
        guard !lateRefs.isEmpty else { return try advanceClock() }
        let (client, ref) = lateRefs.remove(at: rng.below(lateRefs.count))
        let command: Command = rng.chance(50) ? randomIssue() : .hold(randomSingleHold())
        try send(Request(client: client, ref: ref, command: command))
    }

    /// UNLOCK, mostly of a card with wrong PINs or a lock.
    mutating func randomUnlock() -> Command {
        .unlock(randomCreditID(mostly: { $0.card != nil && ($0.lockedUntil != nil || $0.pinFailures > 0) }))
    }

    /// BALANCE, QUOTE or HOLD by card: mostly a wrong PIN (often on a card that has some already,
    /// so locks happen), sometimes the right one, a quarter of the time a card that does not exist.
    mutating func probePIN() throws {
        let cards = credits { $0.card != nil }
        let suspect = cards.filter { $0.pinFailures > 0 || $0.lockedUntil != nil }
        var cardDigest = deadCardDigest()
        var pinDigest = Fixture.wrongPIN
        var sale = randomCurrency()
        if !cards.isEmpty && !rng.chance(25) {
            let credit = !suspect.isEmpty && rng.chance(50) ? suspect[rng.below(suspect.count)] : cards[rng.below(cards.count)]
            cardDigest = credit.card!.cardDigest
            if rng.chance(30) { pinDigest = credit.card!.pinDigest }
            sale = credit.currency
        }
        let selector = CreditSelector.card(cardDigest: cardDigest, pinDigest: pinDigest)
        switch rng.below(3) {
        case 0: try checkBalance(selector)
        case 1: try checkQuote(randomHold(selector, value: MinorUnits(2000), sale))
        default:
            let hold = randomHold(selector, value: MinorUnits(2000), sale)
            try send(Request(client: randomClient(), ref: newRef(), command: .hold(hold)))
        }
    }
}
