// Proves, over 100 seeded random runs of 550 steps and 2,400 of 100 steps (thousands of seeds; see SimulationSeeds), of issues (with bonus, campaigns, gift purchasers and recipients known and unknown, smart reverts), stock cards with activation and top-up, replacements, whole and split transfers, claims right and wrong, REVERSE of every kind of request and of unknown refs (and the late originals), wrong PINs up to lockout and UNLOCK, single-credit and profile holds across AUD and JPY credits with FX rates both ways, quotes, captures, voids, refunds (onto closed credits as store credit under one policy), freezes, unfreezes, cancels, retries, reads and sweeps of due holds, reverts and expiring credits, with clock jumps past revert deadlines and lock expiries, under four tender orders, that every outcome, reply, event and history line follows the rules; that after every step every credit and hold it changed keeps its invariants (available = balance − held ≥ 0, captured ≤ held, a resolved hold never changes, and is forgotten exactly when it has ended and its deadline is a ref window past, lowest number first), money is conserved per currency exactly, a replica fed every entry agrees with the live ledger (in what the step changed, and in full every 50 steps), the ledger's own full audit finds nothing (every 10 steps and after every recovery), and a ledger restored from the live state answers every request identically; that every entry decodes from its journal record as it was; that a crash tearing the journal anywhere in the records in flight (maybe followed by zero fill) is recovered by the real snapshot and journal recovery to exactly the live state as of the last whole record, nothing of the rest applied, and the run goes on from there; that snapshots decode to the live state and clean restarts recover it; and that replaying all entries from the start rebuilds the same state.

import CreditCore
import Foundation
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

/// Which seeds run. A failure names its seed; `CREDITD_SIM_SEED=N swift test --filter Simulation`
/// runs that seed alone (in both the long and the short form), exactly as it failed.
/// `CREDITD_SIM_SEEDS=COUNT` sets how many short runs there are.
enum SimulationSeeds {
    /// Long runs: every kind of outcome must show in each.
    static let long = UInt64(1)...100
    /// Short runs by default: thousands of seeds, each a few crashes, in CI time.
    static let shortCountDefault = 2_400
    /// Short runs use seeds from here on, so they are not prefixes of the long runs.
    static let shortFirst: UInt64 = 100_001
    /// Short runs are split into this many test cases, which run in parallel.
    static let batchCount = 24
    /// Steps of one short run.
    static let shortSteps = 100

    /// The one seed `CREDITD_SIM_SEED` names, if set.
    static let single: UInt64? = ProcessInfo.processInfo.environment["CREDITD_SIM_SEED"].flatMap { UInt64($0) }
    static let shortCount = ProcessInfo.processInfo.environment["CREDITD_SIM_SEEDS"].flatMap { Int($0) } ?? shortCountDefault

    static var longSeeds: [UInt64] { single.map { [$0] } ?? Array(long) }
    static var batches: [Int] { single == nil ? Array(0..<batchCount) : [0] }

    /// The short-run seeds of one batch.
    static func shortSeeds(batch: Int) -> [UInt64] {
        if let single { return [single] }
        return stride(from: batch, to: shortCount, by: batchCount).map { shortFirst + UInt64($0) }
    }

    /// With one seed asked for, prints what its run did, so two runs can be compared.
    static func report(_ seed: UInt64, _ simulation: Simulation) {
        guard single != nil else { return }
        let tally = simulation.tally.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("seed \(seed): \(simulation.step) steps, \(simulation.entries.count) entries, LSN \(simulation.disk.lastLSN); \(tally)")
    }

    /// How to run `seed` again.
    static func reproduce(_ seed: UInt64, _ test: String) -> String {
        "reproduce with CREDITD_SIM_SEED=\(seed) swift test --filter \(test)"
    }
}

@Test(arguments: SimulationSeeds.longSeeds)
func randomRunsKeepEveryRuleInvariantAndReplay(_ seed: UInt64) {
    var simulation = Simulation(seed: seed)
    defer { simulation.disk.removeScratch() }
    do {
        try simulation.run(steps: 450)
        // Every run must show the main paths; the rare run whose draws (and crashes) left one out
        // goes on, 50 steps at a time, until it has (at most 300 more).
        for _ in 0..<6 where Simulation.kindsEveryRunMustSee.contains(where: { simulation.tally[$0, default: 0] == 0 }) {
            try simulation.run(steps: 50)
        }
        try simulation.checkReplayAndRestore(furtherSteps: 100)
    } catch {
        Issue.record("seed \(seed): \(error); \(SimulationSeeds.reproduce(seed, "randomRunsKeepEveryRule"))")
    }
    SimulationSeeds.report(seed, simulation)
    // Every run must have exercised the main paths, or it proved little.
    for kind in Simulation.kindsEveryRunMustSee {
        #expect(simulation.tally[kind, default: 0] > 0, "seed \(seed): no \(kind) in \(simulation.tally)")
    }
}

