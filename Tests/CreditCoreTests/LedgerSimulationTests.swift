// Proves, over 200 seeded random runs of issues, holds, captures, voids, retries and expiry sweeps, that every outcome follows the rules, the invariants and money conservation hold after every step, replaying the entries rebuilds the same state, and a restored ledger behaves identically.

import CreditCore
import Testing

/// SplitMix64: a tiny, well-mixed deterministic generator, so a seed names a run exactly.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0); the modulo bias is irrelevant here.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in range.
    mutating func inRange(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with the given percent chance.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

@Test func splitMix64MatchesItsReferenceOutput() {
    // The first outputs for seed 0 of the reference C implementation (Vigna).
    var rng = SplitMix64(seed: 0)
    #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
    #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
}

@Test(arguments: UInt64(1)...200)
func randomRunsKeepEveryRuleInvariantAndReplay(_ seed: UInt64) {
    var simulation = Simulation(seed: seed)
    do {
        try simulation.run(steps: 300)
        try simulation.checkReplayAndRestore(furtherSteps: 100)
    } catch {
        Issue.record("seed \(seed): \(error)")
    }
    // Every run must have exercised the main paths, or it proved little.
    for kind in ["issue", "hold", "hold-partial", "capture-all", "capture-part", "void", "replayed", "expired"] {
        #expect(simulation.tally[kind, default: 0] > 0, "seed \(seed): no \(kind) in \(simulation.tally)")
    }
}

/// A failed check, with what went wrong and at which step.
private struct SimulationFailure: Error, CustomStringConvertible {
    let description: String
}

/// What the rules say a request must come to.
private enum Expected {
    case refuse(ErrorCode)
    case replay(Reply)
    case apply([Event])
}

/// A remembered ref as the model sees it.
private struct RememberedRef {
    let at: Instant
    let fingerprint: Digest32
    let reply: Reply
}

private struct ModelKey: Hashable {
    let client: String
    let ref: String
}

/// One request: who, under which ref, what.
private struct Request {
    let client: ClientID
    let ref: Ref?
    let command: Command
    let argumentsDigest: Digest32

    init(client: ClientID, ref: Ref?, command: Command) {
        self.client = client
        self.ref = ref
        self.command = command
        argumentsDigest = fingerprint(of: command)
    }
}

/// Throws a failure with `message` unless `condition` holds (the step and seed are added above).
private func ensure(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw SimulationFailure(description: message()) }
}

/// The simulated world: the ledgers under test (live first; after the restore point also a replayed and
/// a restored one), an independent model of refs and money, and a random source.
private struct Simulation {
    /// AUD and JPY; short TTLs and ref window so that expiry and pruning happen within a run.
    static let policy = LedgerPolicy(
        currencies: CurrencyTable([Fixture.aud, Fixture.jpy]), holdTTLDefault: Seconds(60), holdTTLMax: Seconds(300),
        refWindow: Seconds(600), holdsPerCreditMax: 4)
    static let clients = [ClientID("till-a"), ClientID("till-b")]
    /// Credits that expire do so at the end of this day, 15 minutes after the run starts.
    static let expiryDay = CivilDate("2026-11-26")!

    let seed: UInt64
    var rng: SplitMix64
    var ledgers: [Ledger]
    var now: Instant
    var step = 0
    var entries: [Entry] = []
    var sent: [Request] = []
    var refCounter = 0
    var cardCounter: UInt64 = 0
    var cards: [CreditID: CardKeys] = [:]
    // The model: refs remembered, the last applied instant, money issued and captured, resolved holds.
    var remembered: [ModelKey: RememberedRef] = [:]
    var lastAt = Instant(millis: 0)
    var issued: [String: Int64] = ["AUD": 0, "JPY": 0]
    var captured: [String: Int64] = ["AUD": 0, "JPY": 0]
    var resolved: [HoldID: (state: HoldState, captured: MinorUnits)] = [:]
    /// How often each kind of outcome happened, to show the run exercised them.
    var tally: [String: Int] = [:]

