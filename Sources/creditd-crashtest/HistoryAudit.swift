// HistoryAudit: (4) each credit's HISTORY chains, holds resolve once, and nothing is missing or extra.

import CreditClient

/// How far a credit's history has been checked.
struct HistoryCursor {
    /// The last entry checked (seq 0: none yet) and the balance after it.
    var seq = 0
    var last: Fields?
    var balance = MinorUnits.zero
    /// Hold legs on this credit with a `hold` entry and no `capture`, `void` or `expire` yet.
    var open: [String: MinorUnits] = [:]
    /// Hold legs already resolved: a second resolution is a failure.
    var closed: Set<String> = []
}

/// Checks, after each restart, the entries each credit gained since the last check. Every
/// applied request made exactly one entry per credit it touched (the model counts them), so
/// the credit's newest entry must have seq = the model's count: a lost or half-applied request
/// shows up as a missing entry, an extra one as a phantom. The entry checked last time is
/// fetched again and must be unchanged.
struct HistoryAudit {
    private var cursors: [String: HistoryCursor] = [:]

    /// Checks the credits that gained entries since the last check (every credit when `all`);
    /// returns how many new entries there were. A credit without new entries has had its
    /// balance and held amount compared with the model already (check 3).
    mutating func check(_ model: MoneyModel, appliedRefs: Set<String>, balances: [String: Fields], all: Bool,
                        inspector: Inspector) throws(HarnessFailure) -> Int {
        let ids = model.creditOrder.filter { all || model.credits[$0]!.entries != cursors[$0]?.seq }
        var requests: [Request] = []
        for id in ids {
            let cursor = cursors[id] ?? HistoryCursor()
            let fresh = model.credits[id]!.entries - cursor.seq
            let limit = fresh + (cursor.seq > 0 ? 1 : 0)
            guard fresh >= 0, limit >= 1, limit <= Limits.historyLimitMax else {
                throw setupFailure("\(id) gained \(fresh) entries in one cycle; HISTORY shows at most \(Limits.historyLimitMax)")
            }
            requests.append(Request("HISTORY", ["credit": id, "limit": String(limit)]))
        }
        let replies = try inspector.send(requests)
        var checked = 0
        for (index, id) in ids.enumerated() {
            var cursor = cursors[id] ?? HistoryCursor()
            checked += try audit(id, replies[index], request: requests[index], cursor: &cursor, model: model,
                                 appliedRefs: appliedRefs, balance: balances[id]!)
            cursors[id] = cursor
        }
        return checked
    }

    /// Checks one credit's new entries; returns how many there were.
    private func audit(_ id: String, _ reply: Reply, request: Request, cursor: inout HistoryCursor, model: MoneyModel,
                       appliedRefs: Set<String>, balance: Fields) throws(HarnessFailure) -> Int {
        let credit = model.credits[id]!
        let lastSeq = credit.entries
        let firstSeq = cursor.seq > 0 ? cursor.seq : 1
        let wanted = "entries seq \(firstSeq)...\(lastSeq) (the model counts \(lastSeq) entries on \(id))"
        func failure(_ expected: String, _ detail: String = "") -> HarnessFailure {
            HarnessFailure(Check.history, request: request.text, expected: expected,
                           actual: reply.text + (detail.isEmpty ? "" : "\n(\(detail))"))
        }
        guard let final = reply.fields, final["credit"] == id, final["count"] == String(reply.items.count) else {
            throw failure("OK credit=\(id) with count= the number of entries")
        }
        let seqs = reply.items.map { Int($0["seq"] ?? "") ?? -1 }
        guard seqs == Array(firstSeq...lastSeq) else { throw failure(wanted) }
        if let last = cursor.last {
            guard reply.items[0] == last else {
                throw failure("entry seq \(cursor.seq) unchanged since the last check: * " + ReplyText.encode(last))
            }
        }
        let fresh = reply.items.dropFirst(cursor.seq > 0 ? 1 : 0)
        var running: MinorUnits? = cursor.seq > 0 ? cursor.balance : nil
        for item in fresh {
            let line = "* " + ReplyText.encode(item)
            guard let kind = item["kind"], let amount = MinorUnits(item["amount"]), let after = MinorUnits(item["balance"]) else {
                throw failure("entries with kind, amount and balance", line)
            }
            guard let expected = HistoryAudit.balance(after: kind, amount: amount, before: running) else {
                throw failure("a known kind, and an issue entry first", line)
            }
            guard after == expected else { throw failure("balance-after \(model.format(expected, credit.currency))", line) }
            if let why = HistoryAudit.trackHold(kind, item["hold"], amount, &cursor) { throw failure(why, line) }
            if let ref = item["ref"], !appliedRefs.contains(ref) {
                throw failure("every entry's ref is a request that took effect", line + ": no applied request has ref \(ref)")
            }
            running = after
        }
        let openTotal = cursor.open.values.reduce(MinorUnits.zero, +)
        guard let now = running, now == MinorUnits(balance["balance"]), openTotal == MinorUnits(balance["held"]) else {
            throw failure("the last balance-after and the unresolved hold entries match BALANCE: \(ReplyText.encode(balance))",
                          "history ends at balance \(running.map { model.format($0, credit.currency) } ?? "?"), "
                          + "holds open \(model.format(openTotal, credit.currency))")
        }
        cursor.seq = lastSeq
        cursor.last = reply.items.last
        cursor.balance = now
        return fresh.count
    }

    /// The balance after an entry of `kind` (PROTOCOL.md §9, HISTORY), or nil for an unknown kind
    /// or a history that does not start with its opening entry.
    static func balance(after kind: String, amount: MinorUnits, before: MinorUnits?) -> MinorUnits? {
        switch kind {
        case "issue", "split_in", "stock": return before == nil ? (kind == "stock" ? .zero : amount) : nil
        default: break
        }
        guard let before else { return nil }
        switch kind {
        case "bonus", "load", "refund", "reversal": return before + amount
        case "capture", "split": return before - amount
        case "cancel", "breakage": return .zero
        case "hold", "void", "expire", "freeze", "unfreeze", "replace", "transfer", "revert", "lock", "unlock": return before
        default: return nil
        }
    }

    /// Follows a hold leg through its entries: one `hold`, then at most one resolution — a
    /// `capture` of at most the leg, or a `void`/`expire` of exactly the leg. Returns what is
    /// wrong, or nil.
    static func trackHold(_ kind: String, _ hold: String?, _ amount: MinorUnits, _ cursor: inout HistoryCursor) -> String? {
        guard ["hold", "capture", "void", "expire"].contains(kind) else { return nil }
        guard let hold else { return "a \(kind) entry names its hold" }
        if kind == "hold" {
            guard cursor.open[hold] == nil, !cursor.closed.contains(hold) else { return "hold \(hold) is created once" }
            cursor.open[hold] = amount
            return nil
        }
        guard let leg = cursor.open.removeValue(forKey: hold) else {
            return cursor.closed.contains(hold) ? "hold \(hold) resolves once" : "hold \(hold) has a hold entry before its \(kind)"
        }
        cursor.closed.insert(hold)
        if kind == "capture" { return amount <= leg ? nil : "a capture of at most the leg's \(leg.value) minor units" }
        return amount == leg ? nil : "a \(kind) of the whole leg, \(leg.value) minor units"
    }
}