/// Thousands of short runs, each with its crashes (torn journal tails), snapshots and restarts.
@Test(arguments: SimulationSeeds.batches)
func thousandsOfShortRunsSurviveCrashesAndReplay(_ batch: Int) {
    var total: [String: Int] = [:]
    let seeds = SimulationSeeds.shortSeeds(batch: batch)
    for seed in seeds {
        var simulation = Simulation(seed: seed)
        defer { simulation.disk.removeScratch() }
        do {
            try simulation.run(steps: SimulationSeeds.shortSteps)
            try simulation.checkRecoveryAndReplay()
        } catch {
            Issue.record("seed \(seed): \(error); \(SimulationSeeds.reproduce(seed, "thousandsOfShortRuns"))")
        }
        SimulationSeeds.report(seed, simulation)
        total.merge(simulation.tally, uniquingKeysWith: +)
    }
    guard seeds.count >= 50 else { return }
    for kind in Simulation.diskKinds {
        #expect(total[kind, default: 0] > 0, "batch \(batch): no \(kind) in \(seeds.count) runs: \(total)")
    }
}

@Test func acrossAllRunsEveryOutcomeAndErrorCodeOfTheCoreHappens() {
    var total: [String: Int] = [:]
    for seed in UInt64(1)...40 {
        var simulation = Simulation(seed: seed)
        defer { simulation.disk.removeScratch() }
        do {
            try simulation.run(steps: 400)
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
        total.merge(simulation.tally, uniquingKeysWith: +)
    }
    let serverOnly: Set<ErrorCode> = [.unknownVerb, .lineTooLong, .notAuthenticated, .authFailed, .busy, .internal]
    let codes = ErrorCode.allCases.filter { !serverOnly.contains($0) }
    for kind in Simulation.kindsEveryRunMustSee + Simulation.rarerKinds + Simulation.diskKinds + codes.map(\.rawValue) {
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
    /// Refused, with the attempt journaled (a declined card).
    case refuseRecorded(ErrorCode, [Event])
    case replay(Reply)
    /// Applied: the events, the reply, and what a REVERSE of it would undo.
    case apply([Event], Reply, RecordedAction)
}

/// A remembered ref as the model sees it.
struct RememberedRef {
    let at: Instant
    let fingerprint: Digest32
    let reply: Reply
    var action: RecordedAction
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

/// The simulated world: the ledgers under test (live first, then one restored from the live state
/// every `restoreEvery` steps; at the end also one replayed from the first entry), a replica fed
/// every entry, an independent model of refs, money and every credit, and a random source.
struct Simulation {
    /// AUD and JPY convert both ways; KWD converts to nothing (NO_RATE). Short TTLs, ref window and
    /// PIN lockout so that expiry, pruning and unlocking happen within a run.
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
    /// How often the restored ledger is made again from the live state.
    static let restoreEvery = 50
    /// How often the ledger's own full audit runs (it walks every credit and hold; what a step
    /// changed is checked after every step, and a full comparison every `restoreEvery` steps
    /// shows nothing else changed).
    static let auditEvery = 10
    /// Disk events: each batch of short runs must show every one.
    static let diskKinds = ["crash", "torn-tail", "crash-cut-between-records", "snapshot", "snapshot-segments-kept", "restart", "retry-after-crash"]
    /// Outcomes every long run shows (a run that has not shown them all after 450 steps goes on).
    static let kindsEveryRunMustSee = [
        "issue", "issue-bonus", "hold", "hold-partial", "hold-profile", "hold-multi-leg", "fx-leg", "capture-all", "void",
        "expired", "quote", "freeze", "cancel", "issue-purchaser", "stock", "tombstone", "card-declined", "unlock",
    ]
    /// Outcomes some runs show: each must happen within the first 40 runs.
    static let rarerKinds = [
        "capture-part", "capture-fx-part", "capture-unreached-leg", "replayed", "expired", "quote-then-hold", "refund",
        "unfreeze", "breakage", "issue-unknown", "issue-smart", "activate", "load", "replace", "transfer", "split",
        "transfer-from", "claim", "revert", "lock", "pin-reset", "unlock-lifted", "card-declined-unknown", "decoy-lock",
        "card-locked-unknown", "reverse-voided", "hold-forgotten",
        "reverse-refunded", "reverse-cancelled", "reverse-taken_back", "reverse-none", "refund-store-credit",
    ]

    let seed: UInt64
    let policy: LedgerPolicy
    var rng: SplitMix64
    var ledgers: [Ledger]
    /// Fed every entry the live ledger makes, by `apply` alone.
    var replica: Ledger
    var now: Instant
    var step = 0
    /// The state every run starts from: one inactive stock card (as a snapshot holds it) on `cust-0`.
    let initial: LedgerState
    var entries: [Entry] = []
    var sent: [Request] = []
    var refCounter = 0
    var cardCounter: UInt64 = 0
    var claimCounter: UInt64 = 0
    /// Claim codes issued so far, pending or not.
    var claimCodes: [Digest32] = []
    /// Card numbers that stopped working (replaced or reverted).
    var retiredCards: [Digest32] = []
    /// Refs named by a REVERSE before any request used them: their late originals are sent later.
    var lateRefs: [(client: ClientID, ref: Ref)] = []
    // The model: refs remembered, the last applied instant, money in and out per currency, every
    // credit's shadow, resolved holds.
    var remembered: [ModelKey: RememberedRef] = [:]
    var lastAt = Instant(millis: 0)
    var money = MoneyFlows()
    var shadow: [CreditID: ShadowCredit] = [:]
    /// Wrong-PIN counts and locks of card numbers that name no card, by card digest.
    var decoys: [Digest32: ModelDecoy] = [:]
    var resolved: [HoldID: (state: HoldState, captured: [MinorUnits])] = [:]
    var pendingHolds: Set<HoldID> = []
    /// Each hold's deadline until the hold is forgotten, and the number below which every hold
    /// is forgotten: ended holds go a ref window after their deadline, oldest number first.
    var holdDeadlines: [HoldID: Instant] = [:]
    var holdsKeptFrom: UInt64 = 1
    /// What this step's entries changed, for `checkInvariants`.
    var touchedCredits: Set<CreditID> = []
    var touchedHolds: Set<HoldID> = []
    /// How often each kind of outcome happened, to show the run exercised them.
    var tally: [String: Int] = [:]
    /// The journal and snapshot the server would have written, torn by crashes.
    var disk: SimulatedDisk
    /// Decides crashes, tears, snapshots and restarts: a stream of its own, so that they do not
    /// shift the requests the main one draws.
    var diskRNG: SplitMix64
    /// A crash to come: after `stepsLeft` more steps, tearing the bytes written since `tailStart`
    /// of the last segment (the group commit in flight, never acknowledged); the requests sent
    /// from `sentBefore` on got no reply.
    var crashWindow: (stepsLeft: Int, tailStart: Int, sentBefore: Int)?
    /// While a crash window is open: the whole simulation as it was after each record (by LSN),
    /// to check the recovered ledger against and to resume from.
    var checkpoints: [UInt64: Simulation] = [:]
    /// The next `checkInvariants` runs the full audit (after a crash or restart).
    var auditDue = false

    init(seed: UInt64) {
        self.seed = seed
        policy = LedgerPolicy(
            currencies: Simulation.currencies, holdTTLDefault: Seconds(60), holdTTLMax: Seconds(300),
            refWindow: Seconds(600), holdsPerCreditMax: 3, rates: Simulation.rates,
            tenderOrder: Simulation.tenderOrders[Int(seed % 4)],
            refundOntoClosed: seed / 4 % 2 == 0 ? .refuse : .storeCredit, pinAttemptsMax: 3, pinLockout: Seconds(120))
        rng = SplitMix64(seed: seed)
        var initial = LedgerState()
        let stock = stockCard(CreditID(1), 0, card: Fixture.card(1), profile: ProfileID("cust-0"))
        initial.credits[stock.id] = stock
        initial.lastCreditNumber = 1
        self.initial = initial
        disk = SimulatedDisk(initial: initial)
        diskRNG = SplitMix64(seed: seed ^ 0xD15C_D15C_D15C_D15C)
        shadow[stock.id] = ShadowCredit(stock)
        touchedCredits = [stock.id]
        cardCounter = 1
        ledgers = [Ledger(policy: policy, state: initial)]
        replica = Ledger(policy: policy, state: initial)
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
                if step % Simulation.restoreEvery == 0 {
                    try restoreFromLiveState()
                    // Now and then every credit and hold is checked in full, not only what the step changed.
                    touchedCredits.formUnion(live.state.credits.keys)
                    touchedHolds.formUnion(live.state.holds.keys)
                }
                try diskEvent()
                try randomStep()
                let changed = (touchedCredits, touchedHolds)
                try checkInvariants(full: step % Simulation.auditEvery == 0)
                try checkLedgersAgree(changed: changed.0, changed.1)
                try crashIfDue()
            } catch let failure as SimulationFailure {
                throw SimulationFailure(description: "step \(step): \(failure)")
            }
        }
    }

    /// Replaces the restored ledger by a new one made from the live state.
    mutating func restoreFromLiveState() throws {
        let restored = Ledger(policy: policy, state: live.canonicalState)
        try ensure(restored.canonicalState == live.canonicalState && restored.refCount == live.refCount
                   && restored.pendingHoldCount == live.pendingHoldCount, "restoring changed the state")
        if ledgers.count == 1 { ledgers.append(restored) } else { ledgers[ledgers.count - 1] = restored }
    }

    /// The replica (fed every entry) matches the live ledger after every step: in what the step
    /// changed, in its counters and refs, and every `restoreEvery` steps in full (so nothing else
    /// changed either); so do the others (sent every request, every outcome compared).
    func checkLedgersAgree(changed credits: Set<CreditID>, _ holds: Set<HoldID>) throws {
        let (mine, theirs) = (live.state, replica.state)
        try ensure(credits.allSatisfy { mine.credits[$0] == theirs.credits[$0] }
                   && holds.allSatisfy { mine.holds[$0] == theirs.holds[$0] }
                   && mine.lastCreditNumber == theirs.lastCreditNumber && mine.lastHoldNumber == theirs.lastHoldNumber
                   && mine.lastAt == theirs.lastAt && replica.refCount == live.refCount
                   // Refs dropped from the window linger in `state.refs` until compacted (a
                   // recovered ledger has none), so the newest is compared only if one is live.
                   && (live.refCount == 0 || mine.refs.last == theirs.refs.last)
                   && replica.pendingHoldCount == live.pendingHoldCount,
                   "the replica fed every entry has another state")
        guard (step + 1) % Simulation.restoreEvery == 0 else { return }
        let state = live.canonicalState
        try ensure(replica.canonicalState == state, "the replica fed every entry has another state")
        for index in ledgers.indices.dropFirst() {
            try ensure(ledgers[index].canonicalState == state, "ledger \(index) has another state than the live one")
        }
    }

    /// Replays every recorded entry into a fresh ledger, restores another from the live state, and
    /// drives all three with the same further requests: every outcome and the final states must match.
    mutating func checkReplayAndRestore(furtherSteps: Int) throws {
        let replayed = try checkRecoveryAndReplay()
        let restored = Ledger(policy: policy, state: live.canonicalState)
        try ensure(restored.canonicalState == live.canonicalState, "restoring changed the state")
        ledgers = [live, replayed, restored]
        try run(steps: furtherSteps)
        try ensure(ledgers[1].canonicalState == live.canonicalState, "replayed ledger diverged")
        try ensure(ledgers[2].canonicalState == live.canonicalState, "restored ledger diverged")
    }

    /// Ends the run's crash window (crashing), restarts from the disk, and replays every entry
    /// since the start into a fresh ledger: both must give the live state. Returns the replayed ledger.
    @discardableResult
    mutating func checkRecoveryAndReplay() throws -> Ledger {
        if crashWindow != nil { try crash() }
        try restartFromDisk()
        var replayed = Ledger(policy: policy, state: initial)
        for entry in entries { replayed.apply(entry) }
        try ensure(replayed.canonicalState == live.canonicalState, "replaying \(entries.count) entries gave another state")
        try ensure(replayed.refCount == live.refCount && replayed.pendingHoldCount == live.pendingHoldCount,
                   "replayed counters differ")
        return replayed
    }

    mutating func randomStep() throws {
        switch rng.below(100) {
        case 0..<9: try send(Request(client: randomClient(), ref: newRef(), command: randomIssue()))
        case 9..<17: try send(Request(client: randomClient(), ref: newRef(), command: .hold(randomSingleHold())))
        case 17..<23: try send(Request(client: randomClient(), ref: newRef(), command: .hold(randomProfileHold())))
        case 23..<27: try quoteThenHold()
        case 27..<37: try send(Request(client: randomClient(), ref: newRef(), command: randomCapture()))
        case 37..<41: try send(Request(client: randomClient(), ref: newRef(), command: .void(randomHoldID())))
        case 41..<44: try send(Request(client: randomClient(), ref: newRef(), command: randomRefund()))
        case 44..<50: try send(Request(client: randomClient(), ref: newRef(), command: randomStatusChange()))
        case 50..<55: try send(randomRetry())
        case 55..<59: try read()
        case 59..<61: try send(Request(client: randomClient(), ref: newRef(), command: randomStock()))
        case 61..<65: try send(Request(client: randomClient(), ref: newRef(), command: randomLoad()))
        case 65..<67: try send(Request(client: randomClient(), ref: newRef(), command: randomReplace()))
        case 67..<71: try send(Request(client: randomClient(), ref: newRef(), command: randomTransfer()))
        case 71..<74: try send(Request(client: randomClient(), ref: newRef(), command: randomClaim()))
        case 74..<79: try send(randomReverse())
        case 79..<80: try sendLateOriginal()
        case 80..<84: try probePIN()
        case 84..<86: try send(Request(client: randomClient(), ref: newRef(), command: randomUnlock()))
        default: try advanceClock()
        }
    }

    mutating func randomClient() -> ClientID { Simulation.clients[rng.below(Simulation.clients.count)] }

    mutating func newRef() -> Ref? {
        refCounter += 1
        return Ref("s\(seed)-\(refCounter)")
    }

    // MARK: Steps

    /// Sends a mutating request to every ledger: checks the outcome (and the whole reply, every event
    /// and the idempotency record) against the rules, then that all ledgers agree. Returns the
    /// outcome, or nil if the request was skipped.
    @discardableResult
    mutating func send(_ request: Request) throws -> Execution? {
        let expected = try predict(request)
        if let reason = skipReason(expected) {
            tally[reason, default: 0] += 1
            return nil
        }
        sent.append(request)
        let context = RequestContext(now: now, client: request.client, ref: request.ref, fingerprint: request.argumentsDigest)
        let before = live.state
        let outcome = try executeEverywhere(request.command, context)
        tallyOutcome(request.command, outcome, before: before)
        switch (expected, outcome) {
        case (.refuse(let code), .refused(let error)):
            try ensure(error.code == code, "expected \(code), got \(error) for \(request.command)")
            try ensure(live.state == before, "a refusal changed the state")
        case (.refuseRecorded(let code, let events), .refusedRecorded(let error, let entry)):
            try ensure(error.code == code, "expected \(code), got \(error) for \(request.command)")
            try ensure(entry.events == events && entry.idempotency == nil && entry.at == now,
                       "recorded \(entry), expected \(events) for \(request.command)")
            try record(entry, before: before)
        case (.replay(let reply), .replayed(let actual)):
            try ensure(actual == reply, "replayed \(actual), expected \(reply)")
            try ensure(live.state == before, "a replay changed the state")
        case (.apply(let events, let reply, let action), .applied(let entry, let actual)):
            try ensure(entry.events == events, "applied \(entry.events), expected \(events)")
            try ensure(actual == reply, "replied \(actual), expected \(reply)")
            try ensure(entry.at == now, "entry at \(entry.at), now is \(now)")
            try ensure(entry.idempotency == IdempotencyRecord(client: request.client, ref: request.ref!,
                                                              fingerprint: request.argumentsDigest, reply: actual,
                                                              action: action),
                       "idempotency record \(String(describing: entry.idempotency)), expected action \(action)")
            try record(entry, before: before)
        default:
            throw SimulationFailure(description: "expected \(expected), got \(outcome) for \(request.command)")
        }
        return outcome
    }

    /// Executes on every ledger; all must come to the same outcome.
    mutating func executeEverywhere(_ command: Command, _ context: RequestContext) throws -> Execution {
        let outcome = ledgers[0].execute(command, context: context)
        for index in ledgers.indices.dropFirst() {
            let other = ledgers[index].execute(command, context: context)
            try ensure(sameOutcome(outcome, other), "ledger \(index) answered \(other) where the live one answered \(outcome)")
        }
        return outcome
    }

    /// QUOTE, then at once a HOLD with the same arguments: the hold must plan exactly what the quote showed.
    mutating func quoteThenHold() throws {
        let command = rng.chance(60) ? randomProfileHold() : randomSingleHold()
        let quoted = try checkQuote(command)
        guard let held = try send(Request(client: randomClient(), ref: newRef(), command: .hold(command))) else { return }
        let ttlTooLong = (command.ttl ?? policy.holdTTLDefault) > policy.holdTTLMax
        switch (quoted, held) {
        case (.read(let quote, _), .applied(_, let hold)):
            // The plain single-credit reply leaves out remaining= and the leg lines.
            let shared = ["amount", "requested", "currency"]
            let plain = hold.items.isEmpty && quote.items.count == 1 && hold.value("remaining") == nil
            try ensure((plain || quote.items == hold.items) && shared.allSatisfy { quote.value($0) == hold.value($0) },
                       "quote \(quote) but hold \(hold)")
            tally["quote-then-hold", default: 0] += 1
        case (.read, .refused(let error)):
            try ensure(error.code == .badRequest && ttlTooLong, "quoted, but the hold was refused with \(error)")
        case (.refused(let quoteError), .refused(let holdError)):
            try ensure(quoteError == holdError || (holdError.code == .badRequest && ttlTooLong),
                       "quote refused with \(quoteError), hold with \(holdError)")
        case (.refusedRecorded(let quoteError, _), .refusedRecorded(let holdError, _)):
            try ensure(quoteError == holdError, "quote declined with \(quoteError), hold with \(holdError)")
        case (.refusedRecorded, .refused(let holdError)):
            try ensure(holdError.code == .cardLocked, "quote declined, then hold refused with \(holdError)")  // the quote locked it
        default:
            throw SimulationFailure(description: "quote \(quoted), then hold \(held)")
        }
    }

    /// A read on every ledger, checked against the model's card gate: a declined card's attempt is
    /// journaled, a right PIN after wrong ones journals their reset, anything else changes nothing.
    /// Returns the outcome for the caller to check the reply.
    mutating func readChecked(_ command: Command) throws -> Execution {
        let gated = cardSelector(command).map { gate($0) }
        let context = RequestContext(now: now, client: randomClient(), ref: nil, fingerprint: fingerprint(of: command))
        let before = live.state
        let outcome = try executeEverywhere(command, context)
        tallyOutcome(command, outcome, before: before)
        var expectedEvents: [Event] = []
        switch gated {
        case .refuse(let code, let events)?:
            if events.isEmpty {
                try ensure(outcome.code == code && live.state == before, "read \(command) gave \(outcome), expected \(code)")
                return outcome
            }
            guard case .refusedRecorded(let error, let entry) = outcome, error.code == code, entry.events == events,
                  entry.idempotency == nil, entry.at == now
            else { throw SimulationFailure(description: "read \(command) gave \(outcome), expected \(code) recording \(events)") }
            try record(entry, before: before)
            return outcome
        case .pass(let events)?:
            expectedEvents = events
        case nil:
            break
        }
        switch outcome {
        case .read(_, let entry?) where !expectedEvents.isEmpty:
            try ensure(entry.events == expectedEvents && entry.idempotency == nil && entry.at == now,
                       "read journaled \(entry), expected \(expectedEvents)")
            try record(entry, before: before)
        case .read(_, nil) where expectedEvents.isEmpty, .refused:
            try ensure(live.state == before, "a read changed the state")
        default:
            throw SimulationFailure(description: "read \(command) gave \(outcome), the gate expected \(expectedEvents)")
        }
        return outcome
    }

    /// QUOTE of `command` checked in full: the gate, then the plan.
    @discardableResult
    mutating func checkQuote(_ command: HoldCommand) throws -> Execution {
        let plan = predictPlan(command)
        let gated = cardSelector(.quote(command)).map { gate($0) }
        let quoted = try readChecked(.quote(command))
        if case .refuse? = gated { return quoted }
        switch plan {
        case .refuse(let code):
            try ensure(quoted.code == code, "quote expected \(code), got \(quoted)")
        case .plan(let plan):
            try ensure(quoted.readReply == quoteReply(plan), "quote \(quoted), expected \(quoteReply(plan))")
            tally["quote", default: 0] += 1
        }
        return quoted
    }

    /// BALANCE (by id, card or profile), HISTORY, CREDITS or RATES: a read that matches the model.
    mutating func read() throws {
        let id = randomCreditID()
        switch rng.below(5) {
        case 0: try checkBalance(id)
        case 1: try checkHistory(id, limit: rng.below(8))
        case 2: try checkCredits(ProfileID(Simulation.profiles[rng.below(Simulation.profiles.count)])!)
        case 3:
            let reply = try readChecked(.rates).readReply
            try ensure(reply == ratesReply(), "rates \(String(describing: reply))")
        default:
            let outcome = try readChecked(.balance(.profile(ProfileID("cust-0")!)))
            try ensure(outcome.code == .badRequest, "BALANCE profile= gave \(outcome)")
        }
    }

    /// BALANCE by id, or half the time by card with its right PIN (now and then a wrong one).
    mutating func checkBalance(_ id: CreditID) throws {
        var selector = CreditSelector.credit(id)
        if let card = live.state.credits[id]?.card, rng.chance(50) {
            selector = .card(cardDigest: card.cardDigest, pinDigest: rng.chance(10) ? Fixture.wrongPIN : card.pinDigest)
        }
        try checkBalance(selector)
    }

    mutating func checkBalance(_ selector: CreditSelector) throws {
        var credit: Credit?
        switch selector {
        case .credit(let id): credit = live.state.credits[id]
        case .card(let cardDigest, _): credit = creditWithCard(cardDigest)
        case .profile: break
        }
        let gated = cardSelector(.balance(selector)).map { gate($0) }
        let outcome = try readChecked(.balance(selector))
        if case .refuse? = gated { return }
        guard let credit = credit.flatMap({ live.state.credits[$0.id] }) else {
            try ensure(outcome.code == .notFound, "balance of a missing credit gave \(outcome)")
            return
        }
        try ensure(outcome.readReply == Reply(fields: balanceFields(credit)), "balance \(outcome), model \(balanceFields(credit))")
    }

    mutating func checkHistory(_ id: CreditID, limit: Int) throws {
        let outcome = try readChecked(.history(id, limit: limit))
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
        let reply = try readChecked(.credits(profile)).readReply
        try ensure(reply == creditsReply(profile), "credits \(String(describing: reply)), model \(creditsReply(profile))")
    }

    /// Moves the clock forward: by up to 40 s; or now and then to within 30 s of the next midnight
    /// (if a credit expires today), just past the next smart card's revert deadline, or just past
    /// the next PIN lock's end. Usually sweeps, as the server does, until nothing is due.
    mutating func advanceClock() throws {
        let revertDue = live.state.credits.values.compactMap(\.revertAt).filter { $0 > now }.min()
        let lockEnd = (live.state.credits.values.compactMap(\.lockedUntil) + decoys.values.compactMap(\.lockedUntil))
            .filter { $0 > now }.min()
        let today = self.today
        switch rng.below(100) {
        case 0..<5 where live.state.credits.values.contains(where: { $0.expires == today && $0.status == .active }):
            let midnight = (now.millis / 86_400_000 + 1) * 86_400_000
            now = Instant(millis: max(now.millis, midnight + rng.inRange(-30_000...30_000)))
        case 5..<20 where revertDue != nil:
            now = Instant(millis: revertDue!.millis + rng.inRange(0...3000))
            tally["jump-to-revert", default: 0] += 1
        case 20..<28 where lockEnd != nil:
            now = Instant(millis: lockEnd!.millis + rng.inRange(0...3000))
        default:
            now = Instant(millis: now.millis + rng.inRange(0...40_000))
        }
        guard rng.chance(70) else { return }
        try sweepUntilNothingIsDue()
    }

    /// Sweeps every ledger alike, as the model says, until a sweep finds nothing due.
    mutating func sweepUntilNothingIsDue() throws {
        for _ in 0..<4 {
            let expected = try predictSweep()
            let before = live.state
            let entry = ledgers[0].sweep(now: now)
            for index in ledgers.indices.dropFirst() {
                try ensure(ledgers[index].sweep(now: now) == entry, "ledger \(index) swept differently")
            }
            popDueReverts()
            guard let entry else {
                try ensure(expected.isEmpty, "sweep at \(now.rfc3339) left due \(expected)")
                return
            }
            try ensure(entry.at == now && entry.idempotency == nil, "sweep entry \(entry)")
            try ensure(entry.events == expected, "swept \(entry.events), expected \(expected)")
            for event in entry.events {
                switch event {
                case .expired: tally["expired", default: 0] += 1
                case .reverted: tally["revert", default: 0] += 1
                default: tally["breakage", default: 0] += 1
                }
            }
            try record(entry, before: before)
        }
        throw SimulationFailure(description: "four sweeps in a row found something due")
    }

    /// Which kind of outcome a request had, for the tally.
    mutating func tallyOutcome(_ command: Command, _ outcome: Execution, before: LedgerState) {
        var kinds: [String] = []
        switch (outcome, command) {
        case (.refused(let error), _):
            kinds = [error.code.rawValue]
            if error.code == .cardLocked, let card = cardSelector(command), before.decoys[card.cardDigest] != nil {
                kinds.append("card-locked-unknown")
            }
        case (.refusedRecorded(let error, let entry), _):
            let unknown = if case .unknownCardDeclined? = entry.events.first { true } else { false }
            kinds = [error.code.rawValue, unknown ? "card-declined-unknown" : "card-declined"]
        case (.replayed, _): kinds = ["replayed"]
        case (.read(_, let entry), _): kinds = entry == nil ? ["read"] : ["read", "pin-reset"]
        case (.applied(let entry, let reply), _):
            kinds = appliedKinds(command, entry, reply, before: before)
            if case .hold = command, case .pinReset? = entry.events.first { kinds.append("pin-reset") }
        }
        for kind in kinds { tally[kind, default: 0] += 1 }
    }

    func appliedKinds(_ command: Command, _ entry: Entry, _ reply: Reply, before: LedgerState) -> [String] {
        switch command {
        case .issue(let issue):
            var kinds = ["issue"]
            if issue.bonus != nil { kinds.append("issue-bonus") }
            if issue.purchaser != nil { kinds.append("issue-purchaser") }
            if issue.recipient == .unknown { kinds.append("issue-unknown") }
            if issue.revertAfter != nil { kinds.append("issue-smart") }
            return kinds
        case .hold(let hold):
            var kinds = [hold.partial ? "hold-partial" : "hold"]
            if case .profile = hold.selector { kinds.append("hold-profile") }
            if case .held(let placed)? = entry.events.last {
                if placed.legs.count > 1 { kinds.append("hold-multi-leg") }
                if placed.legs.contains(where: { $0.rate != nil }) { kinds.append("fx-leg") }
            }
            return kinds
        case .capture(let id, let amount):
            var kinds = [amount == nil ? "capture-all" : "capture-part"]
            if case .captured(_, let legs) = entry.events.first, let hold = before.holds[id] {
                if amount != nil, zip(hold.legs, legs).contains(where: { $0.rate != nil && $1.amount > .zero && $1.amount < $0.amount }) {
                    kinds.append("capture-fx-part")
                }
                if legs.contains(where: { $0.amount == .zero }) { kinds.append("capture-unreached-leg") }
            }
            return kinds
        case .void: return ["void"]
        case .refund: return reply.value("instead_of") == nil ? ["refund"] : ["refund-store-credit"]
        case .changeStatus(_, let change, _): return [change.rawValue]
        case .stock: return ["stock"]
        case .activate: return ["activate"]
        case .load: return ["load"]
        case .replace: return ["replace"]
        case .transfer(_, _, let amount, let from): return [amount == nil ? "transfer" : "split"] + (from == nil ? [] : ["transfer-from"])
        case .claim: return ["claim"]
        case .reverse:
            return reply.value("tombstone") == "yes" ? ["tombstone"] : ["reverse-" + (reply.value("effect") ?? "?")]
        case .unlock:
            let locked = entry.events.contains { event in
                guard case .pinReset(let id) = event, let until = before.credits[id]?.lockedUntil else { return false }
                return now < until
            }
            return locked ? ["unlock", "unlock-lifted"] : ["unlock"]
        case .balance, .quote, .history, .credits, .rates, .report: return ["other"]
        }
    }
}