    init(seed: UInt64) {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        ledgers = [Ledger(policy: Simulation.policy)]
        // 2026-11-26T23:45:00Z plus up to a second, so instants are not all on whole seconds.
        now = Instant(millis: 1_795_736_700_000 + Int64(rng.below(1000)))
    }

    var live: Ledger { ledgers[0] }

    // MARK: Running

    mutating func run(steps: Int) throws {
        for _ in 0..<steps {
            step += 1
            do {
                try randomStep()
                try checkInvariants()
            } catch let failure as SimulationFailure {
                throw SimulationFailure(description: "step \(step): \(failure)")
            }
        }
    }

    /// Replays every recorded entry into a fresh ledger, restores another from the live state, and
    /// drives all three with the same further requests: every outcome and the final states must match.
    mutating func checkReplayAndRestore(furtherSteps: Int) throws {
        var replayed = Ledger(policy: Simulation.policy)
        for entry in entries { replayed.apply(entry) }
        try ensure(replayed.canonicalState == live.canonicalState, "replaying \(entries.count) entries gave another state")
        try ensure(replayed.refCount == live.refCount && replayed.pendingHoldCount == live.pendingHoldCount,
                  "replayed counters differ")
        let restored = Ledger(policy: Simulation.policy, state: live.canonicalState)
        try ensure(restored.canonicalState == live.canonicalState, "restoring changed the state")
        ledgers = [live, replayed, restored]
        try run(steps: furtherSteps)
        try ensure(ledgers[1].canonicalState == live.canonicalState, "replayed ledger diverged")
        try ensure(ledgers[2].canonicalState == live.canonicalState, "restored ledger diverged")
    }

    mutating func randomStep() throws {
        let roll = rng.below(100)
        switch roll {
        case 0..<8: try send(Request(client: randomClient(), ref: newRef(), command: randomIssue()))
        case 8..<38: try send(Request(client: randomClient(), ref: newRef(), command: randomHold()))
        case 38..<56: try send(Request(client: randomClient(), ref: newRef(), command: randomCapture()))
        case 56..<66: try send(Request(client: randomClient(), ref: newRef(), command: .void(randomHoldID())))
        case 66..<78: try send(randomRetry())
        case 78..<84: try read()
        default: try advanceClock()
        }
    }

    mutating func randomClient() -> ClientID { Simulation.clients[rng.below(Simulation.clients.count)] }

    mutating func newRef() -> Ref? {
        refCounter += 1
        return Ref("s\(seed)-\(refCounter)")
    }

    // MARK: Generators

