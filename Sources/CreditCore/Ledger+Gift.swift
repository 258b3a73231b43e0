// Gift card flows: stock cards, activation and top-up, replacement, transfers, claims.

extension Ledger {
    /// Most stock cards one STOCK makes: bounds the reply (each card is a line) and the entry.
    public static let stockCountMax = 100

    func decideStock(_ cards: [CardKeys], _ code: String, _ batch: String?) -> Result<Decision, CreditError> {
        guard let currency = policy.currencies[code] else { return .failure(CreditError(.badCurrency, "unknown currency \(code)")) }
        precondition((1...Ledger.stockCountMax).contains(cards.count), "STOCK count in range")
        var events: [Event] = []
        var items: [[Field]] = []
        for (offset, card) in cards.enumerated() {
            let id = CreditID(state.lastCreditNumber + 1 + UInt64(offset))
            events.append(.issued(IssuedCredit(credit: id, type: .gift, currency: currency.code, amount: .zero, expires: nil,
                                               profile: nil, card: card, status: .inactive, batch: batch)))
            items.append([Field("credit", id.description), Field("card", card.masked)])
        }
        var fields = [Field("count", String(cards.count)), Field("currency", currency.code)]
        if let batch { fields.append(Field("batch", batch)) }
        return .success(Decision(events: events, reply: Reply(items: items, fields: fields)))
    }

    /// ACTIVATE (a stock card: inactive → active with its first value) and LOAD (top-up). Both
    /// find the card by number alone: they add value, so the PIN is not needed.
    func decideLoad(_ cardDigest: Digest32, _ amount: DecimalAmount, _ code: String, activate: Bool,
                    now: Instant) -> Result<Decision, CreditError> {
        guard let credit = creditID(forCard: cardDigest).flatMap({ state.credits[$0] }) else {
            return .failure(CreditError(.declined, "card declined"))
        }
        if activate {
            if let error = unusable(credit, now: now), error.code != .creditInactive { return .failure(error) }
            guard credit.status == .inactive else {
                return .failure(CreditError(.badRequest, "card \(credit.card!.masked) is already activated"))
            }
        } else if let error = unusable(credit, now: now) {
            return .failure(error)
        }
        let units: MinorUnits
        switch valueToAdd(amount, code, to: credit) {
        case .failure(let error): return .failure(error)
        case .success(let value): units = value
        }
        let reply = Reply(fields: [Field("credit", credit.id.description), Field("loaded", text(units, credit.currency)),
                                   Field("balance", text(credit.balance + units, credit.currency)),
                                   Field("currency", code), Field("status", "active")])
        return .success(Decision(events: [.loaded(credit.id, amount: units, activate: activate)], reply: reply,
                                 action: .loaded(credit.id, amount: units, activated: activate)))
    }

    func decideReplace(_ id: CreditID, _ keys: CardKeys, now: Instant) -> Result<Decision, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        guard credit.card != nil else { return .failure(CreditError(.badRequest, "credit \(id) has no card to replace")) }
        if credit.status == .cancelled || credit.status == .expired { return .failure(unusable(credit, now: now)!) }
        let reply = Reply(fields: [Field("credit", id.description), Field("card", keys.masked),
                                   Field("replaced", credit.card!.masked)])
        return .success(Decision(events: [.cardReplaced(id, keys)], reply: reply))
    }

    func decideTransfer(_ id: CreditID, to profile: ProfileID, _ amount: DecimalAmount?, now: Instant) -> Result<Decision, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        guard credit.type == .gift else {
            return .failure(CreditError(.notTransferable, "\(credit.type.rawValue) credit is not transferable"))
        }
        if let error = unusable(credit, now: now) { return .failure(error) }
        guard credit.claim == nil else { return .failure(CreditError(.badRequest, "credit \(id) awaits its recipient's CLAIM")) }
        guard credit.profile != profile else { return .failure(CreditError(.badRequest, "credit \(id) already belongs to \(profile)")) }
        guard let amount else {
            let reply = Reply(fields: [Field("credit", id.description), Field("profile", profile.text),
                                       Field("balance", text(credit.balance, credit.currency)), Field("currency", credit.currency.code)])
            return .success(Decision(events: [.transferred(id, to: profile, claimed: false)], reply: reply))
        }
        let units: MinorUnits
        switch minorUnits(amount, credit.currency) {
        case .failure(let error): return .failure(error)
        case .success(let value): units = value
        }
        guard units <= credit.available else {
            return .failure(CreditError(.insufficientFunds, "\(text(credit.available, credit.currency)) \(credit.currency.code) available"))
        }
        let newID = CreditID(state.lastCreditNumber + 1)
        let reply = Reply(fields: [Field("credit", id.description), Field("new_credit", newID.description),
                                   Field("amount", text(units, credit.currency)), Field("profile", profile.text),
                                   Field("balance", text(credit.balance - units, credit.currency)),
                                   Field("currency", credit.currency.code)])
        return .success(Decision(events: [.split(id, into: newID, amount: units, to: profile)], reply: reply))
    }

    /// CLAIM: the recipient of a card bought for an unknown recipient takes it into their profile.
    /// A wrong code is DECLINED like a wrong PIN.
    func decideClaim(_ code: Digest32, _ profile: ProfileID, now: Instant) -> Result<Decision, CreditError> {
        guard let credit = claimIndex[code].flatMap({ state.credits[$0] }) else {
            return .failure(CreditError(.declined, "claim code declined"))
        }
        if let error = unusable(credit, now: now), credit.status != .frozen { return .failure(error) }
        let reply = Reply(fields: [Field("credit", credit.id.description), Field("profile", profile.text),
                                   Field("balance", text(credit.balance, credit.currency)), Field("currency", credit.currency.code)])
        return .success(Decision(events: [.transferred(credit.id, to: profile, claimed: true)], reply: reply))
    }
}
