// Issuing credits, refunding onto them, and staff status changes (freeze, unfreeze, cancel).

extension Ledger {
    func decideIssue(_ issue: IssueCommand, now: Instant) -> Result<Decision, CreditError> {
        let currency: Currency
        let amount: MinorUnits
        switch money(issue.amount, issue.currency) {
        case .failure(let error): return .failure(error)
        case .success(let pair): (currency, amount) = pair
        }
        var bonus = MinorUnits.zero
        if let bonusText = issue.bonus {
            guard issue.type == .store else { return .failure(CreditError(.badRequest, "bonus= is only for store credit")) }
            switch minorUnits(bonusText, currency) {
            case .failure(let error): return .failure(error)
            case .success(let units): bonus = units
            }
        }
        guard amount.value <= currency.balanceMax.value - bonus.value else {
            return .failure(CreditError(.badAmount, "amount exceeds the maximum balance of \(text(currency.balanceMax, currency)) \(currency.code)"))
        }
        if let error = issueRuleError(issue, now: now) ?? giftRuleError(issue) { return .failure(error) }
        let id = CreditID(state.lastCreditNumber + 1)
        var owner = issue.profile
        if case .profile(let recipient)? = issue.recipient { owner = recipient }
        if issue.recipient == .unknown { owner = issue.purchaser }
        let revertAt = issue.revertAfter.map { now.adding($0).roundedUpToSecond }
        let issued = IssuedCredit(credit: id, type: issue.type, currency: currency.code, amount: amount, bonus: bonus,
                                  expires: issue.expires, profile: owner, card: issue.card, campaign: issue.campaign,
                                  purchaser: issue.purchaser, claim: issue.claim, revertAt: revertAt)
        var fields = [Field("credit", id.description), Field("type", issue.type.rawValue),
                      Field("balance", text(amount + bonus, currency)), Field("currency", currency.code)]
        if bonus > .zero { fields.append(Field("bonus", text(bonus, currency))) }
        if let campaign = issue.campaign { fields.append(Field("campaign", campaign)) }
        if let card = issue.card { fields.append(Field("card", card.masked)) }
        if let owner { fields.append(Field("profile", owner.text)) }
        if issue.recipient == .unknown { fields.append(Field("claim", "pending")) }
        if let revertAt { fields.append(Field("revert_at", revertAt.rfc3339)) }
        if let expires = issue.expires { fields.append(Field("expires", expires.description)) }
        return .success(Decision(events: [.issued(issued)], reply: Reply(fields: fields), action: .issued(id)))
    }

    /// The gift card rules of ISSUE: purchaser, recipient, smart revert.
    private func giftRuleError(_ issue: IssueCommand) -> CreditError? {
        let giftOnly = issue.purchaser != nil || issue.recipient != nil || issue.revertAfter != nil
        if giftOnly && issue.type != .gift {
            return CreditError(.badRequest, "purchaser=, recipient= and revert_after= are only for gift cards")
        }
        if issue.recipient != nil && issue.profile != nil {
            return CreditError(.badRequest, "give recipient= or profile=, not both")
        }
        if issue.recipient == .unknown && issue.purchaser == nil {
            return CreditError(.badRequest, "recipient=unknown requires purchaser=")
        }
        if issue.revertAfter != nil && (issue.purchaser == nil || issue.recipient == nil) {
            return CreditError(.badRequest, "revert_after= requires purchaser= and recipient=")
        }
        precondition((issue.recipient == .unknown) == (issue.claim != nil), "an unknown recipient gets a claim code")
        return nil
    }

    /// The type rules of ISSUE: who needs a profile, a campaign, a card.
    private func issueRuleError(_ issue: IssueCommand, now: Instant) -> CreditError? {
        if issue.type != .gift && issue.profile == nil {
            return CreditError(.badRequest, "\(issue.type.rawValue) credit requires profile=")
        }
        if issue.type == .promo && issue.campaign == nil {
            return CreditError(.badRequest, "promo credit requires campaign=")
        }
        if issue.type != .promo && issue.campaign != nil {
            return CreditError(.badRequest, "campaign= is only for promo credit")
        }
        precondition((issue.type == .gift) == (issue.card != nil), "gift cards, and only they, carry card keys")
        if let expires = issue.expires, expires.endInstant <= now {
            return CreditError(.badRequest, "expires=\(expires) is in the past")
        }
        return nil
    }

    func decideRefund(_ id: CreditID, _ amount: DecimalAmount, _ code: String, now: Instant) -> Result<Decision, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        let units: MinorUnits
        switch valueToAdd(amount, code, to: credit) {
        case .failure(let error): return .failure(error)
        case .success(let value): units = value
        }
        if let error = unusable(credit, now: now), error.code != .creditFrozen {
            let closed = error.code == .creditCancelled || error.code == .creditExpired
            guard closed, policy.refundOntoClosed == .storeCredit, let profile = credit.profile else { return .failure(error) }
            return refundAsStoreCredit(units, from: credit, to: profile)
        }
        let reply = Reply(fields: [Field("credit", id.description), Field("refunded", text(units, credit.currency)),
                                   Field("balance", text(credit.balance + units, credit.currency)),
                                   Field("currency", code)])
        return .success(Decision(events: [.refunded(id, amount: units)], reply: reply, action: .refunded(id, amount: units)))
    }

    /// A refund onto a closed credit, issued as new store credit for the same profile.
    private func refundAsStoreCredit(_ units: MinorUnits, from credit: Credit, to profile: ProfileID) -> Result<Decision, CreditError> {
        let id = CreditID(state.lastCreditNumber + 1)
        let issued = IssuedCredit(credit: id, type: .store, currency: credit.currency.code, amount: units, expires: nil,
                                  profile: profile, card: nil)
        let reply = Reply(fields: [Field("credit", id.description), Field("refunded", text(units, credit.currency)),
                                   Field("balance", text(units, credit.currency)), Field("currency", credit.currency.code),
                                   Field("instead_of", credit.id.description)])
        return .success(Decision(events: [.issued(issued)], reply: reply, action: .issued(id)))
    }

    func decideStatus(_ id: CreditID, _ change: StatusChange, _ reason: String, now: Instant) -> Result<Decision, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        let event: Event
        switch change {
        case .freeze:
            if let error = unusable(credit, now: now) { return .failure(error) }
            event = .frozen(id, reason: reason)
        case .unfreeze:
            guard credit.status == .frozen else {
                return .failure(CreditError(.badRequest, "credit \(id) is \(credit.status.rawValue), not frozen"))
            }
            event = .unfrozen(id, reason: reason)
        case .cancel:
            if let error = unusable(credit, now: now), error.code == .creditCancelled || error.code == .creditExpired {
                return .failure(error)  // past its date it becomes breakage at the sweep, not a write-off
            }
            guard credit.pendingHoldCount == 0 else {
                return .failure(CreditError(.holdsPending, "credit \(id) has \(credit.pendingHoldCount) pending holds; capture or void them first"))
            }
            event = .cancelled(id, reason: reason)
        }
        var fields = [Field("credit", id.description), Field("status", change.resultingStatus.rawValue)]
        if change == .cancel { fields.append(Field("written_off", text(credit.balance, credit.currency))) }
        fields.append(Field("currency", credit.currency.code))
        return .success(Decision(events: [event], reply: Reply(fields: fields)))
    }
}

extension StatusChange {
    /// The status a credit has after this change.
    var resultingStatus: CreditStatus {
        switch self {
        case .freeze: return .frozen
        case .unfreeze: return .active
        case .cancel: return .cancelled
        }
    }
}
