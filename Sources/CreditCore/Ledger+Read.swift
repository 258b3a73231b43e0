// Reads: BALANCE, HISTORY and CREDITS replies.

extension Ledger {
    /// BALANCE's fields. A credit past its expiry date shows `status=expired` even before the
    /// sweep has recorded its breakage.
    func balanceFields(_ credit: Credit, now: Instant) -> [Field] {
        var fields = [Field("credit", credit.id.description), Field("type", credit.type.rawValue),
                      Field("balance", text(credit.balance, credit.currency)),
                      Field("held", text(credit.held, credit.currency)),
                      Field("available", text(credit.available, credit.currency)),
                      Field("currency", credit.currency.code), Field("status", displayStatus(credit, now: now).rawValue)]
        if let expires = credit.expires { fields.append(Field("expires", expires.description)) }
        return fields
    }

    /// The status as of `now`: an active or frozen credit past its expiry date is expired.
    func displayStatus(_ credit: Credit, now: Instant) -> CreditStatus {
        if let expires = credit.expires, now >= expires.endInstant, [.inactive, .active, .frozen].contains(credit.status) {
            return .expired
        }
        return credit.status
    }

    func history(_ id: CreditID, limit: Int) -> Result<Reply, CreditError> {
        guard let credit = state.credits[id] else { return .failure(CreditError(.notFound, "no credit \(id)")) }
        let shown = credit.history.suffix(max(0, limit))
        let items = shown.map { activity -> [Field] in
            var fields = [Field("seq", String(activity.seq)), Field("at", activity.at.rfc3339),
                          Field("kind", activity.kind.rawValue),
                          Field("amount", text(activity.amount, credit.currency)),
                          Field("balance", text(activity.balanceAfter, credit.currency))]
            if let hold = activity.hold { fields.append(Field("hold", hold.description)) }
            if let sale = activity.sale, let currency = policy.currencies[sale.currency] {
                fields += [Field("sale_amount", text(sale.amount, currency)), Field("sale_currency", sale.currency),
                           Field("rate", sale.rate.description)]
            }
            if let ref = activity.ref { fields.append(Field("ref", ref.text)) }
            if let reason = activity.reason { fields.append(Field("reason", reason)) }
            return fields
        }
        return .success(Reply(items: items, fields: [Field("credit", id.description), Field("currency", credit.currency.code),
                                                     Field("count", String(items.count))]))
    }

    func creditsReply(_ profile: ProfileID, now: Instant) -> Reply {
        let items = (profileIndex[profile] ?? []).sorted().compactMap { state.credits[$0] }.map { credit -> [Field] in
            var fields = Array(balanceFields(credit, now: now))
            if let card = credit.card { fields.append(Field("card", card.last4)) }
            if credit.claim != nil { fields.append(Field("claim", "pending")) }
            if let campaign = credit.campaign { fields.append(Field("campaign", campaign)) }
            return fields
        }
        return Reply(items: items, fields: [Field("profile", profile.text), Field("count", String(items.count))])
    }
}
