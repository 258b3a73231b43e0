// Reports for finance: outstanding liability, and activity totals for reconciliation.

extension Ledger {
    func report(_ kind: ReportKind) -> Result<Reply, CreditError> {
        switch kind {
        case .liability(let code):
            if let code, policy.currencies[code] == nil { return .failure(CreditError(.badCurrency, "unknown currency \(code)")) }
            return .success(liability(code))
        case .activity(let from, let to):
            guard from <= to else { return .failure(CreditError(.badRequest, "from= is after to=")) }
            return .success(activity(from: from.startInstant, to: to.endInstant))
        }
    }

    /// Outstanding balance and held amounts per type and currency, store credit split by funding.
    private func liability(_ code: String?) -> Reply {
        struct Line { var count = 0; var balance = MinorUnits.zero; var held = MinorUnits.zero; var marketing = MinorUnits.zero }
        var lines: [String: Line] = [:]
        for credit in state.credits.values where credit.status != .cancelled && credit.status != .expired {
            guard code == nil || credit.currency.code == code else { continue }
            let key = "\(credit.type.rawValue) \(credit.currency.code)"
            lines[key, default: Line()].count += 1
            lines[key]!.balance += credit.balance
            lines[key]!.held += credit.held
            lines[key]!.marketing += credit.marketing
        }
        let items = lines.keys.sorted().map { key -> [Field] in
            let parts = key.split(separator: " ").map(String.init)
            let currency = policy.currencies[parts[1]]!
            let line = lines[key]!
            var fields = [Field("type", parts[0]), Field("currency", parts[1]),
                          Field("tax_class", policy.taxClass(CreditType(rawValue: parts[0])!)), Field("credits", String(line.count)),
                          Field("balance", text(line.balance, currency)), Field("held", text(line.held, currency))]
            if parts[0] == CreditType.store.rawValue {
                fields += [Field("funded_return", text(line.balance - line.marketing, currency)),
                           Field("funded_marketing", text(line.marketing, currency))]
            }
            return fields
        }
        return Reply(items: items, fields: [Field("report", "liability"), Field("lines", String(items.count))])
    }

    /// Totals of each kind of activity per type and currency for activities in [from, to).
    private func activity(from: Instant, to: Instant) -> Reply {
        let kinds: [(ActivityKind, String)] = [(.issue, "issued"), (.bonus, "bonus"), (.load, "loaded"), (.capture, "redeemed"),
                                               (.refund, "refunded"), (.breakage, "expired"), (.cancel, "cancelled"),
                                               (.revert, "reverted"), (.split, "transferred"), (.reversal, "reversed")]
        var totals: [String: [ActivityKind: MinorUnits]] = [:]
        for credit in state.credits.values {
            let key = "\(credit.type.rawValue) \(credit.currency.code)"
            credit.activityLog.forEach { activity in
                guard activity.at >= from && activity.at < to, kinds.contains(where: { $0.0 == activity.kind }) else { return }
                totals[key, default: [:]][activity.kind, default: .zero] += activity.amount
            }
        }
        let items = totals.keys.sorted().map { key -> [Field] in
            let parts = key.split(separator: " ").map(String.init)
            let currency = policy.currencies[parts[1]]!
            return [Field("type", parts[0]), Field("currency", parts[1]),
                    Field("tax_class", policy.taxClass(CreditType(rawValue: parts[0])!))]
                + kinds.map { Field($0.1, text(totals[key]![$0.0] ?? .zero, currency)) }
        }
        return Reply(items: items, fields: [Field("report", "activity"), Field("from", from.rfc3339), Field("to", to.rfc3339),
                                            Field("lines", String(items.count))])
    }
}
