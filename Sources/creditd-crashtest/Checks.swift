// Checks: after each restart — settle lost replies, replay acknowledged ones, add up the money.

import CreditClient

/// What the settling of unacknowledged requests found.
struct Settlement {
    var unacknowledged = 0
    var applied = 0
    var notApplied = 0
}

/// Per-currency money as the daemon reports it.
struct MoneyCheck {
    /// BALANCE of every credit, by credit id.
    var balances: [String: Fields] = [:]
    var lines: [String] = []
}

enum Checks {
    /// (2) Retries every unacknowledged request with its ref, twice, between STATS. A replay
    /// leaves the journal where it was: the request had been applied before the kill, and the
    /// replay is its reply. A retry that moves the journal executed anew: it had not been
    /// applied. Either way the reply is then applied to the model once, and the second retry
    /// must replay the first exactly (secrets masked) without touching the journal.
    static func settle(_ state: inout HarnessState, cycle: Int, inspector: Inspector) throws(HarnessFailure) -> Settlement {
        var result = Settlement()
        for index in state.sent.indices where state.sent[index].reply == nil {
            let operation = state.sent[index].operation
            guard operation.needsSettling else { continue }
            result.unacknowledged += 1
            let replies = try inspector.send([Inspector.stats, operation.request, Inspector.stats, operation.request, Inspector.stats])
            let before = try Inspector.number("journal_lsn", in: replies[0])
            let afterFirst = try Inspector.number("journal_lsn", in: replies[2])
            let afterSecond = try Inspector.number("journal_lsn", in: replies[4])
            let reply = replies[1]
            guard replies[3] == reply.expectedReplay(), afterSecond == afterFirst else {
                throw HarnessFailure(Check.unacknowledged, request: operation.request.text,
                                     expected: "a second retry replays the first without journaling: " + reply.expectedReplay().text,
                                     actual: replies[3].text + "\n(journal_lsn \(afterFirst) -> \(afterSecond))")
            }
            if reply.isOK && afterFirst == before { result.applied += 1 } else { result.notApplied += 1 }
            state.sent[index].reply = reply
            try state.take(reply, to: operation, cycle: cycle, check: Check.unacknowledged)
        }
        if let (request, reply) = state.model.waiting.first {
            throw HarnessFailure(Check.unacknowledged, request: request.text,
                                 expected: "every leg of an applied HOLD is on a credit an applied ISSUE created",
                                 actual: reply.text)
        }
        return result
    }

    /// (1) Retries acknowledged OK requests with their refs, each followed by STATS: each must
    /// give the identical reply (secrets masked, PROTOCOL.md §7) and leave `journal_lsn` where it
    /// was. A retry that writes to the journal ran again: its acknowledged effect had been lost.
    static func replay(_ candidates: [Replayable], inspector: Inspector) throws(HarnessFailure) {
        guard !candidates.isEmpty else { return }
        var requests = [Inspector.stats]
        for candidate in candidates { requests += [candidate.request, Inspector.stats] }
        let replies = try inspector.send(requests)
        var lsn = try Inspector.number("journal_lsn", in: replies[0])
        for (index, candidate) in candidates.enumerated() {
            let reply = replies[1 + 2 * index]
            let after = try Inspector.number("journal_lsn", in: replies[2 + 2 * index])
            guard reply == candidate.expected, after == lsn else {
                throw HarnessFailure(Check.acknowledged, request: candidate.request.text + "   (acknowledged in cycle \(candidate.cycle))",
                                     expected: candidate.expected.text + "\n(a replay: journal_lsn stays \(lsn))",
                                     actual: reply.text + "\n(journal_lsn \(lsn) -> \(after)"
                                         + (after == lsn ? ")" : ": the request ran again, so its acknowledged effect had been lost)"))
            }
            lsn = after
        }
    }

    /// The acknowledged requests to retry this cycle: all of this cycle's, a seeded sample of the
    /// earlier ones, and on the last cycle every one of the run.
    static func replayCandidates(_ state: HarnessState, cycle: Int, isLast: Bool, random: inout SeededRandom) -> [Replayable] {
        if isLast { return state.replayable }
        var chosen = state.replayable.filter { $0.cycle == cycle }
        let older = state.replayable.filter { $0.cycle < cycle }
        if !older.isEmpty {
            for _ in 0..<min(Limits.olderRetriesPerCycle, older.count) { chosen.append(random.pick(older)) }
        }
        return chosen
    }

    /// (3) BALANCE of every credit must equal the model's balance and held amount; per currency,
    /// the balances add up to issued + refunded − captured and the held amounts to the pending
    /// holds; STATS counts the model's credits and pending holds.
    static func money(_ model: MoneyModel, inspector: Inspector) throws(HarnessFailure) -> MoneyCheck {
        var check = MoneyCheck()
        let ids = model.creditOrder
        let replies = try inspector.send(ids.map { Request("BALANCE", ["credit": $0]) } + [Inspector.stats])
        var balances: [String: MinorUnits] = [:]
        var held: [String: MinorUnits] = [:]
        for (id, reply) in zip(ids, replies) {
            let credit = model.credits[id]!
            let request = "BALANCE credit=\(id)"
            let expected = "OK credit=\(id) type=\(credit.type) balance=\(model.format(credit.balance, credit.currency))"
                + " held=\(model.format(credit.held, credit.currency))"
                + " available=\(model.format(credit.balance - credit.held, credit.currency)) currency=\(credit.currency) status=active"
            guard let fields = reply.fields, fields["credit"] == id, fields["currency"] == credit.currency,
                  fields["status"] == "active", let balance = MinorUnits(fields["balance"]),
                  let heldNow = MinorUnits(fields["held"]), let available = MinorUnits(fields["available"]),
                  balance == credit.balance, heldNow == credit.held, available == balance - heldNow, available >= .zero
            else { throw HarnessFailure(Check.money, request: request, expected: expected, actual: reply.text) }
            balances[credit.currency, default: .zero] += balance
            held[credit.currency, default: .zero] += heldNow
            check.balances[id] = fields
        }
        for (currency, totals) in model.totals.sorted(by: { $0.key < $1.key }) {
            let sum = balances[currency] ?? .zero
            let line = "\(currency) \(model.format(sum, currency)) = \(model.format(totals.issued, currency)) issued"
                + " + \(model.format(totals.refunded, currency)) refunded - \(model.format(totals.captured, currency)) captured,"
                + " \(model.format(held[currency] ?? .zero, currency)) held"
            guard sum == totals.expectedBalances, held[currency] ?? .zero == model.heldByCurrency[currency] ?? .zero else {
                throw HarnessFailure(Check.money, expected: "\(currency) balances \(model.format(totals.expectedBalances, currency))",
                                     actual: line)
            }
            check.lines.append(line)
        }
        let stats = replies[replies.count - 1]
        let credits = try Inspector.number("credits", in: stats)
        let pending = try Inspector.number("pending_holds", in: stats)
        guard credits == model.credits.count, pending == model.pending.count else {
            throw HarnessFailure(Check.money, request: "STATS",
                                 expected: "credits=\(model.credits.count) pending_holds=\(model.pending.count)", actual: stats.text)
        }
        return check
    }
}
