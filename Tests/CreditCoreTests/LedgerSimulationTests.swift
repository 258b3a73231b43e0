// Proves, over 200 seeded random runs of issues (with bonus and campaigns), single-credit and profile holds across AUD and JPY credits with FX rates both ways, quotes, captures, voids, refunds, freezes, unfreezes, cancels, retries, reads and sweeps of due holds and expiring credits, under four tender orders, that every outcome and reply follows the rules, the invariants and money conservation per currency hold after every step, replaying the entries rebuilds the same state, and a restored ledger behaves identically.

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
        try simulation.run(steps: 400)
        try simulation.checkReplayAndRestore(furtherSteps: 100)
    } catch {
        Issue.record("seed \(seed): \(error)")
    }
    // Every run must have exercised the main paths, or it proved little.
    for kind in Simulation.kindsEveryRunMustSee {
        #expect(simulation.tally[kind, default: 0] > 0, "seed \(seed): no \(kind) in \(simulation.tally)")
    }
}

@Test func acrossAllRunsEveryOutcomeAndErrorCodeOfTheCoreHappens() {
    var total: [String: Int] = [:]
    for seed in UInt64(1)...40 {
        var simulation = Simulation(seed: seed)
        do {
            try simulation.run(steps: 400)
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
        total.merge(simulation.tally, uniquingKeysWith: +)
    }
    let serverOnly: Set<ErrorCode> = [.unknownVerb, .lineTooLong, .notAuthenticated, .authFailed, .forbidden, .busy, .internal]
    let codes = ErrorCode.allCases.filter { !serverOnly.contains($0) }
    for kind in Simulation.kindsEveryRunMustSee + Simulation.rarerKinds + codes.map(\.rawValue) {
        #expect(total[kind, default: 0] > 0, "no \(kind) in 40 runs: \(total)")
    }
}

/// A failed check, with what went wrong and at which step.
struct SimulationFailure: Error, CustomStringConvertible {
    let description: String
}

/// What the rules say a request must come to.
enum Expected {
    case refuse(ErrorCode)
    case replay(Reply)
    case apply([Event], Reply)
}

/// A remembered ref as the model sees it.
struct RememberedRef {
    let at: Instant
    let fingerprint: Digest32
    let reply: Reply
}

struct ModelKey: Hashable {
    let client: String
    let ref: String
}

/// One request: who, under which ref, what.
struct Request {
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
func ensure(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw SimulationFailure(description: message()) }
}

/// The simulated world: the ledgers under test (live first; after the restore point also a replayed and
/// a restored one), an independent model of refs and money, and a random source.
struct Simulation {
    /// AUD and JPY convert both ways; KWD converts to nothing (NO_RATE). Short TTLs and ref window
    /// so that expiry and pruning happen within a run.
    static let currencies = CurrencyTable([Fixture.aud, Fixture.jpy, Fixture.kwd])
    static let rates: RateTable = {
        do {
            return try RateTable.parse("AUD JPY 97.45\nJPY AUD 0.01026\n", currencies: currencies)
        } catch {
            preconditionFailure("simulation rates do not parse: \(error)")
        }
    }()
    /// The standard order and three custom ones; the seed picks one.
    static let tenderOrders = [
        TenderOrder.standard,
        TenderOrder(keys: [.balance], types: []),
        TenderOrder(keys: [.type, .expiry, .balance], types: [.gift, .promo, .store]),
        TenderOrder(keys: [], types: []),
    ]
    static let clients = [ClientID("till-a"), ClientID("till-b")]
    static let profiles = ["cust-0", "cust-1", "cust-2"]
    static let reasons = ["lost", "found", "fraud", "customer asked"]
    /// Outcomes every run of 500 steps shows.
    static let kindsEveryRunMustSee = [
        "issue", "issue-bonus", "hold", "hold-partial", "hold-profile", "hold-multi-leg", "fx-leg", "capture-all",
        "capture-part", "void", "replayed", "expired", "quote", "quote-then-hold", "refund", "freeze", "unfreeze",
        "cancel", "breakage",
    ]
    /// Outcomes some runs show: a capture taking part of an FX leg.
    static let rarerKinds = ["capture-fx-part"]

    let seed: UInt64
    let policy: LedgerPolicy
    var rng: SplitMix64
    var ledgers: [Ledger]
    var now: Instant
    var step = 0
    /// The state every run starts from: one inactive stock card (no command makes one) on `cust-0`.
    let initial: LedgerState
    var entries: [Entry] = []
    var sent: [Request] = []
    var refCounter = 0
    var cardCounter: UInt64 = 0
    var cards: [CreditID: CardKeys] = [:]
    // The model: refs remembered, the last applied instant, money in and out per currency and per
    // credit, resolved holds.
    var remembered: [ModelKey: RememberedRef] = [:]
    var lastAt = Instant(millis: 0)
    var money = MoneyFlows()
    var resolved: [HoldID: (state: HoldState, captured: [MinorUnits])] = [:]
    /// How often each kind of outcome happened, to show the run exercised them.
    var tally: [String: Int] = [:]

    init(seed: UInt64) {
        self.seed = seed
        policy = LedgerPolicy(
            currencies: Simulation.currencies, holdTTLDefault: Seconds(60), holdTTLMax: Seconds(300),
            refWindow: Seconds(600), holdsPerCreditMax: 3, rates: Simulation.rates,
            tenderOrder: Simulation.tenderOrders[Int(seed % 4)])
        rng = SplitMix64(seed: seed)
        var initial = LedgerState()
        let stock = stockCard(CreditID(1), 0, card: Fixture.card(1), profile: ProfileID("cust-0"))
        initial.credits[stock.id] = stock
        initial.lastCreditNumber = 1
        self.initial = initial
        cards[stock.id] = stock.card
        cardCounter = 1
        ledgers = [Ledger(policy: policy, state: initial)]
        // 2026-11-26T23:45:00Z plus up to a second, so instants are not all on whole seconds and
        // credits expiring "today" expire within the run.
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
        var replayed = Ledger(policy: policy, state: initial)
        for entry in entries { replayed.apply(entry) }
        try ensure(replayed.canonicalState == live.canonicalState, "replaying \(entries.count) entries gave another state")
        try ensure(replayed.refCount == live.refCount && replayed.pendingHoldCount == live.pendingHoldCount,
                   "replayed counters differ")
        let restored = Ledger(policy: policy, state: live.canonicalState)
        try ensure(restored.canonicalState == live.canonicalState, "restoring changed the state")
        ledgers = [live, replayed, restored]
        try run(steps: furtherSteps)
        try ensure(ledgers[1].canonicalState == live.canonicalState, "replayed ledger diverged")
        try ensure(ledgers[2].canonicalState == live.canonicalState, "restored ledger diverged")
    }

    mutating func randomStep() throws {
        switch rng.below(100) {
        case 0..<10: try send(Request(client: randomClient(), ref: newRef(), command: randomIssue()))
        case 10..<25: try send(Request(client: randomClient(), ref: newRef(), command: .hold(randomSingleHold())))
        case 25..<35: try send(Request(client: randomClient(), ref: newRef(), command: .hold(randomProfileHold())))
        case 35..<40: try quoteThenHold()
        case 40..<53: try send(Request(client: randomClient(), ref: newRef(), command: randomCapture()))
        case 53..<59: try send(Request(client: randomClient(), ref: newRef(), command: .void(randomHoldID())))
        case 59..<64: try send(Request(client: randomClient(), ref: newRef(), command: randomRefund()))
        case 64..<70: try send(Request(client: randomClient(), ref: newRef(), command: randomStatusChange()))
        case 70..<79: try send(randomRetry())
        case 79..<86: try read()
        default: try advanceClock()
        }
    }

    mutating func randomClient() -> ClientID { Simulation.clients[rng.below(Simulation.clients.count)] }

    mutating func newRef() -> Ref? {
        refCounter += 1
        return Ref("s\(seed)-\(refCounter)")
    }

    // MARK: Steps

    /// Sends a mutating request to every ledger: checks the outcome (and the whole reply) against
    /// the rules, then that all ledgers agree. Returns the outcome, or nil if the request was skipped.
    @discardableResult
    mutating func send(_ request: Request) throws -> Execution? {
        let expected = try predict(request)
        if mustSkip(expected) { return nil }
        sent.append(request)
        let context = RequestContext(now: now, client: request.client, ref: request.ref, fingerprint: request.argumentsDigest)
        let before = live.canonicalState
        let outcome = ledgers[0].execute(request.command, context: context)
        for index in ledgers.indices.dropFirst() {
            let other = ledgers[index].execute(request.command, context: context)
            try ensure(sameOutcome(outcome, other), "ledger \(index) answered \(other) where the live one answered \(outcome)")
        }
        tallyOutcome(request.command, outcome, before: before)
        switch (expected, outcome) {
        case (.refuse(let code), .refused(let error)):
            try ensure(error.code == code, "expected \(code), got \(error) for \(request.command)")
            try ensure(live.canonicalState == before, "a refusal changed the state")
        case (.replay(let reply), .replayed(let actual)):
            try ensure(actual == reply, "replayed \(actual), expected \(reply)")
            try ensure(live.canonicalState == before, "a replay changed the state")
        case (.apply(let events, let reply), .applied(let entry, let actual)):
            try ensure(entry.events == events, "applied \(entry.events), expected \(events)")
            try ensure(actual == reply, "replied \(actual), expected \(reply)")
            try ensure(entry.at == now, "entry at \(entry.at), now is \(now)")
            try ensure(entry.idempotency == IdempotencyRecord(client: request.client, ref: request.ref!,
                                                              fingerprint: request.argumentsDigest, reply: actual),
                       "idempotency record \(String(describing: entry.idempotency))")
            try record(entry, before: before)
        default:
            throw SimulationFailure(description: "expected \(expected), got \(outcome) for \(request.command)")
        }
        return outcome
    }

    /// QUOTE, then at once a HOLD with the same arguments: the hold must plan exactly what the quote showed.
    mutating func quoteThenHold() throws {
        let command = rng.chance(60) ? randomProfileHold() : randomSingleHold()
        let quoted = try readEverywhere(.quote(command))
        switch predictPlan(command) {
        case .refuse(let code):
            try ensure(quoted.code == code, "quote expected \(code), got \(quoted)")
        case .plan(let plan):
            try ensure(quoted.readReply == quoteReply(plan), "quote \(quoted), expected \(quoteReply(plan))")
            tally["quote", default: 0] += 1
        }
        guard let held = try send(Request(client: randomClient(), ref: newRef(), command: .hold(command))) else { return }
        switch (quoted, held) {
        case (.read(let quote), .applied(_, let hold)):
            let shared = ["amount", "requested", "remaining", "currency"]
            try ensure(quote.items == hold.items && shared.allSatisfy { quote.value($0) == hold.value($0) },
                       "quote \(quote) but hold \(hold)")
            tally["quote-then-hold", default: 0] += 1
        case (.read, .refused(let error)):
            try ensure(error.code == .badRequest, "quoted, but the hold was refused with \(error)")  // ttl only
        case (.refused(let quoteError), .refused(let holdError)):
            try ensure(quoteError == holdError, "quote refused with \(quoteError), hold with \(holdError)")
        default:
            throw SimulationFailure(description: "quote \(quoted), then hold \(held)")
        }
    }

    /// A read on every ledger: all must answer alike, and none may change.
    mutating func readEverywhere(_ command: Command) throws -> Execution {
        let context = RequestContext(now: now, client: randomClient(), ref: nil, fingerprint: fingerprint(of: command))
        let before = live.canonicalState
        let outcome = ledgers[0].execute(command, context: context)
        for index in ledgers.indices.dropFirst() {
            try ensure(sameOutcome(outcome, ledgers[index].execute(command, context: context)), "ledger \(index) read differently")
        }
        try ensure(live.canonicalState == before, "a read changed the state")
        return outcome
    }

    /// BALANCE (by id, card or profile), HISTORY, CREDITS or RATES: a read that matches the model.
    mutating func read() throws {
        let id = randomCreditID()
        switch rng.below(5) {
        case 0: try checkBalance(id)
        case 1: try checkHistory(id, limit: rng.below(8))
        case 2: try checkCredits(ProfileID(Simulation.profiles[rng.below(Simulation.profiles.count)])!)
        case 3:
            let reply = try readEverywhere(.rates).readReply
            try ensure(reply == ratesReply(), "rates \(String(describing: reply))")
        default:
            let outcome = try readEverywhere(.balance(.profile(ProfileID("cust-0")!)))
            try ensure(outcome.code == .badRequest, "BALANCE profile= gave \(outcome)")
        }
    }

    mutating func checkBalance(_ id: CreditID) throws {
        var selector = CreditSelector.credit(id)
        if let card = cards[id], rng.chance(50) { selector = .card(cardDigest: card.cardDigest, pinDigest: card.pinDigest) }
        let outcome = try readEverywhere(.balance(selector))
        guard let credit = live.state.credits[id] else {
            try ensure(outcome.code == .notFound, "balance of missing \(id) gave \(outcome)")
            return
        }
        try ensure(outcome.readReply == Reply(fields: balanceFields(credit)), "balance \(outcome), model \(balanceFields(credit))")
    }

    mutating func checkHistory(_ id: CreditID, limit: Int) throws {
        let outcome = try readEverywhere(.history(id, limit: limit))
        guard let credit = live.state.credits[id] else {
            try ensure(outcome.code == .notFound, "history of missing \(id) gave \(outcome)")
            return
        }
        let shown = min(limit, credit.history.count)
        let reply = outcome.readReply
        try ensure(reply?.items.count == shown && reply?.value("count") == String(shown)
                   && reply?.value("currency") == credit.currency.code
                   && reply?.items.last?.first?.value == (shown == 0 ? nil : String(credit.history.count)),
                   "history reply \(outcome)")
    }

    mutating func checkCredits(_ profile: ProfileID) throws {
        let reply = try readEverywhere(.credits(profile)).readReply
        try ensure(reply == creditsReply(profile), "credits \(String(describing: reply)), model \(creditsReply(profile))")
    }

    /// Moves the clock forward by up to 40 s — now and then, if a credit expires today, to within
    /// 30 s of the next midnight — and usually sweeps; every ledger must sweep alike, as the model says.
    mutating func advanceClock() throws {
        let today = self.today
        if rng.chance(5), live.state.credits.values.contains(where: { $0.expires == today && $0.status == .active }) {
            let midnight = (now.millis / 86_400_000 + 1) * 86_400_000
            now = Instant(millis: max(now.millis, midnight + rng.inRange(-30_000...30_000)))
        } else {
            now = Instant(millis: now.millis + rng.inRange(0...40_000))
        }
        guard rng.chance(70) else { return }
        let expected = predictSweep()
        let before = live.canonicalState
        let entry = ledgers[0].sweep(now: now)
        for index in ledgers.indices.dropFirst() {
            try ensure(ledgers[index].sweep(now: now) == entry, "ledger \(index) swept differently")
        }
        guard let entry else {
            try ensure(expected.isEmpty, "sweep at \(now.rfc3339) left due \(expected)")
            return
        }
        try ensure(entry.at == now && entry.idempotency == nil, "sweep entry \(entry)")
        try ensure(entry.events == expected, "swept \(entry.events), expected \(expected)")
        for event in entry.events {
            if case .expired = event { tally["expired", default: 0] += 1 } else { tally["breakage", default: 0] += 1 }
        }
        try record(entry, before: before)
    }

    /// Which kind of outcome a request had, for the tally.
    mutating func tallyOutcome(_ command: Command, _ outcome: Execution, before: LedgerState) {
        var kinds: [String] = []
        switch (outcome, command) {
        case (.refused(let error), _): kinds = [error.code.rawValue]
        case (.replayed, _): kinds = ["replayed"]
        case (.read, _): kinds = ["read"]
        case (.applied, .issue(let issue)): kinds = issue.bonus == nil ? ["issue"] : ["issue", "issue-bonus"]
        case (.applied(let entry, _), .hold(let hold)):
            kinds = [hold.partial ? "hold-partial" : "hold"]
            if case .profile = hold.selector { kinds.append("hold-profile") }
            if case .held(let placed) = entry.events.first {
                if placed.legs.count > 1 { kinds.append("hold-multi-leg") }
                if placed.legs.contains(where: { $0.rate != nil }) { kinds.append("fx-leg") }
            }
        case (.applied(let entry, _), .capture(let id, let amount)):
            kinds = [amount == nil ? "capture-all" : "capture-part"]
            if amount != nil, case .captured(_, let legs) = entry.events.first, let hold = before.holds[id],
               zip(hold.legs, legs).contains(where: { $0.rate != nil && $1.amount > .zero && $1.amount < $0.amount }) {
                kinds.append("capture-fx-part")
            }
        case (.applied, .void): kinds = ["void"]
        case (.applied, .refund): kinds = ["refund"]
        case (.applied, .changeStatus(_, let change, _)): kinds = [change.rawValue]
        default: kinds = ["other"]
        }
        for kind in kinds { tally[kind, default: 0] += 1 }
    }

    /// Requests the simulation does not send, because the core leaves them to the server.
    func mustSkip(_ expected: Expected) -> Bool {
        guard case .apply(let events, _) = expected else { return false }
        switch events.first {
        case .issued(let issued)?:
            // A retried gift ISSUE whose ref is no longer remembered would reuse its card digest; the
            // server draws a fresh card number for every ISSUE, and the core traps on a duplicate.
            return issued.card.map { live.cardExists($0.cardDigest) } ?? false
        default:
            return false
        }
    }
}