    /// Amount text for `units`: sometimes with trailing zeros trimmed, or with one digit too many.
    mutating func amountText(_ units: Int64, _ currency: Currency, valid: Bool = true) -> String {
        var text = formatAmount(MinorUnits(units), currency)
        if !valid { return text + (currency.minorDigits > 0 ? "1" : ".5") }
        if currency.minorDigits > 0 && rng.chance(30) {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    mutating func randomCurrency() -> Currency { rng.chance(50) ? Fixture.aud : Fixture.jpy }

    mutating func randomIssue() -> Command {
        let currency = randomCurrency()
        let type = CreditType.allCases[rng.below(3)]
        var units = rng.inRange(100...20_000)
        var code = currency.code
        var valid = true
        switch rng.below(100) {
        case 0..<3: units = currency.balanceMax.value + rng.inRange(1...100)
        case 3..<5: valid = false
        case 5..<7: code = "EUR"
        default: break
        }
        let text = amountText(units, currency, valid: valid)
        let profile = type == .gift || rng.chance(5) ? nil : ProfileID("cust-\(rng.below(5))")
        var expires: CivilDate?
        if rng.chance(25) { expires = Simulation.expiryDay } else if rng.chance(3) { expires = CivilDate("2026-11-25") }
        var card: CardKeys?
        if type == .gift {
            cardCounter += 1
            card = Fixture.card(cardCounter)
        }
        return .issue(IssueCommand(type: type, amount: DecimalAmount(text)!, currency: code, profile: profile,
                                   expires: expires, card: card))
    }

    mutating func randomHold() -> Command {
        let credits = live.state.credits
        let lastCredit = live.state.lastCreditNumber
        let id = CreditID(UInt64(rng.below(Int(lastCredit) + 1)) + 1)  // now and then one that does not exist
        let credit = credits[id]
        var selector = CreditSelector.credit(id)
        if let card = cards[id], rng.chance(50) {
            selector = .card(cardDigest: card.cardDigest, pinDigest: rng.chance(8) ? Fixture.wrongPIN : card.pinDigest)
        }
        var currency = credit?.currency ?? randomCurrency()
        var code = currency.code
        if rng.chance(5) { currency = currency.code == "AUD" ? Fixture.jpy : Fixture.aud; code = currency.code }
        if rng.chance(2) { code = "EUR" }
        let available = credit?.available.value ?? 1000
        let units = rng.chance(3) ? 0 : rng.inRange(1...max(1, available + available / 3 + 1))
        let text = amountText(units, currency, valid: !rng.chance(3))
        let ttl: Seconds? = rng.chance(20) ? nil : Seconds(rng.inRange(1...330))
        return .hold(HoldCommand(selector: selector, amount: DecimalAmount(text)!, currency: code, ttl: ttl,
                                 partial: rng.chance(30)))
    }

    /// Mostly a pending hold, sometimes any hold, now and then one that does not exist.
    mutating func randomHoldID() -> HoldID {
        let last = live.state.lastHoldNumber
        if rng.chance(70) {
            let pending = live.state.credits.values.flatMap(\.pendingHolds).sorted()
            if !pending.isEmpty { return pending[rng.below(pending.count)] }
        }
        return HoldID(UInt64(rng.below(Int(last) + 1)) + 1)
    }

    mutating func randomCapture() -> Command {
        let id = randomHoldID()
        guard let hold = live.state.holds[id], let credit = live.state.credits[hold.credit] else {
            return .capture(id, amount: nil)
        }
        let currency = credit.currency
        let held = hold.amount.value
        switch rng.below(100) {
        case 0..<40: return .capture(id, amount: nil)
        case 40..<80: return .capture(id, amount: DecimalAmount(amountText(rng.inRange(1...held), currency))!)
        case 80..<90: return .capture(id, amount: DecimalAmount(amountText(held + rng.inRange(1...500), currency))!)
        case 90..<95: return .capture(id, amount: DecimalAmount(amountText(0, currency))!)
        default: return .capture(id, amount: DecimalAmount(amountText(max(1, held / 2), currency, valid: false))!)
        }
    }

    /// An earlier request again: mostly identical, sometimes other arguments under the same ref,
    /// sometimes the same ref from the other client.
    mutating func randomRetry() -> Request {
        guard !sent.isEmpty else { return Request(client: randomClient(), ref: newRef(), command: randomIssue()) }
        let old = sent[rng.below(sent.count)]
        switch rng.below(100) {
        case 0..<60:
            return old
        case 60..<85:
            let other: Command
            switch rng.below(3) {
            case 0: other = randomHold()
            case 1: other = randomCapture()
            default: other = .void(randomHoldID())
            }
            return Request(client: old.client, ref: old.ref, command: other)
        default:
            let client = old.client == Simulation.clients[0] ? Simulation.clients[1] : Simulation.clients[0]
            return Request(client: client, ref: old.ref, command: old.command)
        }
    }

    // MARK: Steps

    /// Sends a mutating request to every ledger: checks the outcome against the rules, then that all
    /// ledgers agree.
    mutating func send(_ request: Request) throws {
        let expected = try predict(request)
        if mustSkip(expected) { return }
        sent.append(request)
        let context = RequestContext(now: now, client: request.client, ref: request.ref, fingerprint: request.argumentsDigest)
        let summary = stateSummary()
        let outcome = ledgers[0].execute(request.command, context: context)
        for index in ledgers.indices.dropFirst() {
            let other = ledgers[index].execute(request.command, context: context)
            try ensure(sameOutcome(outcome, other), "ledger \(index) answered \(other) where the live one answered \(outcome)")
        }
        tally[outcomeKind(request.command, outcome), default: 0] += 1
        switch (expected, outcome) {
        case (.refuse(let code), .refused(let error)):
            try ensure(error.code == code, "expected \(code), got \(error) for \(request.command)")
            try ensure(stateSummary() == summary, "a refusal changed the state")
        case (.replay(let reply), .replayed(let actual)):
            try ensure(actual == reply, "replayed \(actual), expected \(reply)")
            try ensure(stateSummary() == summary, "a replay changed the state")
        case (.apply(let events), .applied(let entry, let reply)):
            try ensure(entry.events == events, "applied \(entry.events), expected \(events)")
            try ensure(entry.at == now, "entry at \(entry.at), now is \(now)")
            try ensure(entry.idempotency == IdempotencyRecord(client: request.client, ref: request.ref!,
                                                            fingerprint: request.argumentsDigest, reply: reply),
                      "idempotency record \(String(describing: entry.idempotency))")
            try checkReply(reply, for: events)
            record(entry)
        default:
            throw SimulationFailure(description: "expected \(expected), got \(outcome) for \(request.command)")
        }
    }

    func outcomeKind(_ command: Command, _ outcome: Execution) -> String {
        switch outcome {
        case .refused(let error): return error.code.rawValue
        case .replayed: return "replayed"
        case .read: return "read"
        case .applied:
            switch command {
            case .issue: return "issue"
            case .hold(let hold): return hold.partial ? "hold-partial" : "hold"
            case .capture(_, let amount): return amount == nil ? "capture-all" : "capture-part"
            case .void: return "void"
            default: return "other"
            }
        }
    }

    /// Requests the simulation does not send, because the core leaves them to the server.
    func mustSkip(_ expected: Expected) -> Bool {
        guard case .apply(let events) = expected else { return false }
        switch events.first {
        case .issued(let issued)?:
            // A retried gift ISSUE whose ref is no longer remembered would reuse its card digest; the
            // server draws a fresh card number for every ISSUE, and the core traps on a duplicate.
            return issued.card.map { live.cardExists($0.cardDigest) } ?? false
        default:
            return false
        }
    }

    /// BALANCE or HISTORY of a random credit: a read that matches the state and changes nothing.
    mutating func read() throws {
        let last = live.state.lastCreditNumber
        let id = CreditID(UInt64(rng.below(Int(last) + 1)) + 1)
        let limit = rng.below(8)
        let command: Command = rng.chance(50) ? .balance(.credit(id)) : .history(id, limit: limit)
        let context = RequestContext(now: now, client: randomClient(), ref: nil, fingerprint: fingerprint(of: command))
        let summary = stateSummary()
        let outcome = ledgers[0].execute(command, context: context)
        for index in ledgers.indices.dropFirst() {
            try ensure(sameOutcome(outcome, ledgers[index].execute(command, context: context)), "ledger \(index) read differently")
        }
        try ensure(stateSummary() == summary, "a read changed the state")
        guard let credit = live.state.credits[id] else {
            try ensure(outcome.code == .notFound, "read of missing \(id) gave \(outcome)")
            return
        }
        guard let reply = outcome.readReply else {
            throw SimulationFailure(description: "read of \(id) refused: \(outcome)")
        }
        if case .balance = command {
            try ensure(reply.value("balance") == formatAmount(credit.balance, credit.currency)
                      && reply.value("held") == formatAmount(credit.held, credit.currency)
                      && reply.value("available") == formatAmount(credit.available, credit.currency), "balance reply \(reply)")
        } else {
            let shown = min(limit, credit.history.count)
            try ensure(reply.items.count == shown && reply.value("count") == String(shown)
                      && reply.items.last?.first?.value == (shown == 0 ? nil : String(credit.history.count)),
                      "history reply \(reply)")
        }
    }

    /// Moves the clock forward by up to 40 s and usually sweeps; every ledger must sweep alike.
    mutating func advanceClock() throws {
        now = Instant(millis: now.millis + rng.inRange(0...40_000))
        guard rng.chance(70) else { return }
        let due = live.state.holds.values.filter { $0.state == .pending && $0.deadline <= now }.map(\.id)
        let entry = ledgers[0].sweep(now: now)
        for index in ledgers.indices.dropFirst() {
            try ensure(ledgers[index].sweep(now: now) == entry, "ledger \(index) swept differently")
        }
        guard let entry else {
            try ensure(due.isEmpty, "sweep at \(now.rfc3339) left due holds \(due)")
            return
        }
        try ensure(entry.at == now && entry.idempotency == nil, "sweep entry \(entry)")
        let expired = entry.events.compactMap { event -> HoldID? in
            if case .expired(let id) = event { return id } else { return nil }
        }
        tally["expired", default: 0] += expired.count
        try ensure(expired.count == entry.events.count && expired.sorted() == due.sorted(),
                  "sweep expired \(expired), due were \(due.sorted())")
        let order = expired.map { "\(live.state.holds[$0]!.deadline.millis):\($0.number)" }
        let sorted = expired.sorted { a, b in
            let (da, db) = (live.state.holds[a]!.deadline, live.state.holds[b]!.deadline)
            return da < db || (da == db && a < b)
        }.map { "\(live.state.holds[$0]!.deadline.millis):\($0.number)" }
        try ensure(order == sorted, "sweep out of (deadline, hold id) order")
        record(entry)
    }

    /// Keeps the model in step with an applied entry.
    mutating func record(_ entry: Entry) {
        entries.append(entry)
        for event in entry.events {
            switch event {
            case .issued(let issued):
                self.issued[issued.currency, default: 0] += issued.amount.value
                if let card = issued.card { cards[issued.credit] = card }
            case .captured(let id, let amount):
                let code = live.state.credits[live.state.holds[id]!.credit]!.currency.code
                captured[code, default: 0] += amount.value
            default: break
            }
        }
        if entry.at > lastAt { lastAt = entry.at }
        if let record = entry.idempotency {
            remembered[ModelKey(client: record.client.text, ref: record.ref.text)] =
                RememberedRef(at: entry.at, fingerprint: record.fingerprint, reply: record.reply)
        }
        let cutoff = lastAt.millis - Simulation.policy.refWindow.value * 1000
        remembered = remembered.filter { $0.value.at.millis > cutoff }
    }

    // MARK: The rules, written out again

    func predict(_ request: Request) throws -> Expected {
        guard let ref = request.ref else { return .refuse(.badRequest) }
        if let known = remembered[ModelKey(client: request.client.text, ref: ref.text)] {
            return known.fingerprint == request.argumentsDigest ? .replay(known.reply) : .refuse(.refConflict)
        }
        switch request.command {
        case .issue(let issue): return predictIssue(issue)
        case .hold(let hold): return predictHold(hold)
        case .capture(let id, let amount): return predictResolve(id, amount: amount, capture: true)
        case .void(let id): return predictResolve(id, amount: nil, capture: false)
        case .balance, .history: throw SimulationFailure(description: "a read sent as a mutation")
        }
    }

    func predictIssue(_ issue: IssueCommand) -> Expected {
        guard let currency = Simulation.policy.currencies[issue.currency] else { return .refuse(.badCurrency) }
        guard let units = issue.amount.minorUnits(in: currency), units > .zero, units <= currency.balanceMax else {
            return .refuse(.badAmount)
        }
        if issue.type != .gift && issue.profile == nil { return .refuse(.badRequest) }
        if let expires = issue.expires, now >= expires.endInstant { return .refuse(.badRequest) }
        return .apply([.issued(IssuedCredit(credit: CreditID(live.state.lastCreditNumber + 1), type: issue.type,
                                            currency: currency.code, amount: units, expires: issue.expires,
                                            profile: issue.profile, card: issue.card))])
    }

    func predictHold(_ command: HoldCommand) -> Expected {
        let credit: Credit
        switch command.selector {
        case .credit(let id):
            guard let found = live.state.credits[id] else { return .refuse(.notFound) }
            credit = found
        case .card(let cardDigest, let pinDigest):
            guard let found = live.state.credits.values.first(where: { $0.card?.cardDigest == cardDigest }),
                  found.card?.pinDigest == pinDigest
            else { return .refuse(.declined) }
            credit = found
        }
        guard let currency = Simulation.policy.currencies[command.currency] else { return .refuse(.badCurrency) }
        guard let requested = command.amount.minorUnits(in: currency), requested > .zero else { return .refuse(.badAmount) }
        if currency.code != credit.currency.code { return .refuse(.currencyMismatch) }
        if let expires = credit.expires, now >= expires.endInstant { return .refuse(.creditExpired) }
        let ttl = command.ttl ?? Simulation.policy.holdTTLDefault
        if ttl > Simulation.policy.holdTTLMax { return .refuse(.badRequest) }
        if credit.pendingHolds.count >= Simulation.policy.holdsPerCreditMax { return .refuse(.tooManyHolds) }
        let available = credit.balance.value - credit.held.value
        var amount = requested.value
        if amount > available {
            if !command.partial || available == 0 { return .refuse(.insufficientFunds) }
            amount = available
        }
        var deadline = (now.millis + ttl.value * 1000 + 999) / 1000 * 1000
        if let expires = credit.expires { deadline = min(deadline, expires.endInstant.millis) }
        return .apply([.held(PlacedHold(hold: HoldID(live.state.lastHoldNumber + 1), credit: credit.id,
                                        amount: MinorUnits(amount), requested: requested, deadline: Instant(millis: deadline)))])
    }

    func predictResolve(_ id: HoldID, amount: DecimalAmount?, capture: Bool) -> Expected {
        guard let hold = live.state.holds[id] else { return .refuse(.notFound) }
        switch hold.state {
        case .captured: return .refuse(.holdCaptured)
        case .voided: return .refuse(.holdVoided)
        case .expired: return .refuse(.holdExpired)
        case .pending: if now >= hold.deadline { return .refuse(.holdExpired) }
        }
        guard capture else { return .apply([.voided(id)]) }
        var taken = hold.amount
        if let amount {
            let currency = live.state.credits[hold.credit]!.currency
            guard let units = amount.minorUnits(in: currency), units > .zero else { return .refuse(.badAmount) }
            if units > hold.amount { return .refuse(.exceedsHold) }
            taken = units
        }
        return .apply([.captured(id, amount: taken)])
    }

    /// The reply fields that carry money agree with the events (the state is already updated).
    func checkReply(_ reply: Reply, for events: [Event]) throws {
        switch events.first {
        case .issued(let issued)?:
            let currency = Simulation.policy.currencies[issued.currency]!
            try ensure(reply.value("credit") == issued.credit.description
                      && reply.value("balance") == formatAmount(issued.amount, currency), "issue reply \(reply)")
        case .held(let placed)?:
            let credit = live.state.credits[placed.credit]!
            try ensure(reply.value("hold") == placed.hold.description
                      && reply.value("amount") == formatAmount(placed.amount, credit.currency)
                      && reply.value("requested") == formatAmount(placed.requested, credit.currency)
                      && reply.value("available") == formatAmount(credit.available, credit.currency)
                      && reply.value("expires") == placed.deadline.rfc3339, "hold reply \(reply)")
        case .captured(let id, let amount)?:
            let hold = live.state.holds[id]!
            let credit = live.state.credits[hold.credit]!
            try ensure(reply.value("captured") == formatAmount(amount, credit.currency)
                      && reply.value("released") == formatAmount(hold.amount - amount, credit.currency)
                      && reply.value("balance") == formatAmount(credit.balance, credit.currency), "capture reply \(reply)")
        case .voided(let id)?:
            let hold = live.state.holds[id]!
            let credit = live.state.credits[hold.credit]!
            try ensure(reply.value("released") == formatAmount(hold.amount, credit.currency), "void reply \(reply)")
        default:
            throw SimulationFailure(description: "unexpected events \(events)")
        }
    }

    // MARK: Invariants

    /// A cheap digest of everything a request could change, to show that one changed nothing.
    func stateSummary() -> [Int64] {
        let state = live.state
        var summary: [Int64] = [Int64(state.refs.count), Int64(state.lastCreditNumber), Int64(state.lastHoldNumber),
                                state.lastAt.millis, Int64(live.pendingHoldCount), Int64(live.refCount)]
        for credit in state.credits.values {
            summary[0] &+= credit.balance.value &* 31 &+ credit.held.value &* 17 &+ Int64(credit.history.count)
        }
        return summary
    }

    mutating func checkInvariants() throws {
        let state = live.state
        var balances: [String: Int64] = ["AUD": 0, "JPY": 0]
        var pendingListed = 0
        for credit in state.credits.values {
            try ensure(credit.available == credit.balance - credit.held && credit.available >= .zero,
                      "\(credit.id): balance \(credit.balance.value) held \(credit.held.value)")
            try ensure(credit.balance <= credit.currency.balanceMax, "\(credit.id) over its maximum")
            var held = MinorUnits.zero
            for id in credit.pendingHolds {
                guard let hold = state.holds[id], hold.state == .pending, hold.credit == credit.id else {
                    throw SimulationFailure(description: "\(credit.id) lists \(id), which is not its pending hold")
                }
                held += hold.amount
            }
            try ensure(held == credit.held, "\(credit.id) held \(credit.held.value), its pending holds sum to \(held.value)")
            pendingListed += credit.pendingHolds.count
            balances[credit.currency.code, default: 0] += credit.balance.value
        }
        var pending = 0
        for hold in state.holds.values {
            try ensure(hold.amount > .zero && hold.amount <= hold.requested, "\(hold.id) amount \(hold.amount.value)")
            try ensure(hold.captured >= .zero && hold.captured <= hold.amount, "\(hold.id) captured more than held")
            try ensure((hold.state == .captured) == (hold.captured > .zero), "\(hold.id) \(hold.state) captured \(hold.captured.value)")
            if hold.state == .pending { pending += 1 }
            if let prior = resolved[hold.id] {
                try ensure(prior.state == hold.state && prior.captured == hold.captured,
                          "\(hold.id) changed from \(prior.state) to \(hold.state) after resolving")
            } else if hold.state != .pending {
                resolved[hold.id] = (hold.state, hold.captured)
            }
        }
        try ensure(pending == pendingListed && pending == live.pendingHoldCount,
                  "pending holds: \(pending) in the table, \(pendingListed) listed, count \(live.pendingHoldCount)")
        for code in ["AUD", "JPY"] {
            let expected = issued[code, default: 0] - captured[code, default: 0]
            try ensure(balances[code] == expected, "\(code) balances sum to \(balances[code] ?? 0), issued − captured is \(expected)")
        }
        try ensure(live.refCount == remembered.count, "ledger remembers \(live.refCount) refs, the model \(remembered.count)")
    }
}
